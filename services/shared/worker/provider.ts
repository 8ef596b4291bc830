import type { EnvelopeOf } from '../envelope/envelope';
import type { MessageType } from '../messaging/topology';

/**
 * How a provider failure should be treated: retried later through a delay queue, dead-lettered now, or, for
 * `credentials` (the provider refused our account: Twilio 401/20003, SMTP 530/535/EAUTH, webhook 401/403), a
 * configuration problem rather than a message problem: the worker pauses consumption and the message is retried
 * later without using up an attempt.
 */
export interface FailureClass {
  kind: 'transient' | 'permanent' | 'credentials';
  /** Short, log- and header-safe description: status, provider code, error code. No personal data. */
  reason: string;
}

export interface SendContext {
  requestId: string | undefined;
  attempt: number;
}

/**
 * What a provider answered when it accepted a message: which provider (by its configured name; one channel may
 * have several, tried in order) and the provider's own id for it (Twilio's message SID, the SMTP server's queue id),
 * which status events record so that the provider's later callbacks can be matched to our message.
 */
export interface SendReceipt {
  provider: string;
  providerMessageId?: string;
}

/** The outside world of one worker (Twilio, SMTP, a webhook) behind the smallest interface the runtime needs. */
export interface Provider<T extends MessageType> {
  readonly type: T;
  /**
   * True when the provider's acceptance is the delivery itself (a webhook receiver's 2xx): the worker then reports
   * `delivered` instead of `sent`, and no later confirmation is expected.
   */
  readonly acceptanceIsDelivery?: boolean;
  /** Resolves once the provider accepted the message; rejects with the provider's own error otherwise. */
  send(envelope: EnvelopeOf<T>, context: SendContext): Promise<SendReceipt>;
  /** The single place where this provider's errors are classified. */
  classify(error: unknown): FailureClass;
  close(): Promise<void>;
}
