/**
 * The proof that the Grafana dashboards and the alert rules work, without Grafana: the native stack (PM2 cluster
 * with two API instances, the three workers, the status service, the sandbox) and a real Prometheus scraping it with
 * prometheus/prometheus.dev.yml. After a mix of every kind of traffic, every panel query and every alert
 * expression is sent to Prometheus' query API, as Grafana and the rule manager would send them.
 *
 * Prometheus listens on 19090, so it never collides with `make dev`'s 9090. The dev config scrapes Prometheus
 * itself at 127.0.0.1:9090, so the test runs a copy of it that differs only in that self-scrape target and in
 * the rule_files path (made absolute, since the copy lives in a temporary directory); every other job is the
 * committed one, and the copy refuses to be made if the committed self-scrape target ever changes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { purgeAllQueues, ROOT } from '../support/broker';
import { startPm2, startProcess, stopAll, type RunningProcess } from '../support/processes';
import { APP, authHeader, postJson, READY_URLS, STATUS_SERVICE_READY_URL, waitReady } from '../support/stack';
import { sleep, waitFor } from '../support/wait';
import { alertExpressions, dashboardQueries, type DashboardQuery } from './queries';

const PROMETHEUS_PORT = 19090;
const PROMETHEUS = `http://127.0.0.1:${PROMETHEUS_PORT}`;
const TRAFFIC_MS = 16_000;

/** The jobs of prometheus.dev.yml (docs/observability.md#prometheus-jobs). */
const JOBS = ['app', 'email-worker', 'notif-worker', 'prometheus', 'rabbitmq', 'rabbitmq-detailed', 'sms-worker', 'status-service', 'status-webhooks'];

/** k6's metrics exist only while k6 pushes them, so the load test dashboard is only checked for evaluating. */
const LOADTEST = 'relay-stack / Load test';

/**
 * Traffic panel queries that are empty on a healthy stack, whatever traffic it gets: `panel` names the panel,
 * `expr` picks its queries. Keep this list short, with the reason.
 */
const EXPECTED_EMPTY: Array<{ dashboard: string; panel: string; expr: RegExp; reason: string }> = [
  {
    dashboard: 'relay-stack / Overview',
    panel: '503s and publish failures / s',
    expr: /status="503"|outcome!="confirmed"/,
    reason: 'needs a broker outage, an alarm or a full publisher buffer: until then no request is answered 503 and no publish fails, so neither series exists',
  },
];

const isExpectedEmpty = (query: DashboardQuery) =>
  EXPECTED_EMPTY.some((rule) => rule.dashboard === query.dashboard && rule.panel === query.panel && rule.expr.test(query.expr));

// ---------------------------------------------------------------------------------------------------------------
// Prometheus HTTP API

interface QueryAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: 'vector' | 'matrix' | 'scalar' | 'string'; result: any };
}

async function prometheusGet<T>(path: string): Promise<T> {
  const response = await fetch(`${PROMETHEUS}${path}`, { signal: AbortSignal.timeout(10_000) });
  return (await response.json()) as T;
}

/** An instant query at "now", as a Grafana stat panel or the rule manager sends it. */
function instantQuery(expr: string): Promise<QueryAnswer> {
  return prometheusGet<QueryAnswer>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
}

/** True when the answer has at least one sample that is a number (NaN draws nothing in Grafana). */
function hasData(answer: QueryAnswer): boolean {
  const data = answer.data;
  if (!data) return false;
  if (data.resultType === 'scalar') return !Number.isNaN(Number(data.result[1]));
  if (data.resultType === 'vector') return data.result.some((sample: { value: [number, string] }) => !Number.isNaN(Number(sample.value[1])));
  return data.result.length > 0;
}

interface Target {
  labels: { job: string; instance: string };
  health: 'up' | 'down' | 'unknown';
  lastScrape: string;
  lastError: string;
}

const activeTargets = async () => (await prometheusGet<{ data: { activeTargets: Target[] } }>('/api/v1/targets')).data.activeTargets;

// ---------------------------------------------------------------------------------------------------------------
// Metric names in a PromQL expression

