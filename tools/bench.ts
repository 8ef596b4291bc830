/**
 * `make bench`: the native throughput benchmark. Runs the same load against our stack (app under pm2-runtime in
 * cluster mode -> RabbitMQ with confirms -> three workers) and against the seed post's cluster-IPC design
 * (tools/baseline), both delivering to the sandbox, and prints one JSON line per design plus one with the ratios.
 * Method and figures: docs/performance.md. Env: BENCH_SECONDS (20; scripts/bench.sh sets 45), BENCH_CONNECTIONS (100), BENCH_DESIGNS
 * (pm2-rabbitmq,cluster-ipc), BENCH_DRAIN_TIMEOUT_S (300); API_INSTANCES, PREFETCH, BASELINE_INSTANCES pass through.
 * BENCH_RATE=<requests/s>: fixed-rate mode, open-loop load at that constant arrival rate instead of full speed
 * (tools/bench/open-loop.ts; BENCH_MAX_INFLIGHT, BENCH_LATE_MS): accept and end-to-end percentiles at a given load.
 * Everything it starts runs in process groups it stops by PID before exiting, also on errors and signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLoadKey } from './lib/load-key';
import { killAllGroupsNow, startGroup, stopAllGroups, type GroupProcess } from './bench/processes';
import { histogramQuantile, percentile, round, StackSampler, summarizeBySecond, type SampleReport } from './bench/sampler';
import {
  APP_URL,
  BROKER_PID_FILE,
  clearSandbox,
  purgeQueues,
  sandboxMessages,
  SANDBOX_URL,
  sleep,
  waitReady,
  workerEndToEndBuckets,
  workersProcessed,
  workQueueDepth,
} from './bench/stack-io';
import type { ChannelStats } from './baseline/ipc';

const ROOT = path.resolve(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');
const SECONDS = Number(process.env.BENCH_SECONDS) || 20;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS) || 100;
const DRAIN_TIMEOUT_MS = (Number(process.env.BENCH_DRAIN_TIMEOUT_S) || 300) * 1000;
const DESIGNS = (process.env.BENCH_DESIGNS ?? 'pm2-rabbitmq,cluster-ipc').split(',').map((d) => d.trim());
const STATS_PORT = Number(process.env.BASELINE_STATS_PORT) || 8099;
const RATE = Number(process.env.BENCH_RATE) || 0;
/** Unmeasured load before the measured run, per design (BENCH_WARMUP_SECONDS, default 5; 0 turns it off). */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
/** BENCH_TIMELINE=1: per-second accept and end-to-end latency on stderr. */
const TIMELINE = process.env.BENCH_TIMELINE === '1';
const QUIET = { LOG_LEVEL: 'warn' };
/** The key of our stack's run (set by startOurs); the baseline ignores the header. */
let apiKey = '';

interface LoadResult {
  mode: 'saturation' | 'fixed-rate';
  startedAt: number;
  finishedAt: number;
  seconds: number;
  requests: number;
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p90?: number; p95?: number; p99: number; max: number; mean: number };
  /** Fixed-rate mode only (tools/bench/open-loop.ts). */
  rate?: number;
  scheduled?: number;
  late?: number;
  dropped?: number;
  timeline?: Array<{ second: number; answered: number; p50: number; p99: number; max: number; sendLagMax: number }>;
  sendLag?: { p50: number; p99: number; max: number };
}

/** Hooks one design gives the common run: how to tell it has drained, and its own end-to-end figures. */
interface Design {
  name: string;
  stack: GroupProcess;
  /** Work the design has finished (delivered or given up); undefined if it cannot tell. */
  processed: () => Promise<number>;
  /** Messages still waiting inside the design (broker queues; 0 when it cannot tell). */
  backlog: () => Promise<number>;
  /** The design's own end-to-end latency (acceptedAt -> provider accepted), p50/p99 in ms. */
  selfEndToEnd: () => Promise<{ p50: number | null; p99: number | null; source: string }>;
}

function brokerPid(): number | undefined {
  return pidFromFile(BROKER_PID_FILE);
}

/**
 * The status database's postmaster (first line of postmaster.pid): its backends do the status service's writes,
 * part of what status tracking costs, so ours is charged for them (label `postgres`).
 */
function postgresPid(): number | undefined {
  if (process.env.STATUS_TRACKING === 'false') return undefined;
  return pidFromFile(path.join(ROOT, `.run/postgres-${process.env.RELAY_PG_PORT ?? 5433}/data/postmaster.pid`));
}

