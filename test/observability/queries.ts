/**
 * Every PromQL expression the observability config relies on, ready to send to a live Prometheus:
 * - dashboardQueries(): each target `expr` of each panel in grafana/dashboards/*.json, with Grafana's variables
 *   ($__rate_interval, $__interval, $__range, dashboard variables such as $job or $testid) replaced by concrete
 *   values, so Prometheus can evaluate them as they are;
 * - alertExpressions(): each alerting rule's `expr` in prometheus/rules/*.yml.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..');
export const DASHBOARD_DIR = join(root, 'grafana', 'dashboards');
export const RULES_DIR = join(root, 'prometheus', 'rules');

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

export interface AlertExpression {
  alert: string;
  expr: string;
}

/**
 * Grafana's global variables, with values a range query over the last hour at the dev scrape interval would get
 * (`$__rate_interval` is at least four scrape intervals: 1m covers both the 5 s dev and 15 s compose configs).
 * https://grafana.com/docs/grafana/latest/dashboards/variables/add-template-variables/#global-variables
 */
export const GLOBAL_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '15s',
  __interval_ms: '15000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

interface Variable {
  name: string;
  includeAll?: boolean;
  allValue?: string;
  current?: { value?: string | string[] };
  options?: Array<{ value?: string }>;
}

interface Panel {
  type?: string;
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

interface Dashboard {
  title?: string;
  uid?: string;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}

/** The value each dashboard variable takes with its default selection ("All" = its allValue, else `.*`). */
export function variableValues(dashboard: Dashboard): Record<string, string> {
  const values: Record<string, string> = {};
  for (const variable of dashboard.templating?.list ?? []) {
    const current = variable.current?.value;
    const selected = Array.isArray(current) ? current : current === undefined ? [] : [current];
    if (variable.includeAll && (selected.length === 0 || selected.includes('$__all'))) {
      values[variable.name] = variable.allValue ?? '.*';
    } else if (selected.length > 0) {
      values[variable.name] = selected.length === 1 ? (selected[0] as string) : `(${selected.join('|')})`;
    } else {
      values[variable.name] = variable.options?.[0]?.value ?? '.*';
    }
  }
  return values;
}

/**
 * Replaces `$name`, `${name}`, `${name:format}` and `[[name]]` with `values[name]` (then the global variables).
 * Throws on a variable it does not know, so a new one cannot slip through unevaluated.
 */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>> = {}): string {
  const all: Record<string, string> = { ...GLOBAL_VARIABLES, ...values };
  const lookup = (name: string): string => {
    const value = all[name];
    if (value === undefined) throw new Error(`unknown Grafana variable $${name} in: ${expr}`);
    return value;
  };
  return expr
    .replace(/\$\{(\w+)(?::[\w]+)?\}/g, (_match, name: string) => lookup(name))
    .replace(/\[\[(\w+)\]\]/g, (_match, name: string) => lookup(name))
    .replace(/\$(\w+)/g, (_match, name: string) => lookup(name));
}

function panelsOf(panels: Panel[] = []): Panel[] {
  return panels.flatMap((panel) => [panel, ...panelsOf(panel.panels)]);
}

/** Every panel query of every committed dashboard, variables substituted. */
export function dashboardQueries(dir: string = DASHBOARD_DIR): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.json')).sort()) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard;
    const values = variableValues(dashboard);
    const name = dashboard.title ?? file;
    for (const panel of panelsOf(dashboard.panels)) {
      for (const target of panel.targets ?? []) {
        if (!target.expr) continue;
        queries.push({ dashboard: name, panel: panel.title ?? '', expr: substituteVariables(target.expr, values) });
      }
    }
  }
  return queries;
}

interface RuleFile {
  groups?: Array<{ rules?: Array<{ alert?: string; record?: string; expr?: string }> }>;
}

/** Every alerting rule of prometheus/rules/*.yml (recording rules are left out). */
export function alertExpressions(dir: string = RULES_DIR): AlertExpression[] {
  const alerts: AlertExpression[] = [];
  for (const file of readdirSync(dir).filter((name) => /\.ya?ml$/.test(name)).sort()) {
    const rules = parse(readFileSync(join(dir, file), 'utf8')) as RuleFile;
    for (const group of rules.groups ?? []) {
      for (const rule of group.rules ?? []) {
        if (rule.alert && rule.expr) alerts.push({ alert: rule.alert, expr: String(rule.expr).trim() });
      }
    }
  }
  return alerts;
}
