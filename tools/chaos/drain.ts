import { DEAD_QUEUES, RETRY_QUEUES, WORK_QUEUES, queueDepths } from './broker';
import { sandboxCount, sleep } from './stack-http';

const WORKER_METRICS = [9101, 9102, 9103].map((port) => `http://127.0.0.1:${port}/metrics`);

/** Messages the workers hold right now (sum of `messages_in_flight`); undefined when a worker does not answer. */
async function workersInFlight(): Promise<number | undefined> {
  let total = 0;
  for (const url of WORKER_METRICS) {
    try {
      const text = await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
      for (const match of text.matchAll(/^messages_in_flight\{[^}]*\} (\d+)/gm)) total += Number(match[1]);
    } catch {
      return undefined;
    }
  }
  return total;
}

export interface DrainState {
  drained: boolean;
  waitedMs: number;
  /** The last observation: queue depths, worker in-flight count, sandbox and dead-letter counts. */
  last: Record<string, number | undefined>;
}

/**
 * Waits until the work and delay queues are empty, no worker holds a message, and neither the sandbox's count
 * nor the dead-letter queues' have moved for `stableMs`; gives up after `timeoutMs` (drained: false).
 */
export async function waitDrained(stableMs: number, timeoutMs: number): Promise<DrainState> {
  const started = Date.now();
  let signature = '';
  let stableSince = Date.now();
  let last: Record<string, number | undefined> = {};
  while (Date.now() - started < timeoutMs) {
    try {
      const depths = await queueDepths([...WORK_QUEUES, ...RETRY_QUEUES, ...DEAD_QUEUES]);
      const inFlight = await workersInFlight();
      const received = await sandboxCount();
      last = { ...depths, inFlight, received };
      const busy = [...WORK_QUEUES, ...RETRY_QUEUES].some((queue) => depths[queue] !== 0) || inFlight !== 0;
      const now = JSON.stringify(last);
      if (busy || now !== signature) {
        signature = now;
        stableSince = Date.now();
      } else if (Date.now() - stableSince >= stableMs) {
        return { drained: true, waitedMs: Date.now() - started, last };
      }
    } catch {
      // broker or sandbox briefly unreachable: keep waiting
      stableSince = Date.now();
    }
    await sleep(500);
  }
  return { drained: false, waitedMs: Date.now() - started, last };
}