function pidFromFile(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function startSandbox(): GroupProcess {
  return startGroup('sandbox', process.execPath, [path.join(DIST, 'services/sandbox/main.js')], { env: QUIET, cwd: ROOT });
}

/** Our stack: the app and the three workers under one pm2-runtime with a PM2 home of its own, as `make dev`. */
async function startOurs(): Promise<Design> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-bench-pm2-'));
  const ecosystem = path.join(home, 'ecosystem.config.js');
  // Status tracking is on by default, so its cost (reporters, the status service, PostgreSQL) is part of our
  // figures; STATUS_TRACKING=false measures the stack without it (docs/status.md).
  const tracking = process.env.STATUS_TRACKING !== 'false';
  const services = ['app', 'sms-worker', 'email-worker', 'notif-worker', ...(tracking ? ['status-service'] : [])];
  // Our API authenticates and rate-limits every request (a SHA-256, a Map lookup and one counter round trip to
  // app-limits on its unix socket); the baseline has no auth. That cost is part of our figures: docs/performance.md.
  const loadKey = createLoadKey(home);
  apiKey = loadKey.key;
  const requires = services.map((service) => `...require(${JSON.stringify(path.join(ROOT, 'services', service, 'ecosystem.config.js'))}).apps`);
  fs.writeFileSync(ecosystem, `module.exports = { apps: [${requires.join(', ')}] };\n`);
  const stack = startGroup('pm2-rabbitmq', path.join(ROOT, 'node_modules/.bin/pm2-runtime'), [ecosystem], { env: { PM2_HOME: home, ...QUIET, ...loadKey.env }, cwd: ROOT, cleanup: home });
  const alive = () => stack.child.exitCode === null;
  await waitReady([`${APP_URL}/readyz`, ...[9101, 9102, 9103, ...(tracking ? [9104] : [])].map((port) => `http://127.0.0.1:${port}/readyz`)], 90_000, alive);
  return {
    name: 'pm2-rabbitmq',
    stack,
    processed: workersProcessed,
    backlog: workQueueDepth,
    async selfEndToEnd() {
      const buckets = await workerEndToEndBuckets();
      const q = (p: number) => {
        const value = histogramQuantile(buckets, p);
        return value === null ? null : round(value * 1000, 1);
      };
      return { p50: q(0.5), p99: q(0.99), source: 'workers message_end_to_end_seconds histogram (interpolated)' };
    },
  };
}

async function baselineStats(): Promise<ChannelStats[]> {
  const response = await fetch(`http://127.0.0.1:${STATS_PORT}/baseline/stats`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`baseline stats answered ${response.status}`);
  return ((await response.json()) as { channels: ChannelStats[] }).channels;
}

/** The seed post's design (tools/baseline): cluster master, app workers, three forked channel workers. */
async function startBaseline(): Promise<Design> {
  const stack = startGroup('cluster-ipc', process.execPath, [path.join(DIST, 'tools/baseline/main.js')], { env: { BASELINE_STATS_PORT: String(STATS_PORT), ...QUIET }, cwd: ROOT });
  const alive = () => stack.child.exitCode === null;
  await waitReady([`${APP_URL}/readyz`, `http://127.0.0.1:${STATS_PORT}/baseline/stats`], 60_000, alive);
  return {
    name: 'cluster-ipc',
    stack,
    processed: async () => (await baselineStats()).reduce((sum, s) => sum + s.delivered + s.failed, 0),
    backlog: async () => (await baselineStats()).reduce((sum, s) => sum + s.waiting + s.inFlight, 0),
    async selfEndToEnd() {
      const samples = (await baselineStats()).flatMap((s) => s.samplesMs).sort((a, b) => a - b);
      return { p50: percentile(samples, 50), p99: percentile(samples, 99), source: 'channel workers, every delivery (acceptedAt -> provider accepted)' };
    },
  };
}

let loadProcess: ChildProcess | undefined;

/** Runs the load generator (tools/bench/load.ts) in a process of its own and returns its JSON line. */
function runLoad(seconds = SECONDS): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(DIST, 'tools/bench/load.js')], {
      env: { ...process.env, BENCH_URL: APP_URL, BENCH_SECONDS: String(seconds), BENCH_CONNECTIONS: String(CONNECTIONS), BENCH_API_KEY: apiKey },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    loadProcess = child;
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      loadProcess = undefined;
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as LoadResult);
      } catch (error) {
        reject(new Error(`load generator printed no JSON: ${out.slice(0, 500)} (${(error as Error).message})`));
      }
    });
  });
}

/** Waits until nothing is queued and the finished count has reached `accepted` or stopped moving for 5 s. */
async function waitDrained(design: Design, accepted: number): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const [processed, backlog] = await Promise.all([design.processed(), design.backlog()]);
    if (processed !== last) {
      last = processed;
      stableSince = Date.now();
    }
    if (backlog === 0 && (processed >= accepted || Date.now() - stableSince > 5000)) return;
    if (Date.now() > deadline) throw new Error(`${design.name}: not drained after ${DRAIN_TIMEOUT_MS / 1000} s (processed ${processed}/${accepted}, backlog ${backlog})`);
    await sleep(250);
  }
}

