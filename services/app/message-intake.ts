import { createEnvelope, type EnvelopeOf } from '../shared/envelope/envelope';
import { BrokerUnavailableError } from '../shared/messaging/errors';
import type { MessageType } from '../shared/messaging/topology';
import type { StatusReporter } from '../shared/status/status-event';
import type { AppMetrics } from './app-metrics';
import type { GroupCommitPublisher } from './group-commit';
import { ANONYMOUS_CLIENT, idempotentMessageId } from './idempotency';

export interface AcceptOptions {
  /** The caller's Idempotency-Key header, already validated. */
  idempotencyKey?: string;
  /** Who is calling (the API key's id once auth exists); scopes idempotency keys. Default "anonymous". */
  clientId?: string;
  /** The API key's name: the owner the status API scopes this message to. */
  ownerName?: string;
  /** The key has a status webhook: the message's status changes are sent to it. */
  statusWebhook?: boolean;
}

const UNAVAILABLE = new Set(['disconnected', 'blocked', 'buffer_full']);

/**
 * The API's one use case: wrap a validated request in an envelope and make it durable. Resolves with the id only
 * after the broker confirmed the persistent message holding it; rejects with BrokerUnavailableError otherwise.
 * The same idempotency key from the same client always yields the same id (see idempotency.ts).
 */
export class MessageIntake {
  constructor(private readonly publisher: GroupCommitPublisher, private readonly metrics: AppMetrics, private readonly status?: StatusReporter) {}

  async accept<T extends MessageType>(type: T, payload: EnvelopeOf<T>['payload'], requestId: string, options: AcceptOptions = {}): Promise<string> {
    // With an idempotency key the id is derived, so a retry (any instance, any time) carries the same id; the
    // message is published again, and workers and receivers drop the copy by id.
    const id = options.idempotencyKey === undefined ? undefined : idempotentMessageId(options.clientId ?? ANONYMOUS_CLIENT, options.idempotencyKey);
    const envelope = createEnvelope(type, payload, requestId, new Date(), id);
    try {
      await this.publisher.publish(envelope);
    } catch (error) {
      const outcome = error instanceof BrokerUnavailableError && UNAVAILABLE.has(error.reason) ? 'unavailable' : 'rejected';
      this.metrics.published.inc({ type, outcome });
      throw error;
    }
    this.metrics.published.inc({ type, outcome: 'confirmed' });
    // After the confirm, never before: `queued` means durable. report() only buffers; the answer does not wait.
    this.status?.report({
      eventId: `${envelope.id}:queued`,
      messageId: envelope.id,
      channel: type,
      status: 'queued',
      at: envelope.acceptedAt,
      ...(options.ownerName === undefined ? {} : { owner: { keyName: options.ownerName, ...(options.statusWebhook ? { statusWebhook: true } : {}) } }),
    });
    return envelope.id;
  }
}
