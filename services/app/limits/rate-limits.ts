import { RateLimiterCluster, RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ApiKey } from '../auth/api-keys';

/** Where the counters live: `pm2` one count for all PM2 instances (limits-master.ts), `memory` this process. */
export type LimitStore = 'pm2' | 'memory';

export interface LimitDecision {
  allowed: boolean;
  /** Messages the window holds (RateLimit-Limit). */
  limit: number;
  /** Messages left in the current window (RateLimit-Remaining). */
  remaining: number;
  /** Milliseconds until the window resets (RateLimit-Reset, Retry-After when refused). */
  resetMs: number;
}

/** The shared counter did not answer in time (the limits master is restarting): the request is refused with 503. */
export class LimiterUnavailableError extends Error {
  readonly code = 'LIMITER_UNAVAILABLE';
}

export interface RateLimitsOptions {
  store: LimitStore;
  /** SMS per recipient per window, across all keys that have the recipient limit on; 0 turns it off. */
  recipientMax: number;
  recipientWindowSeconds: number;
  /** How long to wait for the shared counter. */
  timeoutMs?: number;
  /**
   * True while the instance drains (shutdown or `pm2 reload`): PM2 may already have cut this process off from
   * app-limits, and the few requests still arriving on kept-alive sockets are let through unmetered instead of
   * being answered 503.
   */
  failOpen?: () => boolean;
}

/**
 * One limiter per dimension (rate-limiter-flexible): each API key's rate, and each SMS recipient's. A key's
 * limiter holds `burst` messages per window of `burst / rate` seconds: `burst` at once, `rate` per second on
 * average (fixed windows, so at most 2 × burst across a window edge). With store `pm2` the counts live in one
 * process for the whole PM2 cluster (RateLimiterCluster → PM2's bus → RateLimiterClusterMasterPM2), so a key's
 * limit is the same whatever the number of instances.
 */
export class RateLimits {
  private readonly keyLimiters = new Map<string, RateLimiterAbstract>();
  private recipientLimiter: RateLimiterAbstract | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: RateLimitsOptions) {
    this.timeoutMs = options.timeoutMs ?? 1000;
  }

  /**
   * At start, until app-limits answers (or `timeoutMs` passed): so an instance does not take traffic it would have
   * to answer 503 while the counters' process is still starting. True when it answered.
   */
  async warmUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const probe = new Map<string, RateLimiterAbstract>();
    for (;;) {
      try {
        await this.consume(probe, 'relay-warm-up', 1_000_000, 1, String(process.pid));
        return true;
      } catch (error) {
        if (!(error instanceof LimiterUnavailableError) || Date.now() > deadline) return false;
      }
    }
  }

  /** The key's rate; `cost` messages at once (a batch counts each of its items). */
  forKey(key: ApiKey, cost = 1): Promise<LimitDecision> {
    // The prefix names the limits too: a key whose limits change gets a new limiter (and a fresh count).
    const prefix = `relay-key:${key.name}:${key.burst}:${key.rate}`;
    return this.consume(this.keyLimiters, prefix, key.burst, key.burst / key.rate, 'key', cost);
  }

  /** The per-recipient limit on SMS; undefined when it does not apply. */
  forRecipient(key: ApiKey, to: string): Promise<LimitDecision> | undefined {
    if (!key.recipientLimit || this.options.recipientMax <= 0) return undefined;
    this.recipientLimiter ??= this.create('relay-sms-recipient', this.options.recipientMax, this.options.recipientWindowSeconds);
    return this.run(this.recipientLimiter, to, this.options.recipientMax, () => {
      this.recipientLimiter = undefined;
    });
  }

  private async consume(limiters: Map<string, RateLimiterAbstract>, prefix: string, points: number, seconds: number, key: string, cost = 1): Promise<LimitDecision> {
    const attempt = () => {
      let limiter = limiters.get(prefix);
      if (!limiter) {
        limiter = this.create(prefix, points, seconds);
        limiters.set(prefix, limiter);
      }
      return this.run(limiter, key, points, () => limiters.delete(prefix), cost);
    };
    try {
      return await attempt();
    } catch (error) {
      // Once more with a new limiter: a limiter made while app-limits was restarting (or before it listened) was
      // never registered there and never answers; the new one announces itself again.
      if (!(error instanceof LimiterUnavailableError)) throw error;
      return attempt();
    }
  }

  private create(keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
    if (this.options.store === 'memory') return new RateLimiterMemory({ keyPrefix, points, duration });
    return new RateLimiterCluster({ keyPrefix, points, duration, timeoutMs: this.timeoutMs });
  }

  /**
   * A cluster limiter announces itself to the master once, when created; if the master was not listening yet (the
   * stack is starting) or has restarted (its counters are gone), it never answers: `forget` drops the limiter so
   * the next request creates it again and the master learns it.
   */
  private async run(limiter: RateLimiterAbstract, key: string, points: number, forget: () => void, cost = 1): Promise<LimitDecision> {
    try {
      const result = await limiter.consume(key, cost);
      return { allowed: true, limit: points, remaining: result.remainingPoints, resetMs: result.msBeforeNext };
    } catch (error) {
      if (error instanceof RateLimiterRes) return { allowed: false, limit: points, remaining: 0, resetMs: error.msBeforeNext };
      forget();
      if (this.options.failOpen?.()) return { allowed: true, limit: points, remaining: points, resetMs: 0 };
      throw new LimiterUnavailableError(`rate limiter unavailable: ${(error as Error).message}`);
    }
  }
}
