/**
 * The proof that the k6 scripts count right across restarts. The module k6 runs (loadtest/lib/accounting.js: the
 * queries and the arithmetic; only the HTTP GET differs) is run here in Node against a real Prometheus scraping
 * the native stack (app under pm2-runtime with two cluster instances, the three workers, the sandbox), for two
 * "runs" with restarts in between and during:
 *
 * 1. run 1: traffic, then its window is accounted.
 * 2. Prometheus and the stack are stopped and started again, as `make dev` does on Ctrl-C and restart (Prometheus
 *    keeps its data folder). After a restart Prometheus marks nothing stale, so run 1's series stay in its 5-minute
 *    lookback with their old values: the trap that gave `accepted -5185 = delivered -5300, resets=0`.
 * 3. run 2: traffic, then the sms-worker and one API instance are restarted (SIGTERM; PM2 starts them again),
 *    then more traffic, the restarted processes getting more than before so that no counter goes down.
 * Each run's accounted accepted / delivered / dead-lettered must equal what the test itself saw: 202s, messages at
 * the sandbox, messages sent to a permanent-failure recipient. The old formulation (`sum(x)` at the end minus at
 * the start, and resets() over the window) is evaluated on run 2 too, to show it would be wrong there.
 *
 * Prometheus listens on 19391 (not `make dev`'s 9090 nor live-dashboards' 19090) and scrapes every 2 s so the
 * waits stay short; the jobs are the app and worker jobs of prometheus/prometheus.dev.yml.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { accountingQueries, COUNTERS, tally, type PromSeries, type QueryResults, type Tally } from '../../loadtest/lib/accounting.js';
import { commandLine, processTree, signal } from '../../tools/lib/proc';
import { purgeAllQueues, ROOT } from '../support/broker';
import { startPm2, startProcess, startService, stopAll, type RunningProcess } from '../support/processes';
import { clearSandbox, PORTS, postJson, READY_URLS, SANDBOX, sandboxMessages, waitReady } from '../support/stack';
import { sleep, waitFor } from '../support/wait';

const PROMETHEUS_PORT = 19391;
const PROMETHEUS = `http://127.0.0.1:${PROMETHEUS_PORT}`;
const JOBS = ['app', 'sms-worker', 'email-worker', 'notif-worker'];
const STACK_READY = [READY_URLS.app, READY_URLS['sms-worker'], READY_URLS['email-worker'], READY_URLS['notif-worker']];
const WORKER_METRICS = [PORTS.sms, PORTS.email, PORTS.notif].map((port) => `http://127.0.0.1:${port}/metrics`);

// ---------------------------------------------------------------------------------------------------------------
// Prometheus

/** prometheus.dev.yml's app and worker jobs, scraped every 2 s; no rules (nothing here evaluates them). */
function testConfig(dir: string): string {
  const config = parse(readFileSync(join(ROOT, 'prometheus/prometheus.dev.yml'), 'utf8'));
  config.global = { ...config.global, scrape_interval: '2s', scrape_timeout: '2s', evaluation_interval: '2s' };
  delete config.rule_files;
  config.scrape_configs = config.scrape_configs.filter((job: { job_name: string }) => JOBS.includes(job.job_name));
  if (config.scrape_configs.length !== JOBS.length) throw new Error(`prometheus.dev.yml no longer has the jobs ${JOBS.join(', ')}`);
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, stringify(config));
  return file;
}

