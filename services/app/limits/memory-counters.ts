import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { limiterName, type Count, type LimitSpec } from './limits-protocol';

/**
 * Counters in this process's memory, one rate-limiter-flexible limiter per limit (fixed windows). app-limits keeps
 * the cluster's counts here (limits-server.ts); an API instance with RATE_LIMIT_STORE=memory keeps its own.
 * Operations run one after another: a lease reads the window before it takes from it, and nothing may count in
 * between.
 */
export class MemoryCounters {
  private readonly limiters = new Map<string, RateLimiterMemory>();
  private tail: Promise<unknown> = Promise.resolve();

  /** Limiters made so far (one per distinct prefix, points and duration). */
  get size(): number {
    return this.limiters.size;
  }

  /**
   * Counts `cost` points. With `want` (> cost), takes as many points as the window has, up to `want`, and says how
   * many in `granted`; a window with fewer than `cost` left refuses as a plain consume would.
   */
  consume(spec: LimitSpec, key: string, cost: number, want?: number): Promise<Count> {
    const run = () => this.count(spec, key, cost, want);
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async count(spec: LimitSpec, key: string, cost: number, want: number | undefined): Promise<Count> {
    const name = limiterName(spec);
    let limiter = this.limiters.get(name);
    if (!limiter) {
      limiter = new RateLimiterMemory({ keyPrefix: spec.prefix, points: spec.points, duration: spec.duration });
      this.limiters.set(name, limiter);
    }
    let take = cost;
    if (want !== undefined && want > cost) {
      const used = (await limiter.get(key))?.consumedPoints ?? 0;
      take = Math.max(cost, Math.min(want, spec.points - used));
    }
    try {
      const result = await limiter.consume(key, take);
      return { allowed: true, ...(want === undefined ? {} : { granted: take }), remaining: result.remainingPoints, resetMs: result.msBeforeNext };
    } catch (error) {
      // rate-limiter-flexible rejects with a RateLimiterRes when the window is full, with an Error otherwise.
      if (error instanceof RateLimiterRes) return { allowed: false, ...(want === undefined ? {} : { granted: 0 }), remaining: 0, resetMs: error.msBeforeNext };
      throw error;
    }
  }
}
