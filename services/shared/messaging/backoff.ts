/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped, with "equal jitter" so that a fleet of
 * workers that lost the broker together does not reconnect in lockstep.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffDelayMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * One pending retry at a time, with backoff: the attempt count of the current failure streak and its timer. The
 * timer is unref'd, so a pending retry never keeps a stopping process alive.
 */
export class RetrySchedule {
  /** Retries scheduled since the last reset (0: no failure streak). */
  attempts = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly minMs: number, private readonly maxMs: number) {}

  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Runs `retry` after the next backoff delay and returns that delay. */
  schedule(retry: () => void): number {
    const delay = backoffDelayMs(this.attempts, this.minMs, this.maxMs);
    this.attempts += 1;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      retry();
    }, delay);
    this.timer.unref();
    return delay;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The streak is over (success, or a fresh start): no pending retry, and the next delay is the shortest. */
  reset(): void {
    this.cancel();
    this.attempts = 0;
  }
}
