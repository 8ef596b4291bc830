import { sleep } from '../lib/http-probe';

export const PROMETHEUS_URL = process.env.COMPOSE_TEST_PROMETHEUS_URL ?? 'http://127.0.0.1:9090';

export interface Sample { metric: Record<string, string>; value: number }

/** An instant query through Prometheus's HTTP API. */
export async function query(expr: string): Promise<Sample[]> {
  const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
  return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** Polls `expr` until `accept` holds for its result (Prometheus scrapes every 15 s; DNS discovery every 30 s). */
export async function waitQuery(expr: string, accept: (samples: Sample[]) => boolean, timeoutMs: number): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  let last: Sample[] = [];
  for (;;) {
    last = await query(expr).catch(() => []);
    if (accept(last)) return last;
    if (Date.now() > deadline) throw new Error(`${expr}: not as expected after ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await sleep(2000);
  }
}