async function startPrometheus(config: string, data: string): Promise<RunningProcess> {
  const prometheus = startProcess('prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${data}`,
    `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
    '--log.level=warn',
  ]);
  await waitReady([`${PROMETHEUS}/-/ready`], 30_000).catch((error) => {
    throw new Error(`${String(error)}\nprometheus output:\n${prometheus.output()}`);
  });
  return prometheus;
}

/** `data.result` of an instant query at `atMs` (GET /api/v1/query, as lib/pipeline.js sends it from k6). */
async function query(expr: string, atMs: number): Promise<any> {
  const url = `${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(expr)}&time=${(atMs / 1000).toFixed(3)}`;
  const body = (await (await fetch(url, { signal: AbortSignal.timeout(15_000) })).json()) as { status: string; error?: string; data?: { result: unknown } };
  if (body.status !== 'success' || !body.data) throw new Error(`prometheus query failed: ${body.error}: ${expr}`);
  return body.data.result;
}

/** The scripts' accounting: accountingQueries() -> Prometheus -> tally(), exactly as lib/pipeline.js measure(). */
async function account(startMs: number, endMs: number): Promise<Tally> {
  const queries = accountingQueries(startMs, endMs);
  const results = {} as QueryResults;
  for (const [name, q] of Object.entries(queries)) results[name as keyof QueryResults] = (await query(q.expr, q.atMs)) as PromSeries[];
  return tally(results, startMs);
}

/** What the scripts did before: `sum(x)` at the end minus at the start, and resets() over the window. */
async function accountTheOldWay(startMs: number, endMs: number) {
  const sum = async (expr: string, atMs: number) => ((await query(`sum(${expr})`, atMs)) as Array<{ value: [number, string] }>).reduce((acc, s) => acc + Number(s.value[1]), 0);
  const delta = async (selector: string) => (await sum(selector, endMs)) - (await sum(selector, startMs));
  const w = `${Math.ceil((endMs - startMs) / 1000)}s`;
  return {
    accepted: await delta(COUNTERS.accepted),
    delivered: await delta(COUNTERS.delivered),
    deadLettered: await delta(COUNTERS.deadLettered),
    resets: (await sum(`resets(messages_published_total[${w}])`, endMs)) + (await sum(`resets(messages_processed_total[${w}])`, endMs)),
  };
}

/** Waits until every app and worker target has been scraped `times` times after `afterMs`. */
async function waitScraped(afterMs: number, times = 1): Promise<void> {
  const interval = 2000;
  await waitFor(`a scrape of every target after ${new Date(afterMs).toISOString()}`, async () => {
    const targets = ((await (await fetch(`${PROMETHEUS}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ labels: { job: string }; health: string; lastScrape: string }> } }).data.activeTargets;
    const ours = targets.filter((t) => JOBS.includes(t.labels.job));
    return ours.length === JOBS.length && ours.every((t) => t.health === 'up' && Date.parse(t.lastScrape) > afterMs + (times - 1) * interval) ? true : undefined;
  }, 20_000 + times * interval, 200);
}

// ---------------------------------------------------------------------------------------------------------------
// Stack and traffic

function startStack(): RunningProcess {
  return startPm2(['app', 'sms-worker', 'email-worker', 'notif-worker'], { API_INSTANCES: '2', RETRY_DELAYS: '1s,1s' });
}

interface Sent {
  accepted: number;
  delivered: number; // sent to ordinary recipients and answered 202
  deadLettered: number; // sent to permanent-failure recipients and answered 202
}

/** `perChannel` deliverable messages on each channel and `dead` to the sandbox's permanent-failure recipients. */
async function send(tag: string, perChannel: number, dead: number): Promise<Sent> {
  const requests: Array<{ path: string; body: object; dies: boolean }> = [];
  for (let i = 0; i < perChannel; i += 1) {
    requests.push({ path: '/v1/sms', body: { to: '+14155550100', body: `${tag} ${i}` }, dies: false });
    requests.push({ path: '/v1/email', body: { to: 'ada@example.com', subject: tag, text: String(i) }, dies: false });
    requests.push({ path: '/v1/notifications', body: { recipient: 'user-42', title: tag, body: String(i) }, dies: false });
  }
  for (let i = 0; i < dead; i += 1) requests.push({ path: '/v1/sms', body: { to: '+15005550001', body: `${tag} dead ${i}` }, dies: true });
  const sent: Sent = { accepted: 0, delivered: 0, deadLettered: 0 };
  for (let i = 0; i < requests.length; i += 20) {
    const batch = requests.slice(i, i + 20);
    const statuses = await Promise.all(batch.map((r) => postJson(r.path, r.body).then((response) => response.status)));
    statuses.forEach((status, j) => {
      if (status !== 202) return;
      sent.accepted += 1;
      if (batch[j]!.dies) sent.deadLettered += 1;
      else sent.delivered += 1;
    });
  }
  return sent;
}

const add = (a: Sent, b: Sent): Sent => ({ accepted: a.accepted + b.accepted, delivered: a.delivered + b.delivered, deadLettered: a.deadLettered + b.deadLettered });

/**
 * Waits until the sandbox has `delivered` messages and no worker holds one (a worker counts a delivery right
 * after the provider answered), then for a scrape of every target after that: Prometheus then has every count.
 */
async function settle(delivered: number): Promise<void> {
  await waitFor(`${delivered} messages at the sandbox`, async () => ((await sandboxMessages()).length >= delivered ? true : undefined), 30_000, 200);
  await waitFor('no message in flight in the workers', async () => {
    const texts = await Promise.all(WORKER_METRICS.map(async (url) => (await fetch(url)).text()));
    const inFlight = texts.flatMap((text) => [...text.matchAll(/^messages_in_flight\{[^}]*\} (\d+)/gm)].map((m) => Number(m[1])));
    return inFlight.every((n) => n === 0) ? true : undefined;
  }, 15_000, 100);
  await waitScraped(Date.now());
}