/** PromQL keywords that look like identifiers without being followed by `(`. */
const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names an expression selects, by a small tokenizer rather than Prometheus' parser (which has no HTTP
 * API in 2.42): string literals, label matchers `{...}`, range windows `[...]` and the label lists of
 * `by`/`without`/`on`/`ignoring`/`group_left`/`group_right` are removed; of the identifiers left, those followed
 * by `(` are functions or aggregations, and the keywords above are operators. Everything else is a metric name.
 * Selectors by `{__name__=...}` alone are not seen (no dashboard uses them).
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice((match.index ?? 0) + match[0].length);
    if (/^\s*\(/.test(after) || PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

// ---------------------------------------------------------------------------------------------------------------
// Stack, Prometheus and traffic

/** prometheus.dev.yml with Prometheus scraping itself on PROMETHEUS_PORT instead of 9090 (see the top comment). */
function devConfigOnTestPort(dir: string): string {
  const config = parse(readFileSync(join(ROOT, 'prometheus/prometheus.dev.yml'), 'utf8'));
  const self = config.scrape_configs.find((job: { job_name: string }) => job.job_name === 'prometheus');
  const targets = self?.static_configs?.flatMap((group: { targets: string[] }) => group.targets);
  if (JSON.stringify(targets) !== JSON.stringify(['127.0.0.1:9090'])) {
    throw new Error(`prometheus.dev.yml self-scrape targets changed (${JSON.stringify(targets)}): update this test`);
  }
  self.static_configs = [{ targets: [`127.0.0.1:${PROMETHEUS_PORT}`] }];
  config.rule_files = config.rule_files.map((file: string) => resolve(ROOT, 'prometheus', file));
  const file = join(dir, 'prometheus.dev.yml');
  writeFileSync(file, stringify(config));
  return file;
}

const sent = new Map<number, number>();
const count = (status: number) => sent.set(status, (sent.get(status) ?? 0) + 1);

/** One round of every kind of request the dashboards should show. */
async function trafficRound(round: number): Promise<void> {
  const requests: Array<Promise<number>> = [
    // delivered
    postJson('/v1/sms', { to: '+14155550100', body: `ok ${round}` }).then((r) => r.status),
    postJson('/v1/email', { to: 'ada@example.com', subject: 'ok', text: String(round) }).then((r) => r.status),
    postJson('/v1/notifications', { recipient: 'user-42', title: 'ok', body: String(round) }).then((r) => r.status),
    // flaky: fail once (transient), retried through relay.retry.1s, then delivered
    postJson('/v1/sms', { to: '+15005550003', body: `flaky ${round}` }).then((r) => r.status),
    postJson('/v1/email', { to: 'flaky@sandbox.test', subject: 'flaky', text: String(round) }).then((r) => r.status),
    postJson('/v1/notifications', { recipient: 'flaky', title: 'flaky', body: String(round) }).then((r) => r.status),
    // permanent: dead-lettered at the first attempt
    postJson('/v1/sms', { to: '+15005550001', body: `dead ${round}` }).then((r) => r.status),
    postJson('/v1/email', { to: 'fail-permanent@sandbox.test', subject: 'dead', text: String(round) }).then((r) => r.status),
    postJson('/v1/notifications', { recipient: 'fail-permanent', title: 'dead', body: String(round) }).then((r) => r.status),
    // refused by the API
    postJson('/v1/sms', { to: '+14155550100' }).then((r) => r.status),
    postJson('/v1/email', { to: 'not-an-address', subject: 's', text: 't' }).then((r) => r.status),
    fetch(`${APP}/v1/sms`, { method: 'POST', headers: { 'content-type': 'text/plain', ...authHeader() }, body: 'to=+14155550100' }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    }),
  ];
  if (round % 4 === 0) requests.push(postJson('/v1/email', { to: 'a@example.com', subject: 's', text: 'x'.repeat(2_000_000) }).then((r) => r.status));
  for (const status of await Promise.all(requests)) count(status);
}

let tmp: string;
let prometheus: RunningProcess;
let trafficEnded: number;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relay-live-dashboards-'));
  // The shared broker may be in the middle of a restart by another suite's cleanup: give it a moment.
  await waitFor('the broker on 127.0.0.1:5673', async () => (await purgeAllQueues(), true), 30_000, 1000);
  startPm2(['sandbox', 'app', 'sms-worker', 'email-worker', 'notif-worker', 'status-service', 'status-webhooks'], { API_INSTANCES: '2', RETRY_DELAYS: '1s,1s' });
  await waitReady([...Object.values(READY_URLS), STATUS_SERVICE_READY_URL]);

  prometheus = startProcess('prometheus', [
    `--config.file=${devConfigOnTestPort(tmp)}`,
    `--storage.tsdb.path=${join(tmp, 'data')}`,
    `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
    '--web.enable-remote-write-receiver',
    '--log.level=warn',
  ]);
  await waitReady([`${PROMETHEUS}/-/ready`], 30_000).catch((error) => {
    throw new Error(`${String(error)}\nprometheus output:\n${prometheus.output()}`);
  });

  const end = Date.now() + TRAFFIC_MS;
  for (let round = 0; Date.now() < end; round += 1) {
    await trafficRound(round);
    await sleep(200);
  }
  trafficEnded = Date.now();

  // One scrape of every target after the traffic (so retries and dead letters are in), then two more, so every
  // rate() window holds at least two samples of every series the traffic created.
  await waitFor('a scrape of every target after the traffic', async () => {
    const targets = await activeTargets();
    return targets.length === JOBS.length && targets.every((t) => t.health === 'up' && Date.parse(t.lastScrape) > trafficEnded) ? true : undefined;
  }, 20_000, 500);
  await sleep(12_000);
}, 115_000);

afterAll(async () => {
  await stopAll();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------

describe('the traffic', () => {
  test('included deliveries, retries, dead letters and 400, 413 and 415 refusals', () => {
    for (const status of [202, 400, 413, 415]) expect(sent.get(status) ?? 0).toBeGreaterThan(0);
    expect([...sent.keys()].sort()).toEqual([202, 400, 413, 415]);
  });
});

describe('Prometheus scraping the native stack with prometheus.dev.yml', () => {
  test('every job is scraped and up: the app cluster, the three workers, both broker endpoints and Prometheus itself', async () => {
    const targets = await activeTargets();
    expect(targets.map((t) => t.labels.job).sort()).toEqual(JOBS);
    expect(targets.filter((t) => t.health !== 'up').map((t) => `${t.labels.job}: ${t.lastError}`)).toEqual([]);
  });

  test('the app target returns the series of both PM2 instances in one scrape', async () => {
    const answer = await instantQuery('count by (app_instance) (http_requests_total{job="app"})');
    expect(answer.data?.result.map((s: { metric: { app_instance: string } }) => s.metric.app_instance).sort()).toEqual(['0', '1']);
  });
});

describe('the dashboards', () => {
  const queries = dashboardQueries();

  test('every panel query of every dashboard parses and evaluates', async () => {
    expect(queries.length).toBeGreaterThan(0);
    const failures: string[] = [];
    for (const query of queries) {
      const answer = await instantQuery(query.expr);
      if (answer.status !== 'success') failures.push(`${query.dashboard} / ${query.panel}: ${answer.error} in ${query.expr}`);
    }
    expect(failures).toEqual([]);
  });

  test('every traffic panel shows data after the traffic, except the few that need an outage', async () => {
    const empty: DashboardQuery[] = [];
    for (const query of queries.filter((q) => q.dashboard !== LOADTEST)) {
      if (!hasData(await instantQuery(query.expr))) empty.push(query);
    }
    console.log(
      `panel queries with no data (${empty.length}):\n` +
        (empty.map((q) => `  ${q.dashboard} / ${q.panel}: ${q.expr}${isExpectedEmpty(q) ? '  [expected]' : ''}`).join('\n') || '  none'),
    );
    expect(empty.filter((q) => !isExpectedEmpty(q)).map((q) => `${q.dashboard} / ${q.panel}: ${q.expr}`)).toEqual([]);
    // An exception that no longer applies is dropped from the list, not kept "just in case".
    for (const rule of EXPECTED_EMPTY) expect(empty.some((q) => q.panel === rule.panel && rule.expr.test(q.expr))).toBe(true);
  });

  // 204: the app's answers to the sandbox's Twilio status callbacks for the SMS delivered above.
  test('the API responses panel shows the 202s, 204s, 400s, 413s and 415s that were sent', async () => {
    const panel = queries.find((q) => q.panel === 'API responses / s by status');
    const answer = await instantQuery(panel!.expr);
    const statuses = answer.data?.result.map((s: { metric: { status: string } }) => s.metric.status).sort();
    expect(statuses).toEqual(['202', '204', '400', '413', '415']);
  });

  test('the overview shows delivered, retried and dead-lettered messages for every channel', async () => {
    for (const panel of ['Delivered / s', 'Retried / s', 'Dead-lettered / s']) {
      const query = queries.find((q) => q.dashboard === 'relay-stack / Overview' && q.panel === panel && q.expr.includes('by (type)'));
      const answer = await instantQuery(query!.expr);
      const types = answer.data?.result.filter((s: { value: [number, string] }) => Number(s.value[1]) > 0).map((s: { metric: { type: string } }) => s.metric.type).sort();
      expect({ panel, types }).toEqual({ panel, types: ['email', 'notif', 'sms'] });
    }
  });

  test('no panel or alert selects a metric name that Prometheus has never seen', async () => {
    const known = new Set((await prometheusGet<{ data: string[] }>('/api/v1/label/__name__/values')).data);
    const expressions = [
      ...queries.filter((q) => q.dashboard !== LOADTEST).map((q) => ({ where: `${q.dashboard} / ${q.panel}`, expr: q.expr })),
      ...alertExpressions().map((a) => ({ where: `alert ${a.alert}`, expr: a.expr })),
    ];
    const unknown: string[] = [];
    for (const { where, expr } of expressions) {
      const names = metricNames(expr);
      if (names.length === 0) unknown.push(`${where}: no metric name found in ${expr}`);
      for (const name of names) if (!known.has(name)) unknown.push(`${where}: ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  test('the metric name tokenizer skips functions, label lists, matchers, windows and keywords', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (type, le) (rate(message_end_to_end_seconds_bucket{job=~"a|b"}[1m]))) > 10')).toEqual([
      'message_end_to_end_seconds_bucket',
    ]);
    expect(metricNames('max by (job) (time() - process_start_time_seconds{job="app"}) and on (job) up offset 5m')).toEqual(['process_start_time_seconds', 'up']);
    expect(metricNames('sum(rate(a_total{x="rate(b_total)"}[5m])) / sum(rate(c_total[5m])) > 1e3')).toEqual(['a_total', 'c_total']);
  });
});

