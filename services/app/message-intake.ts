import { createEnvelope, encodeEnvelope, type EnvelopeOf } from '../shared/envelope/envelope';
import { BrokerUnavailableError } from '../shared/messaging/errors';
import type { ConfirmPublisher } from '../shared/messaging/publisher';
import { HEADERS, MESSAGES_EXCHANGE, type MessageType } from '../shared/messaging/topology';
import type { AppMetrics } from './app-metrics';

/**
 * The API's one use case: wrap a validated request in an envelope and make it durable. Resolves with the id only
 * after the broker confirmed the persistent message; rejects with BrokerUnavailableError otherwise.
 */
export class MessageIntake {
  constructor(private readonly publisher: ConfirmPublisher, private readonly metrics: AppMetrics) {}

  async accept<T extends MessageType>(type: T, payload: EnvelopeOf<T>['payload'], requestId: string): Promise<string> {
    const envelope = createEnvelope(type, payload);
    try {
      await this.publisher.publish(MESSAGES_EXCHANGE, type, encodeEnvelope(envelope), {
        persistent: true,
        messageId: envelope.id,
        timestamp: Math.floor(Date.parse(envelope.acceptedAt) / 1000),
        contentType: 'application/json',
        headers: { [HEADERS.requestId]: requestId },
      });
    } catch (error) {
      const outcome = error instanceof BrokerUnavailableError && ['disconnected', 'blocked', 'buffer_full'].includes(error.reason) ? 'unavailable' : 'rejected';
      this.metrics.published.inc({ type, outcome });
      throw error;
    }
    this.metrics.published.inc({ type, outcome: 'confirmed' });
    return envelope.id;
  }
}
