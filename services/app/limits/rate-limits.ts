import type { Logger } from '../../shared/logger/logger';
import type { ApiKey } from '../auth/api-keys';
import { KeyLeases } from './key-leases';
import { LimitsClient, LimiterUnavailableError } from './limits-client';
import type { Count, LimitSpec } from './limits-protocol';
import { MemoryCounters } from './memory-counters';

export { LimiterUnavailableError };

/**
 * Where the counters live: `pm2` one count for all the PM2 cluster's instances, in app-limits (limits-master.ts,
 * over its unix socket); `memory` this process.
 */
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

export interface RateLimitsOptions {
  store: LimitStore;
  /** app-limits' socket (LIMITS_SOCKET); needed by store `pm2`. */
  socketPath?: string;
  /** SMS per recipient per window, across all keys that have the recipient limit on; 0 turns it off. */
  recipientMax: number;
  recipientWindowSeconds: number;
  /** How long to wait for the shared counter. */
  timeoutMs?: number;
  /**
   * True while the instance drains (shutdown or `pm2 reload`): should app-limits be away then (the whole stack
   * stopping), the few requests still arriving on kept-alive sockets are let through unmetered instead of being
   * answered 503.
   */
  failOpen?: () => boolean;
  logger?: Logger;
}

interface Counter {
  consume(spec: LimitSpec, key: string, cost: number): Promise<Count>;
}

/**
 * One limiter per dimension (rate-limiter-flexible's fixed windows): each API key's rate, and each SMS recipient's.
 * A key's limiter holds `burst` messages per window of `burst / rate` seconds: `burst` at once, `rate` per second on
 * average (at most 2 × burst across a window edge). With store `pm2` the counts live in app-limits for the whole
 * PM2 cluster, so a key's limit is the same whatever the number of instances.
 */
export class RateLimits {
  private readonly counter: Counter;
  /** A key's own rate: from leases of app-limits' points with store `pm2` (key-leases.ts), else the counter. */
  private readonly keyCounter: Counter;
  private readonly client: LimitsClient | undefined;
  private readonly recipientSpec: LimitSpec;

  constructor(private readonly options: RateLimitsOptions) {
    if (options.store === 'pm2') {
      if (!options.socketPath) throw new Error('rate limits: store pm2 needs the app-limits socket path');
      this.client = new LimitsClient({ socketPath: options.socketPath, timeoutMs: options.timeoutMs ?? 1000, logger: options.logger });
      this.counter = this.client;
      this.keyCounter = new KeyLeases(this.client);
    } else {
      this.counter = new MemoryCounters();
      this.keyCounter = this.counter;
    }
    this.recipientSpec = { prefix: 'relay-sms-recipient', points: options.recipientMax, duration: options.recipientWindowSeconds };
  }

  /**
   * At start, until app-limits answers (or `timeoutMs` passed): so an instance does not take traffic it would have
   * to answer 503 while the counters' process is still starting. True when it answered.
   */
  async warmUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.counter.consume({ prefix: 'relay-warm-up', points: 1_000_000, duration: 1 }, String(process.pid), 1);
        return true;
      } catch (error) {
        if (!(error instanceof LimiterUnavailableError) || Date.now() > deadline) return false;
      }
    }
  }

  /** The key's rate; `cost` messages at once (a batch counts each of its items). */
  forKey(key: ApiKey, cost = 1): Promise<LimitDecision> {
    // The prefix names the limits too, as the counters do: a key whose limits change gets a fresh count.
    const spec = { prefix: `relay-key:${key.name}:${key.burst}:${key.rate}`, points: key.burst, duration: key.burst / key.rate };
    return this.consume(spec, 'key', cost, this.keyCounter);
  }

  /** The per-recipient limit on SMS; undefined when it does not apply. */
  forRecipient(key: ApiKey, to: string): Promise<LimitDecision> | undefined {
    if (!key.recipientLimit || this.options.recipientMax <= 0) return undefined;
    return this.consume(this.recipientSpec, to, 1);
  }

  /** Stops the connection to app-limits (shutdown, after the drain). */
  close(): void {
    this.client?.close();
  }

  private async consume(spec: LimitSpec, key: string, cost: number, counter = this.counter): Promise<LimitDecision> {
    try {
      return await this.attempt(spec, key, cost, counter);
    } catch (error) {
      // Once more: a request sent just before its connection dropped (app-limits restarting) failed at once, and
      // the second goes out on the new connection.
      if (!(error instanceof LimiterUnavailableError)) throw error;
      return this.attempt(spec, key, cost, counter);
    }
  }

  private async attempt(spec: LimitSpec, key: string, cost: number, counter: Counter): Promise<LimitDecision> {
    try {
      const count = await counter.consume(spec, key, cost);
      return { allowed: count.allowed, limit: spec.points, remaining: count.remaining, resetMs: count.resetMs };
    } catch (error) {
      if (this.options.failOpen?.()) return { allowed: true, limit: spec.points, remaining: spec.points, resetMs: 0 };
      if (error instanceof LimiterUnavailableError) throw error;
      throw new LimiterUnavailableError(`rate limiter unavailable: ${(error as Error).message}`);
    }
  }
}
