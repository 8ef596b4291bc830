/**
 * Open-loop load at a constant arrival rate for `make bench` with BENCH_RATE: request i is due at start + i/rate,
 * whatever happened to the earlier ones (a closed loop such as autocannon's connections waits for an answer
 * before sending again, so a slow server is offered less load and its latency looks better than it is).
 * - A request is sent at its due time on a free keep-alive connection (at most `maxInFlight` open at once).
 * - late: sent more than `lateMs` after it was due (the generator's own event loop fell behind).
 * - dropped: not sent, because `maxInFlight` requests were already waiting for an answer when it was due (as
 *   k6's arrival-rate executors drop an iteration when no VU is free).
 * - latency: from the moment the request was sent to the end of its response; a request without an answer after
 *   `timeoutMs` is given up (an error, also counted in `timeouts`).
 */
import { Pool } from 'undici';
import { summarizeBySecond } from './sampler';
import { performance } from 'node:perf_hooks';

export interface OpenLoopRequest {
  path: string;
  /** Built right before sending: the body may carry the send time. */
  body: () => string;
}

export interface OpenLoopResult {
  startedAt: number;
  finishedAt: number;
  seconds: number;
  rate: number;
  scheduled: number;
  requests: number;
  statusCodes: Record<string, number>;
  /** Requests without an answer: socket errors plus `timeouts`. */
  errors: number;
  /** Requests given up after `timeoutMs` without an answer (the server may still have accepted them). */
  timeouts: number;
  late: number;
  dropped: number;
  /** Accept latency (send -> response end) in ms, over every answered request. */
  latency: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** How late requests were sent (send - due) in ms. */
  sendLag: { p50: number; p99: number; max: number };
  /** Accept latency by the second the request was due: where a tail comes from (BENCH_TIMELINE). */
  timeline: Array<{ second: number; answered: number; p50: number; p99: number; max: number; sendLagMax: number }>;
}

export interface OpenLoopOptions {
  url: string;
  rate: number;
  seconds: number;
  maxInFlight: number;
  lateMs: number;
  timeoutMs: number;
  /** Sent with every request (the API key's Authorization header). */
  headers?: Record<string, string>;
  requests: OpenLoopRequest[];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

const ms = (value: number) => Math.round(value * 100) / 100;

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  // undici's Pool rather than node:http: the generator shares the 2 cores with what it measures, and is cheaper so.
  const pool = new Pool(options.url, { connections: options.maxInFlight, pipelining: 1, keepAliveTimeout: 30_000 });
  const headers = { ...options.headers, 'content-type': 'application/json' };
  const total = Math.round(options.rate * options.seconds);
  const intervalMs = 1000 / options.rate;
  const statusCodes: Record<string, number> = {};
  const latencies: number[] = [];
  const lags: number[] = [];
  /** [second due, latency] of every answered request, and the worst send lag per second. */
  const bySecond: Array<[number, number]> = [];
  const lagBySecond = new Map<number, number>();
  let inFlight = 0;
  let errors = 0;
  let timeouts = 0;
  let late = 0;
  let dropped = 0;
  let sent = 0;
  let allSent: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => (allSent = resolve));

  const done = () => {
    inFlight -= 1;
    if (sent + dropped === total && inFlight === 0) allSent();
  };

  const send = (index: number, dueAt: number) => {
    const now = performance.now();
    if (inFlight >= options.maxInFlight) {
      dropped += 1;
      return;
    }
    const lag = now - dueAt;
    lags.push(lag);
    const second = Math.floor(index / options.rate);
    lagBySecond.set(second, Math.max(lagBySecond.get(second) ?? 0, lag));
    if (lag > options.lateMs) late += 1;
    const request = options.requests[index % options.requests.length] as OpenLoopRequest;
    const body = request.body();
    inFlight += 1;
    sent += 1;
    pool
      .request({ path: request.path, method: 'POST', headers, body, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs })
      .then(async (response) => {
        await response.body.dump();
        const latency = performance.now() - now;
        latencies.push(latency);
        bySecond.push([second, latency]);
        const code = String(response.statusCode);
        statusCodes[code] = (statusCodes[code] ?? 0) + 1;
      })
      .catch((error: { code?: string }) => {
        if (error.code === 'UND_ERR_HEADERS_TIMEOUT' || error.code === 'UND_ERR_BODY_TIMEOUT') timeouts += 1;
        errors += 1;
      })
      .finally(done);
  };

  const startedAt = Date.now();
  const t0 = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Everything due by now goes out in this turn (late ones included, counted as late).
      while (next < total && t0 + next * intervalMs <= now) {
        send(next, t0 + next * intervalMs);
        next += 1;
      }
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, t0 + next * intervalMs - performance.now()));
    };
    tick();
  });
  if (sent + dropped === total && inFlight === 0) allSent();
  const loadEndedAt = Date.now();
  await drained;
  await pool.close();

  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const timeline = summarizeBySecond(bySecond).map((row) => ({
    second: row.second,
    answered: row.count,
    p50: ms(row.p50 ?? 0),
    p99: ms(row.p99 ?? 0),
    max: ms(row.max ?? 0),
    sendLagMax: ms(lagBySecond.get(row.second) ?? 0),
  }));
  return {
    startedAt,
    finishedAt: loadEndedAt,
    seconds: (loadEndedAt - startedAt) / 1000,
    rate: options.rate,
    scheduled: total,
    requests: sent,
    statusCodes,
    errors,
    timeouts,
    late,
    dropped,
    latency: {
      p50: ms(quantile(latencies, 0.5)),
      p95: ms(quantile(latencies, 0.95)),
      p99: ms(quantile(latencies, 0.99)),
      max: ms(latencies[latencies.length - 1] ?? 0),
      mean: ms(latencies.reduce((sum, v) => sum + v, 0) / Math.max(1, latencies.length)),
    },
    sendLag: { p50: ms(quantile(lags, 0.5)), p99: ms(quantile(lags, 0.99)), max: ms(lags[lags.length - 1] ?? 0) },
    timeline,
  };
}
