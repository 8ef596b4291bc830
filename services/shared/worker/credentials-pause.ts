import { backoffDelayMs } from '../messaging/backoff';

export interface CredentialsPauseOptions {
  /** First pause after the provider refused our credentials; doubles (with jitter) up to `maxMs`. */
  minMs: number;
  maxMs: number;
  /** Called once per pause, with its length: stop consuming for that long. */
  onPause: (ms: number, consecutive: number) => void;
  /** Called on the first success after a credentials failure. */
  onRecovered: () => void;
}

/**
 * A provider that refuses our credentials (Twilio 401/20003, SMTP 530/535/EAUTH, webhook 401/403) refuses every
 * message: the configuration is wrong, not the message. The first such failure pauses the worker's consumption
 * for a backoff step; when it resumes, the next delivery is the probe: another refusal pauses it for longer, a
 * success ends the streak. Items handled while paused are not handed to the provider at all.
 */
export class CredentialsPause {
  private pausedUntil = 0;
  private consecutive = 0;
  private failing = false;

  constructor(private readonly options: CredentialsPauseOptions) {}

  /** True during a pause: do not call the provider. */
  get paused(): boolean {
    return Date.now() < this.pausedUntil;
  }

  /** True from a credentials failure until the next success (the metric and alert follow this). */
  get rejected(): boolean {
    return this.failing;
  }

  /** A credentials failure: starts a pause unless one is running. */
  rejectedNow(): void {
    this.failing = true;
    if (this.paused) return;
    const ms = backoffDelayMs(this.consecutive, this.options.minMs, this.options.maxMs);
    this.consecutive += 1;
    this.pausedUntil = Date.now() + ms;
    this.options.onPause(ms, this.consecutive);
  }

  /** The provider accepted a message: the credentials work (again). */
  succeeded(): void {
    if (!this.failing && this.consecutive === 0) return;
    this.failing = false;
    this.consecutive = 0;
    this.options.onRecovered();
  }
}
