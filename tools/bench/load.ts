/**
 * The load generator of `make bench`, run in a process of its own so it does not share an event loop with the
 * benchmark's bookkeeping: autocannon at full speed against BENCH_URL for BENCH_SECONDS with BENCH_CONNECTIONS
 * connections, cycling sms / email / notif requests with valid bodies. Each body carries the time it was built
 * (`t=<epoch ms>`, just before it is written), which the benchmark reads back from the sandbox for end-to-end
 * latency. Prints one line of JSON on stdout.
 */
import autocannon from 'autocannon';

const url = process.env.BENCH_URL ?? 'http://127.0.0.1:8080';
const duration = Number(process.env.BENCH_SECONDS) || 20;
const connections = Number(process.env.BENCH_CONNECTIONS) || 100;

const rand = (max: number) => Math.floor(Math.random() * max);
// Our API needs the key (tools/lib/load-key.ts); the baseline, which has no auth, ignores the header.
const json: Record<string, string> = { 'content-type': 'application/json', ...(process.env.BENCH_API_KEY ? { authorization: `Bearer ${process.env.BENCH_API_KEY}` } : {}) };

const requests: autocannon.Request[] = [
  {
    method: 'POST',
    path: '/v1/sms',
    headers: json,
    setupRequest: (request) => ({ ...request, body: JSON.stringify({ to: `+1415555${String(rand(10000)).padStart(4, '0')}`, body: `relay bench t=${Date.now()}` }) }),
  },
  {
    method: 'POST',
    path: '/v1/email',
    headers: json,
    setupRequest: (request) => ({
      ...request,
      body: JSON.stringify({ to: `bench-${rand(100000)}@example.com`, subject: `relay bench t=${Date.now()}`, text: 'Sent by the relay-stack benchmark.' }),
    }),
  },
  {
    method: 'POST',
    path: '/v1/notifications',
    headers: json,
    setupRequest: (request) => ({
      ...request,
      body: JSON.stringify({ recipient: `user-${rand(100000)}`, title: 'bench', body: `relay bench t=${Date.now()}`, data: { source: 'bench' } }),
    }),
  },
];

async function main(): Promise<void> {
  const startedAt = Date.now();
  const result = await autocannon({ url, connections, duration, pipelining: 1, requests, timeout: 10 });
  const finishedAt = Date.now();
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, (stat as { count: number }).count]));
  process.stdout.write(
    `${JSON.stringify({
      startedAt,
      finishedAt,
      seconds: (finishedAt - startedAt) / 1000,
      requests: result.requests.total,
      statusCodes,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
    })}\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`bench load: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
