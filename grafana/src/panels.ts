/**
 * Small helpers over @grafana/grafana-foundation-sdk so every dashboard is built the same way: one Prometheus
 * datasource with a fixed uid (provisioned by grafana/provisioning/datasources/prometheus.yml), time series and
 * stat panels with the same legend/tooltip defaults, stable ids and refIds.
 * SDK reference: https://grafana.github.io/grafana-foundation-sdk/
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Every panel and query points here; no `${DS_...}` inputs, so provisioning needs no import step. */
export const DATASOURCE = { type: 'prometheus', uid: 'prometheus' } as const;

/** Tag shared by every relay-stack dashboard: the dashboard links menu lists them by it. */
export const TAG = 'relay-stack';

/** Grafana's rate window: at least 4 scrape intervals (the datasource's timeInterval), so rate() never sees one sample. */
export const RATE = '$__rate_interval';

/** Work queues, one per worker type (docs/architecture.md). PromQL regex inside a double-quoted string. */
export const WORK_QUEUES = 'relay\\\\.(sms|email|notif)';

/** The jobs of the Node processes (prom-client default metrics), as in prometheus/prometheus.yml. */
export const NODE_JOBS = ['app', 'sms-worker', 'email-worker', 'notif-worker'] as const;
export const WORKER_JOBS = ['sms-worker', 'email-worker', 'notif-worker'] as const;

export interface Query {
  expr: string;
  legend?: string;
  /** Instant query (stat panels showing "now"). */
  instant?: boolean;
}

interface PanelOptions {
  description?: string;
  unit?: string;
  /** Grid width out of 24; default 12. */
  width?: number;
  /** Grid height; default 8 (stats: 4). */
  height?: number;
  min?: number;
  max?: number;
  stacked?: boolean;
}

function target(query: Query, index: number): DataqueryBuilder {
  const builder = new DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(String.fromCharCode(65 + index))
    .expr(query.expr)
    .legendFormat(query.legend ?? '__auto');
  return query.instant ? builder.instant() : builder.range();
}

/** A time series panel with one query per line group. */
export function timeSeries(title: string, queries: Query[], options: PanelOptions = {}): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .span(options.width ?? 12)
    .height(options.height ?? 8)
    .unit(options.unit ?? 'short')
    .lineWidth(1)
    .fillOpacity(options.stacked ? 30 : 10)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['lastNotNull', 'max']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (options.description) panel.description(options.description);
  if (options.min !== undefined) panel.min(options.min);
  if (options.max !== undefined) panel.max(options.max);
  if (options.stacked) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  queries.forEach((query, index) => panel.withTarget(target(query, index)));
  return panel;
}

/**
 * A single-value panel. `thresholds` are [value, color] steps above the base color (green unless `baseColor`).
 */
export function singleStat(
  title: string,
  queries: Query[],
  options: PanelOptions & { thresholds?: [number, string][]; baseColor?: string } = {},
): stat.PanelBuilder {
  const steps: dashboard.Threshold[] = [{ value: null, color: options.baseColor ?? 'green' }];
  for (const [value, color] of options.thresholds ?? []) steps.push({ value, color });
  const panel = new stat.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .span(options.width ?? 6)
    .height(options.height ?? 4)
    .unit(options.unit ?? 'short')
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps));
  if (options.description) panel.description(options.description);
  queries.forEach((query, index) => panel.withTarget(target({ instant: true, ...query }, index)));
  return panel;
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}

/** A dashboard with the project's defaults: tag, refresh, last 30 minutes, shared crosshair, links to the others. */
export function relayDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([TAG])
    .readonly()
    .refresh('10s')
    .time({ from: 'now-30m', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .link(
      new dashboard.DashboardLinkBuilder('relay-stack')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([TAG])
        .asDropdown(true)
        .includeVars(false)
        .keepTime(true),
    );
}

/**
 * A multi-value variable over a fixed list of Prometheus jobs; "All" means every job of the list (not `.*`, so
 * other jobs sharing a metric name never leak in).
 */
export function jobVariable(jobs: readonly string[]): dashboard.CustomVariableBuilder {
  return new dashboard.CustomVariableBuilder('job')
    .label('job')
    .values(jobs.join(','))
    .multi(true)
    .includeAll(true)
    .allValue(jobs.join('|'))
    .current({ text: ['All'], value: ['$__all'] });
}

/**
 * The built dashboard as plain JSON data, finished for provisioning: panel ids numbered in order, annotation
 * and variable lists always present, in Grafana's shape.
 */
export function finish(builder: dashboard.DashboardBuilder): Record<string, unknown> {
  const built = JSON.parse(JSON.stringify(builder.build())) as Record<string, unknown> & {
    panels?: Array<Record<string, unknown> & { panels?: Array<Record<string, unknown>> }>;
    annotations?: { list?: unknown[] };
    templating?: { list?: unknown[] };
  };
  let id = 1;
  for (const panel of built.panels ?? []) {
    panel.id = id++;
    for (const nested of panel.panels ?? []) nested.id = id++;
  }
  built.annotations = { list: built.annotations?.list ?? [] };
  built.templating = { list: built.templating?.list ?? [] };
  return built;
}
