/**
 * The load generator of `make bench`, run in a process of its own so it does not share an event loop with the
 * benchmark's bookkeeping, cycling sms / email / notif requests with valid bodies against BENCH_URL for
 * BENCH_SECONDS. Each body carries the time it was built (`t=<epoch ms>`, just before it is written), which the
 * benchmark reads back from the sandbox for end-to-end latency. Prints one line of JSON on stdout.
 * - Saturation (default): autocannon at full speed with BENCH_CONNECTIONS connections (closed loop).
 * - Fixed rate (BENCH_RATE=<requests/s>): open loop at that constant arrival rate (./open-loop.ts), at most
 *   BENCH_MAX_INFLIGHT (1000) requests waiting for an answer, late = sent more than BENCH_LATE_MS (10) after due.
 */
import autocannon from 'autocannon';
import { openLoop, type OpenLoopRequest } from './open-loop';

const url = process.env.BENCH_URL ?? 'http://127.0.0.1:8080';
const duration = Number(process.env.BENCH_SECONDS) || 20;
const connections = Number(process.env.BENCH_CONNECTIONS) || 100;
const rate = Number(process.env.BENCH_RATE) || 0;

const rand = (max: number) => Math.floor(Math.random() * max);
// Our API needs the key (tools/lib/load-key.ts); the baseline, which has no auth, ignores the header.
const json: Record<string, string> = { 'content-type': 'application/json', ...(process.env.BENCH_API_KEY ? { authorization: `Bearer ${process.env.BENCH_API_KEY}` } : {}) };

const bodies: OpenLoopRequest[] = [
  { path: '/v1/sms', body: () => JSON.stringify({ to: `+1415555${String(rand(10000)).padStart(4, '0')}`, body: `relay bench t=${Date.now()}` }) },
  {
    path: '/v1/email',
    body: () => JSON.stringify({ to: `bench-${rand(100000)}@example.com`, subject: `relay bench t=${Date.now()}`, text: 'Sent by the relay-stack benchmark.' }),
  },
  {
    path: '/v1/notifications',
    body: () => JSON.stringify({ recipient: `user-${rand(100000)}`, title: 'bench', body: `relay bench t=${Date.now()}`, data: { source: 'bench' } }),
  },
];

const requests: autocannon.Request[] = bodies.map(({ path, body }) => ({
  method: 'POST',
  path,
  headers: json,
  setupRequest: (request) => ({ ...request, body: body() }),
}));

async function saturation(): Promise<object> {
  const startedAt = Date.now();
  const result = await autocannon({ url, connections, duration, pipelining: 1, requests, timeout: 10 });
  const finishedAt = Date.now();
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, (stat as { count: number }).count]));
  return {
    mode: 'saturation',
    startedAt,
    finishedAt,
    seconds: (finishedAt - startedAt) / 1000,
    requests: result.requests.total,
    statusCodes,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
  };
}

async function fixedRate(): Promise<object> {
  const result = await openLoop({
    url,
    rate,
    seconds: duration,
    maxInFlight: Number(process.env.BENCH_MAX_INFLIGHT) || 1000,
    lateMs: Number(process.env.BENCH_LATE_MS) || 10,
    timeoutMs: 10_000,
    headers: json,
    requests: bodies,
  });
  return { mode: 'fixed-rate', ...result };
}

(rate > 0 ? fixedRate() : saturation())
  .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
  .catch((error: Error) => {
    process.stderr.write(`bench load: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
