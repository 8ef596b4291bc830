import type { Channel } from './message-store';

export type FaultDecision = 'accept' | 'transient' | 'permanent';

/**
 * The providers the sandbox plays at once, so failover can be shown and tested: two Twilio accounts (by account
 * SID), two SMTP logins on one server (unauthenticated sessions are the primary), two webhook paths.
 */
export const PERSONALITIES = ['twilio-primary', 'twilio-backup', 'smtp-primary', 'smtp-backup', 'webhook-primary', 'webhook-backup'] as const;
export type Personality = (typeof PERSONALITIES)[number];
export type PersonalityState = 'up' | 'down';

export interface FaultSettings {
  transientRate?: number;
  permanentRate?: number;
  delayMs?: number;
  /**
   * Refuse our credentials on every channel, as a provider does after a key rotation: Twilio 401 / code 20003,
   * SMTP 530 at MAIL FROM, webhook 401. Workers must pause instead of dead-lettering the traffic.
   */
  rejectCredentials?: boolean;
}

/**
 * Decides whether the sandbox fails a delivery on purpose, so retries and dead letters can be shown and tested:
 * - magic recipients (docs/architecture.md): `fail-permanent`, `fail-transient` (every time) and `flaky` (fails
 *   the first attempt of each message, then accepts);
 * - random rates and an answer delay set at run time with `PUT /faults` (used by `make chaos` and the drain tests).
 */
export class FaultInjector {
  private transientRate = 0;
  private permanentRate = 0;
  private delay = 0;
  private rejectingCredentials = false;
  private readonly flakySeen = new Set<string>();
  private readonly downPersonalities = new Set<Personality>();

  constructor(private readonly random: () => number = Math.random) {}

  /** Random failure rates (0..1) and a delay before every answer, to keep messages in flight on purpose. */
  configure(settings: FaultSettings): Required<FaultSettings> {
    this.transientRate = clampRate(settings.transientRate ?? this.transientRate);
    this.permanentRate = clampRate(settings.permanentRate ?? this.permanentRate);
    this.delay = Math.max(0, Math.min(60_000, settings.delayMs ?? this.delay));
    this.rejectingCredentials = settings.rejectCredentials ?? this.rejectingCredentials;
    return this.current();
  }

  /** The settings in force (`GET /faults`, the inbox page). */
  current(): Required<FaultSettings> {
    return { transientRate: this.transientRate, permanentRate: this.permanentRate, delayMs: this.delay, rejectCredentials: this.rejectingCredentials };
  }

  /**
   * Takes one personality down (every request answered as an outage: Twilio 503 / 20503, SMTP 421, webhook 503, all
   * transient) or brings it back; the others keep working (`POST /faults/providers/{name}`).
   */
  setPersonality(name: Personality, state: PersonalityState): void {
    if (state === 'down') this.downPersonalities.add(name);
    else this.downPersonalities.delete(name);
  }

  isDown(name: Personality): boolean {
    return this.downPersonalities.has(name);
  }

  /** Every personality's state (`GET /faults/providers`, the inbox page). */
  personalities(): Record<Personality, PersonalityState> {
    return Object.fromEntries(PERSONALITIES.map((name) => [name, this.downPersonalities.has(name) ? 'down' : 'up'])) as Record<Personality, PersonalityState>;
  }

  /** True while the sandbox refuses every client's credentials (`PUT /faults {"rejectCredentials": true}`). */
  get rejectCredentials(): boolean {
    return this.rejectingCredentials;
  }

  /** Resolves after the configured answer delay (immediately when none). */
  pause(): Promise<void> {
    return this.delay > 0 ? new Promise((resolve) => setTimeout(resolve, this.delay)) : Promise.resolve();
  }

  /** `key` identifies one message across attempts (its envelope id, or the content when none is sent). */
  decide(channel: Channel, recipient: string, key: string): FaultDecision {
    const magic = magicBehaviour(channel, recipient);
    if (magic === 'permanent' || magic === 'transient') return magic;
    if (magic === 'flaky') {
      const seenKey = `${channel}:${key}`;
      if (this.flakySeen.has(seenKey)) return 'accept';
      this.flakySeen.add(seenKey);
      return 'transient';
    }
    const roll = this.random();
    if (roll < this.permanentRate) return 'permanent';
    if (roll < this.permanentRate + this.transientRate) return 'transient';
    return 'accept';
  }
}

function clampRate(rate: number): number {
  return Number.isFinite(rate) ? Math.min(1, Math.max(0, rate)) : 0;
}

const SMS_MAGIC: Record<string, 'permanent' | 'transient' | 'flaky'> = {
  '+15005550001': 'permanent',
  '+15005550002': 'transient',
  '+15005550003': 'flaky',
};

function magicBehaviour(channel: Channel, recipient: string): 'permanent' | 'transient' | 'flaky' | undefined {
  if (channel === 'sms') return SMS_MAGIC[recipient];
  const local = channel === 'email' ? recipient.toLowerCase().replace(/@sandbox\.test$/, '') : recipient;
  if (channel === 'email' && !recipient.toLowerCase().endsWith('@sandbox.test')) return undefined;
  if (local === 'fail-permanent') return 'permanent';
  if (local === 'fail-transient') return 'transient';
  if (local === 'flaky') return 'flaky';
  return undefined;
}
