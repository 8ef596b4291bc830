export type CircuitState = 'closed' | 'half-open' | 'open';

/** Gauge values of `provider_circuit_state`. */
export const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

export interface CircuitOptions {
  /** Consecutive transient failures (timeouts included) that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit sends traffic elsewhere before one probe is let through (half-open). */
  openMs: number;
  now?: () => number;
}

/** A change of state; `remote` when another replica announced it (the shared state), not seen here. */
export interface CircuitTransition {
  state: CircuitState;
  remote: boolean;
  /** For `open`: how long until the first probe. */
  remainingMs?: number;
}

/**
 * One provider's circuit, in the shape of opossum's (closed / open / half-open), as a small state machine because
 * its state must also be driven from outside: another replica's announcement opens or closes it here
 * (`adoptOpen` / `adoptClosed`, see circuit-bus.ts). Only transient failures count; whatever answer proves the
 * provider is reachable (an acceptance, or a refusal of one message) closes it again.
 */
export class CircuitBreaker {
  private stateValue: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private openUntil = 0;
  private probeInFlight = false;
  private readonly now: () => number;
  private readonly listeners = new Set<(transition: CircuitTransition) => void>();

  constructor(private readonly options: CircuitOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The state now; an open circuit whose wait is over reads as half-open. */
  get state(): CircuitState {
    if (this.stateValue === 'open' && this.now() >= this.openUntil) this.move({ state: 'half-open', remote: false });
    return this.stateValue;
  }

  /** Milliseconds an open circuit still waits before its probe (0 otherwise). */
  get remainingMs(): number {
    return this.stateValue === 'open' ? Math.max(0, this.openUntil - this.now()) : 0;
  }

  onTransition(listener: (transition: CircuitTransition) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * May a call go to this provider now? Closed: yes. Open: no. Half-open: one probe at a time; the caller must
   * then report `succeeded`, `failed` or `released`.
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  /** The provider answered (accepted the message, or refused this one message): it is up. */
  succeeded(): void {
    this.probeInFlight = false;
    this.consecutiveFailures = 0;
    if (this.stateValue !== 'closed') this.move({ state: 'closed', remote: false });
  }

  /** A transient failure or timeout. */
  failed(): void {
    this.probeInFlight = false;
    this.consecutiveFailures += 1;
    if (this.stateValue === 'half-open' || (this.stateValue === 'closed' && this.consecutiveFailures >= this.options.failureThreshold)) {
      this.open(this.options.openMs, false);
    }
  }

  /** The call ended without telling anything about the provider's health (e.g. our credentials were refused). */
  released(): void {
    this.probeInFlight = false;
  }

  /** Another replica opened this circuit: open it here too, until the later of both deadlines. */
  adoptOpen(remainingMs: number): void {
    const until = this.now() + Math.max(0, remainingMs);
    if (this.stateValue === 'open' && until <= this.openUntil) return;
    if (this.stateValue === 'open') {
      this.openUntil = until;
      return;
    }
    this.open(remainingMs, true);
  }

  /** Another replica's probe succeeded. */
  adoptClosed(): void {
    this.consecutiveFailures = 0;
    if (this.stateValue !== 'closed') this.move({ state: 'closed', remote: true });
  }

  private open(ms: number, remote: boolean): void {
    this.openUntil = this.now() + ms;
    this.move({ state: 'open', remote, remainingMs: ms });
  }

  private move(transition: CircuitTransition): void {
    this.stateValue = transition.state;
    if (transition.state === 'closed') this.consecutiveFailures = 0;
    for (const listener of this.listeners) listener(transition);
  }
}
