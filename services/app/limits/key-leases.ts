import { limiterName, type Count, type LimitSpec } from './limits-protocol';

/** Where leases come from: app-limits' counters (LimitsClient), or any counter that can take up to `want` points. */
export interface LeaseSource {
  consume(spec: LimitSpec, key: string, cost: number, want?: number): Promise<Count>;
}

export interface KeyLeasesOptions {
  /** A lease is this share of the window's points (1/20: a key of fewer than 40 points is counted exactly). */
  fraction?: number;
  /** Most points in one lease, so that what an instance holds unused at the window's end stays small. Default 50. */
  maxLease?: number;
  now?: () => number;
}

interface Lease {
  /** Points this instance took and has not spent. */
  points: number;
  /** What app-limits had left in the window when it granted the lease (other instances spend from it too). */
  remainingAtGrant: number;
  /** The window's end: unspent points belong to that window and are dropped with it. */
  expiresAt: number;
}

/**
 * Leases of a key's rate-limit points for one API instance: instead of a round trip to app-limits per request, the
 * instance takes a slice of the window's points at once (up to `fraction` of them, at most `maxLease`) and spends it
 * locally until it is gone or the window ends. app-limits counts a lease in full when it grants it, so across all
 * instances a key never gets more than its limit; what an instance holds unused when the window ends (at most one
 * lease each) goes unspent. A key whose lease would be under two points is counted by a round trip per request.
 */
export class KeyLeases {
  private readonly leases = new Map<string, Lease>();
  private readonly fraction: number;
  private readonly maxLease: number;
  private readonly now: () => number;

  constructor(private readonly source: LeaseSource, options: KeyLeasesOptions = {}) {
    this.fraction = options.fraction ?? 1 / 20;
    this.maxLease = options.maxLease ?? 50;
    this.now = options.now ?? Date.now;
  }

  /** Leases held now (one per key and limit in use). */
  get size(): number {
    return this.leases.size;
  }

  consume(spec: LimitSpec, key: string, cost: number): Promise<Count> {
    const id = `${limiterName(spec)}\u0000${key}`;
    const now = this.now();
    const held = this.leases.get(id);
    if (held && held.expiresAt <= now) this.leases.delete(id);
    else if (held && held.points >= cost) {
      held.points -= cost;
      return Promise.resolve({ allowed: true, remaining: held.remainingAtGrant + held.points, resetMs: held.expiresAt - now });
    }
    const extra = Math.min(this.maxLease, Math.floor(spec.points * this.fraction));
    if (extra < 2) return this.source.consume(spec, key, cost);
    return this.source.consume(spec, key, cost, cost + extra).then((count) => this.granted(id, spec, cost, count));
  }

  /** Keeps what a grant gave beyond `cost`; grants that cross in flight add up within one window. */
  private granted(id: string, spec: LimitSpec, cost: number, count: Count): Count {
    const kept = count.allowed ? Math.max(0, (count.granted ?? cost) - cost) : 0;
    const now = this.now();
    const expiresAt = now + count.resetMs;
    const held = this.leases.get(id);
    // The same window if the two ends agree to within the time a reply takes (and well within one window).
    const sameWindow = held !== undefined && held.expiresAt > now && Math.abs(held.expiresAt - expiresAt) < Math.min(50, spec.duration * 500);
    if (sameWindow) {
      held.points += kept;
      held.remainingAtGrant = Math.min(held.remainingAtGrant, count.remaining);
    } else if (kept > 0) {
      this.leases.set(id, { points: kept, remainingAtGrant: count.remaining, expiresAt });
    } else if (held) {
      this.leases.delete(id);
    }
    const lease = this.leases.get(id);
    return count.allowed ? { allowed: true, remaining: count.remaining + (lease?.points ?? 0), resetMs: count.resetMs } : { allowed: false, remaining: 0, resetMs: count.resetMs };
  }
}