/** SIGTERM to the processes of `stack` running `service`'s main.js (`which` picks some); waits for PM2's new ones. */
async function restartService(stack: RunningProcess, service: string, which: (pids: number[]) => number[]): Promise<void> {
  const find = () => processTree(stack.pid).filter((pid) => commandLine(pid).includes(`dist/services/${service}/main.js`));
  const before = find();
  const victims = which(before);
  for (const pid of victims) signal(pid, 'SIGTERM');
  await waitFor(`PM2 to restart ${service}`, async () => {
    const now = find();
    return now.length === before.length && victims.every((pid) => !now.includes(pid)) ? true : undefined;
  }, 30_000, 200);
}

// ---------------------------------------------------------------------------------------------------------------

let tmp: string;
let stack: RunningProcess;
let prometheus: RunningProcess;
interface Run {
  sent: Sent;
  counted: Tally;
  window: [number, number];
}
const runs: { one?: Run; two?: Run } = {};
let oldWay: Awaited<ReturnType<typeof accountTheOldWay>>;
let staleAtStart: number;
let startedAt: number;

beforeAll(async () => {
  startedAt = Date.now();
  tmp = mkdtempSync(join(tmpdir(), 'relay-k6-accounting-'));
  const config = testConfig(tmp);
  const data = join(tmp, 'data');
  await waitFor('the broker on 127.0.0.1:5673', async () => (await purgeAllQueues(), true), 30_000, 1000);
  startService('sandbox');
  stack = startStack();
  await waitReady([`${SANDBOX}/healthz`, ...STACK_READY], 60_000);
  prometheus = await startPrometheus(config, data);
  await waitScraped(Date.now(), 2);
  await clearSandbox();

  // Run 1.
  const start1 = Date.now();
  const sent1 = await send('run-1', 40, 5);
  await settle(sent1.delivered);
  const end1 = Date.now();
  runs.one = { sent: sent1, counted: await account(start1, end1), window: [start1, end1] };

  // Restart of Prometheus and the whole stack, as `make dev` stopped and started again.
  await prometheus.stop('SIGTERM');
  await stack.stop('SIGTERM');
  stack = startStack();
  await waitReady(STACK_READY, 60_000);
  prometheus = await startPrometheus(config, data);
  await waitScraped(Date.now(), 2); // what begin() does: wait for quiet, then mark the start
  await clearSandbox();

  // Run 2, with a restart of the sms-worker and of one API instance in the middle.
  const start2 = Date.now();
  staleAtStart = ((await query(`sum(${COUNTERS.accepted})`, start2)) as Array<{ value: [number, string] }>).reduce((acc, s) => acc + Number(s.value[1]), 0);
  const partA = await send('run-2a', 20, 3);
  await settle(partA.delivered);
  await restartService(stack, 'sms-worker', (pids) => pids);
  await restartService(stack, 'app', (pids) => pids.slice(0, 1));
  await waitReady(STACK_READY, 60_000);
  const partB = await send('run-2b', 60, 3);
  await settle(partA.delivered + partB.delivered);
  const end2 = Date.now();
  runs.two = { sent: add(partA, partB), counted: await account(start2, end2), window: [start2, end2] };
  oldWay = await accountTheOldWay(start2, end2);
  console.log(JSON.stringify({ runs, oldWay, staleAtStart, seconds: (Date.now() - startedAt) / 1000 }, null, 1));
}, 170_000);

afterAll(async () => {
  await stopAll();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the k6 accounting (loadtest/lib/accounting.js) against a real Prometheus', () => {
  test('run 1: accepted, delivered and dead-lettered equal the 202s, the sandbox and the dead letters sent', () => {
    const { sent, counted } = runs.one!;
    expect(sent.accepted).toBe(125);
    expect({ accepted: counted.accepted, delivered: counted.delivered, deadLettered: counted.deadLettered }).toEqual(sent);
    expect(counted.e2eCount).toBe(sent.delivered);
  });

  test('after Prometheus and the stack restarted, run 1 series are still in the lookback at the start of run 2', () => {
    expect(staleAtStart).toBe(runs.one!.sent.accepted);
  });

  test('run 2, across the restart before it and a worker and an API instance restarted during it, counts exactly', () => {
    const { sent, counted } = runs.two!;
    expect(sent.accepted).toBe(3 * 20 + 3 + 3 * 60 + 3);
    expect({ accepted: counted.accepted, delivered: counted.delivered, deadLettered: counted.deadLettered }).toEqual(sent);
    expect(counted.e2eCount).toBe(sent.delivered);
    expect(counted.resets).toBeGreaterThan(0);
    for (const q of ['p50', 'p95', 'p99'] as const) expect(counted.e2e[q]).toBeGreaterThan(0);
  });

  test('the old formulation (sum at the end minus sum at the start) is wrong for run 2', () => {
    expect(oldWay.accepted).not.toBe(runs.two!.sent.accepted);
    expect(oldWay.delivered).not.toBe(runs.two!.sent.delivered);
  });

  test('the sandbox received exactly the deliverable messages of run 2', async () => {
    expect((await sandboxMessages()).length).toBe(runs.two!.sent.delivered);
  });
});