/** Reads the sandbox until its count stops moving; returns unique ids and latencies from the `t=` stamps. */
async function collectDeliveries(timeline = TIMELINE): Promise<{ delivered: number; duplicates: number; lastReceivedAt: number; e2e: number[] }> {
  let messages = await sandboxMessages();
  for (;;) {
    await sleep(1000);
    const again = await sandboxMessages();
    if (again.length === messages.length) break;
    messages = again;
  }
  const seen = new Set<string>();
  const e2e: number[] = [];
  /** The `t=` stamp of each e2e sample, same order as `e2e` before sorting (the timeline groups by it). */
  const sentAt: number[] = [];
  const channels: string[] = [];
  let lastReceivedAt = 0;
  let duplicates = 0;
  for (const message of messages) {
    const received = Date.parse(message.receivedAt);
    lastReceivedAt = Math.max(lastReceivedAt, received);
    const key = message.id ?? `${message.channel}:${JSON.stringify(message.content)}`;
    if (seen.has(key)) {
      duplicates += 1;
      continue;
    }
    seen.add(key);
    const text = `${String(message.content.body ?? '')} ${String(message.content.subject ?? '')}`;
    const stamp = /t=(\d{13})/.exec(text);
    if (stamp) {
      e2e.push(received - Number(stamp[1]));
      sentAt.push(Number(stamp[1]));
      channels.push(message.channel);
    }
  }
  if (timeline) for (const channel of ['sms', 'email', 'notif']) printTimeline(channel, sentAt.filter((_, i) => channels[i] === channel), e2e.filter((_, i) => channels[i] === channel));
  e2e.sort((a, b) => a - b);
  return { delivered: seen.size, duplicates, lastReceivedAt, e2e };
}

/**
 * BENCH_TIMELINE=1: end-to-end latency by the second the request was sent (count, p50, p99, max), on stderr. A tail
 * made of a few stalls shows as a few bad seconds; a backlog that builds up shows as a rising line.
 */
function printTimeline(channel: string, sentAt: number[], e2e: number[]): void {
  if (sentAt.length === 0) return;
  const start = Math.min(...sentAt);
  const samples = sentAt.map((sent, index): [number, number] => [Math.floor((sent - start) / 1000), e2e[index] as number]);
  for (const row of summarizeBySecond(samples)) {
    process.stderr.write(`timeline e2e ${channel} s=${row.second} n=${row.count} e2e_p50=${row.p50} p99=${row.p99} max=${row.max}\n`);
  }
}

