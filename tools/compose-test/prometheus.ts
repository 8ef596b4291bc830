import { waitFor } from '../lib/wait-for';

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
export function waitQuery(expr: string, accept: (samples: Sample[]) => boolean, timeoutMs: number): Promise<Sample[]> {
  return waitFor(expr, async () => {
    const samples = await query(expr);
    if (accept(samples)) return samples;
    throw new Error(`not as expected: ${JSON.stringify(samples)}`);
  }, timeoutMs, 2000);
}
