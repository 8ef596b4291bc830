import { createEnvelope, type EnvelopeOf } from '../shared/envelope/envelope';
import { BrokerUnavailableError } from '../shared/messaging/errors';
import type { MessageType } from '../shared/messaging/topology';
import type { AppMetrics } from './app-metrics';
import type { GroupCommitPublisher } from './group-commit';

const UNAVAILABLE = new Set(['disconnected', 'blocked', 'buffer_full']);

/**
 * The API's one use case: wrap a validated request in an envelope and make it durable. Resolves with the id only
 * after the broker confirmed the persistent message holding it; rejects with BrokerUnavailableError otherwise.
 */
export class MessageIntake {
  constructor(private readonly publisher: GroupCommitPublisher, private readonly metrics: AppMetrics) {}

  async accept<T extends MessageType>(type: T, payload: EnvelopeOf<T>['payload'], requestId: string): Promise<string> {
    const envelope = createEnvelope(type, payload, requestId);
    try {
      await this.publisher.publish(envelope);
    } catch (error) {
      const outcome = error instanceof BrokerUnavailableError && UNAVAILABLE.has(error.reason) ? 'unavailable' : 'rejected';
      this.metrics.published.inc({ type, outcome });
      throw error;
    }
    this.metrics.published.inc({ type, outcome: 'confirmed' });
    return envelope.id;
  }
}
