import type { EnvelopeOf } from '../envelope/envelope';
import type { MessageType } from '../messaging/topology';
import type { FailureClass, Provider, SendContext, SendReceipt } from '../worker/provider';
import { CredentialsPause } from '../worker/credentials-pause';
import type { CircuitBreaker } from './circuit-breaker';

/** One configured provider of a channel, in the failover order. */
export interface ProviderEntry<T extends MessageType> {
  /** The configured name (`twilio-primary`): receipts, metrics and circuit announcements carry it. */
  name: string;
  provider: Provider<T>;
  circuit: CircuitBreaker;
}

export type RequestOutcome = 'delivered' | FailureClass['kind'];

export interface FailoverOptions {
  /** Each provider's calls, by outcome (`provider_requests_total`). */
  onRequest?: (provider: string, outcome: RequestOutcome) => void;
  /** A provider refused our credentials and is skipped for `ms`; the next provider takes its traffic. */
  onCredentialsPause?: (provider: string, ms: number) => void;
  /** First and longest skip of a provider that refused our credentials (doubles in between). */
  credentialsPauseMinMs: number;
  credentialsPauseMaxMs: number;
}

/** What the failover provider throws: the failure already classified by the provider that produced it. */
export class FailoverError extends Error {
  constructor(readonly failure: FailureClass, options?: { cause?: unknown }) {
    super(failure.reason, options);
    this.name = 'FailoverError';
  }
}

/**
 * Several providers of one channel behind the one Provider interface: each message goes to the first provider
 * whose circuit lets it through; a transient failure or timeout counts against that provider's circuit and the
 * message moves on to the next provider at once, within the same attempt. A permanent refusal is about the
 * message (a bad number), not the provider: it ends the attempt there and never counts against a circuit. A
 * refusal of our credentials is about that provider's account: the message moves on, and that provider is skipped
 * for a growing pause (as the whole worker pauses when its only provider refuses us). Only when no provider took
 * the message does the attempt fail: transient (the delay queues retry it later) unless every provider refused our
 * credentials, which hands the worker's own credentials pause the decision, as with a single provider.
 */
export function createFailoverProvider<T extends MessageType>(type: T, entries: readonly ProviderEntry<T>[], options: FailoverOptions): Provider<T> {
  if (entries.length === 0) throw new Error(`no ${type} provider configured`);
  // With nowhere else to go, skipping the only provider would just burn attempts: the worker's own credentials
  // pause handles it, and its circuit (built with an unreachable threshold) only feeds the metrics.
  const alone = entries.length === 1;
  // With several providers, a failure's reason (x-last-error, logs) says which one; alone, it stays as it was.
  const tagged = (name: string, failure: FailureClass): FailureClass => (alone ? failure : { kind: failure.kind, reason: `${name}: ${failure.reason}` });
  const pauses = new Map(
    entries.map((entry) => [
      entry.name,
      new CredentialsPause({
        minMs: options.credentialsPauseMinMs,
        maxMs: options.credentialsPauseMaxMs,
        onPause: (ms) => options.onCredentialsPause?.(entry.name, ms),
        onRecovered: () => undefined,
      }),
    ]),
  );

  return {
    type,
    // The providers of one channel are of one kind (webhooks, Twilio accounts, SMTP relays): all or none of them
    // confirm delivery by accepting.
    acceptanceIsDelivery: entries.every(({ provider }) => provider.acceptanceIsDelivery === true),
    async send(envelope: EnvelopeOf<T>, context: SendContext): Promise<SendReceipt> {
      let transient: FailureClass | undefined;
      let credentials: FailureClass | undefined;
      let cause: unknown;
      for (const { name, provider, circuit } of entries) {
        const pause = pauses.get(name) as CredentialsPause;
        if (!alone && pause.paused) {
          credentials ??= { kind: 'credentials', reason: `${name} refused our credentials; skipped` };
          continue;
        }
        if (!circuit.tryAcquire()) {
          transient ??= { kind: 'transient', reason: `${name} circuit open` };
          continue;
        }
        let receipt: SendReceipt;
        try {
          receipt = await provider.send(envelope, context);
        } catch (error) {
          const failure = provider.classify(error);
          options.onRequest?.(name, failure.kind);
          cause = error;
          if (failure.kind === 'permanent') {
            circuit.succeeded();
            throw new FailoverError(tagged(name, failure), { cause: error });
          }
          if (failure.kind === 'credentials') {
            circuit.released();
            if (!alone) pause.rejectedNow();
            credentials = tagged(name, failure);
          } else {
            circuit.failed();
            transient = tagged(name, failure);
          }
          continue;
        }
        circuit.succeeded();
        pause.succeeded();
        options.onRequest?.(name, 'delivered');
        return { ...receipt, provider: name };
      }
      // Any provider that may take it later (circuit open, transient failure) makes it a retry, not a pause.
      throw new FailoverError(transient ?? credentials ?? { kind: 'transient', reason: 'no provider available' }, { cause });
    },
    classify(error: unknown): FailureClass {
      if (error instanceof FailoverError) return error.failure;
      return { kind: 'transient', reason: `unexpected ${type} failover error` };
    },
    async close() {
      await Promise.all(entries.map((entry) => entry.provider.close()));
    },
  };
}