async function runDesign(name: string, sandbox: GroupProcess): Promise<Record<string, unknown>> {
  const design = name === 'cluster-ipc' ? await startBaseline() : await startOurs();
  try {
    if (name !== 'cluster-ipc') await purgeQueues();
    await clearSandbox();
    if (WARMUP_SECONDS > 0) {
      // The same load, unmeasured: a server that has just started is still compiling its hot paths and opening its
      // connections (pools, channels), and the first seconds of a cold run were its worst by far. Both designs get it.
      const warmup = await runLoad(WARMUP_SECONDS);
      await waitDrained(design, warmup.statusCodes['202'] ?? 0);
      await collectDeliveries(false);
      await clearSandbox();
    }
    await sleep(1000);
    const processedBefore = await design.processed();
    const broker = brokerPid();
    const postgres = postgresPid();
    const sampler = new StackSampler(() => [
      { pid: design.stack.pid },
      ...(broker && name !== 'cluster-ipc' ? [{ pid: broker, as: 'broker' }] : []),
      ...(postgres && name !== 'cluster-ipc' ? [{ pid: postgres, as: 'postgres' }] : []),
      { pid: sandbox.pid, as: 'sandbox', external: true },
    ]);
    sampler.start();
    const load = await runLoad();
    const loadEndCpu = { ...sampler.stop().cpuSeconds };
    sampler.start();
    const accepted = load.statusCodes['202'] ?? 0;
    if (TIMELINE) for (const row of load.timeline ?? []) process.stderr.write(`timeline accept s=${row.second} n=${row.answered} p50=${row.p50} p99=${row.p99} max=${row.max} send_lag_max=${row.sendLagMax}\n`);
    // A run in which nothing was accepted measured a refusal (a key the app does not know, say), not the design.
    if (accepted === 0) throw new Error(`${name}: no request was answered 202 (status codes ${JSON.stringify(load.statusCodes)})`);
    await waitDrained(design, processedBefore + accepted);
    const deliveries = await collectDeliveries();
    const report = sampler.stop();
    const self = await design.selfEndToEnd();
    const window = (deliveries.lastReceivedAt - load.startedAt) / 1000;
    const fixedRate =
      load.mode === 'fixed-rate'
        ? {
            mode: load.mode,
            rate: load.rate,
            scheduled: load.scheduled,
            late: load.late,
            dropped: load.dropped,
            timeouts: load.timeouts,
            http_p95_ms: load.latency.p95,
            send_lag_p99_ms: load.sendLag?.p99,
          }
        : { mode: load.mode };
    return {
      design: design.name,
      ...fixedRate,
      accepted_per_s: round(accepted / load.seconds),
      delivered_per_s: round(window > 0 ? deliveries.delivered / window : 0),
      http_p50_ms: load.latency.p50,
      http_p99_ms: load.latency.p99,
      e2e_p50_ms: percentile(deliveries.e2e, 50),
      e2e_p95_ms: percentile(deliveries.e2e, 95),
      e2e_p99_ms: percentile(deliveries.e2e, 99),
      e2e_self_p50_ms: self.p50,
      e2e_self_p99_ms: self.p99,
      errors: load.requests - accepted,
      accepted,
      delivered: deliveries.delivered,
      duplicates: deliveries.duplicates,
      drain_s: round((deliveries.lastReceivedAt - load.finishedAt) / 1000, 2),
      status_codes: load.statusCodes,
      peak_rss_mb: report.peakRssMb,
      cpu_s_load: loadEndCpu,
      cpu_s_total: mergeCpu(loadEndCpu, report),
      processes: report.processes,
      settings: { seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, rate: RATE || null, connections: RATE ? null : CONNECTIONS, cpus: os.availableParallelism(), api_instances: process.env.API_INSTANCES ?? null, prefetch: process.env.PREFETCH ?? null, status_tracking: process.env.STATUS_TRACKING !== 'false', baseline_instances: process.env.BASELINE_INSTANCES ?? null },
    };
  } catch (error) {
    process.stderr.write(`--- ${design.name} output (tail) ---\n${design.stack.output().slice(-3000)}\n`);
    throw error;
  } finally {
    await design.stack.stop('SIGTERM', 20_000);
  }
}

/** CPU seconds of the load phase plus those of the drain phase, per label. */
function mergeCpu(load: Record<string, number>, drain: SampleReport): Record<string, number> {
  const merged: Record<string, number> = { ...load };
  for (const [label, seconds] of Object.entries(drain.cpuSeconds)) merged[label] = round((merged[label] ?? 0) + seconds, 2);
  return merged;
}

async function main(): Promise<void> {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`bench: ${signal}; stopping everything it started\n`);
    loadProcess?.kill('SIGKILL');
    void stopAllGroups().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    loadProcess?.kill('SIGKILL');
    killAllGroupsNow();
  });

  const sandbox = startSandbox();
  const results: Array<Record<string, unknown>> = [];
  try {
    await waitReady([`${SANDBOX_URL}/healthz`], 30_000, () => sandbox.child.exitCode === null);
    for (const name of DESIGNS) {
      const result = await runDesign(name, sandbox);
      results.push(result);
      process.stdout.write(`${JSON.stringify(result)}\n`);
    }
    const ours = results.find((r) => r.design === 'pm2-rabbitmq');
    const baseline = results.find((r) => r.design === 'cluster-ipc');
    if (ours && baseline) {
      const ratio = (key: string) => {
        const a = ours[key];
        const b = baseline[key];
        return typeof a === 'number' && typeof b === 'number' && b !== 0 ? round(a / b, 3) : null;
      };
      const rss = (r: Record<string, unknown>) => (r.peak_rss_mb as Record<string, number>).total ?? 0;
      process.stdout.write(
        `${JSON.stringify({
          ratio_delivered_per_s: ratio('delivered_per_s'),
          ratio_accepted_per_s: ratio('accepted_per_s'),
          ...(RATE ? { ratio_http_p95_ms: ratio('http_p95_ms') } : {}),
          ratio_http_p99_ms: ratio('http_p99_ms'),
          ratio_e2e_p50_ms: ratio('e2e_p50_ms'),
          ratio_e2e_p95_ms: ratio('e2e_p95_ms'),
          ratio_e2e_p99_ms: ratio('e2e_p99_ms'),
          ratio_peak_rss_total: round(rss(ours) / Math.max(1, rss(baseline)), 3),
        })}\n`,
      );
    }
  } catch (error) {
    for (const group of [sandbox]) process.stderr.write(`--- ${group.name} output (tail) ---\n${group.output().slice(-3000)}\n`);
    throw error;
  } finally {
    await stopAllGroups();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
  // The groups are stopped by then; whatever handle is still open (a pool, a socket) must not keep a failed run waiting.
  setTimeout(() => process.exit(1), 2000).unref();
});
