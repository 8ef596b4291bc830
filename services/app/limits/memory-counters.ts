import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Count, LimitSpec } from './limits-protocol';

/**
 * Counters in this process's memory, one rate-limiter-flexible limiter per limit (fixed windows). app-limits keeps
 * the cluster's counts here (limits-server.ts); an API instance with RATE_LIMIT_STORE=memory keeps its own.
 */
export class MemoryCounters {
  private readonly limiters = new Map<string, RateLimiterMemory>();

  /** Limiters made so far (one per distinct prefix, points and duration). */
  get size(): number {
    return this.limiters.size;
  }

  async consume(spec: LimitSpec, key: string, cost: number): Promise<Count> {
    // Points and duration are part of the name: a key whose limits change gets a limiter (and a count) of its own.
    const name = `${spec.prefix}\u0000${spec.points}\u0000${spec.duration}`;
    let limiter = this.limiters.get(name);
    if (!limiter) {
      limiter = new RateLimiterMemory({ keyPrefix: spec.prefix, points: spec.points, duration: spec.duration });
      this.limiters.set(name, limiter);
    }
    try {
      const result = await limiter.consume(key, cost);
      return { allowed: true, remaining: result.remainingPoints, resetMs: result.msBeforeNext };
    } catch (error) {
      // rate-limiter-flexible rejects with a RateLimiterRes when the window is full, with an Error otherwise.
      if (error instanceof RateLimiterRes) return { allowed: false, remaining: 0, resetMs: error.msBeforeNext };
      throw error;
    }
  }
}