describe('the alert rules', () => {
  const alerts = alertExpressions();
  const firing = async (expr: string) => (await instantQuery(expr)).data?.result ?? [];

  test('every alert expression parses and evaluates', async () => {
    expect(alerts.length).toBeGreaterThan(0);
    const failures: string[] = [];
    for (const alert of alerts) {
      const answer = await instantQuery(alert.expr);
      if (answer.status !== 'success') failures.push(`${alert.alert}: ${answer.error}`);
    }
    expect(failures).toEqual([]);
  });

  test('on the healthy stack only the dead-letter alert condition holds, for the three dead-letter queues', async () => {
    const holding: string[] = [];
    for (const alert of alerts) if (alert.alert !== 'RelayDeadLettersIncreasing' && (await firing(alert.expr)).length > 0) holding.push(alert.alert);
    expect(holding).toEqual([]);

    const deadLetters = alerts.find((a) => a.alert === 'RelayDeadLettersIncreasing')!;
    const queues = (await firing(deadLetters.expr)).map((s: { metric: { queue: string } }) => s.metric.queue).sort();
    expect(queues).toEqual(['relay.email.dead', 'relay.notif.dead', 'relay.sms.dead']);
  });

  test('Prometheus loaded every alert rule of prometheus/rules', async () => {
    const rules = await prometheusGet<{ data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> } }>('/api/v1/rules?type=alert');
    const loaded = rules.data.groups.flatMap((group) => group.rules);
    expect(loaded.map((rule) => rule.name).sort()).toEqual(alerts.map((alert) => alert.alert).sort());
    expect(loaded.filter((rule) => rule.health === 'err').map((rule) => `${rule.name}: ${rule.lastError}`)).toEqual([]);
  });
});
