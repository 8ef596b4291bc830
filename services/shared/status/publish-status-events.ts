import type { ConfirmPublisher } from '../messaging/publisher';
import { STATUS_EVENT_CONTENT_TYPE, STATUS_EXCHANGE, statusEventSchema, statusRoutingKey, type StatusEvent } from './status-event';

/**
 * Publishes status events to STATUS_EXCHANGE, one persistent AMQP message each, and resolves only when the broker
 * confirmed every one (rejects with BrokerUnavailableError otherwise). The provider-callback route needs exactly
 * that: it may tell Twilio "done" (204) only once the event is durable, so that Twilio retries otherwise. Progress
 * that need not wait for the broker goes through BrokerStatusReporter instead (batched, fire and forget).
 */
export async function publishStatusEvents(publisher: ConfirmPublisher, events: readonly StatusEvent[]): Promise<void> {
  // All validated before any is published: an invalid event never leaves half a batch behind.
  const valid = events.map((event) => statusEventSchema.parse(event));
  await Promise.all(
    valid.map((event) =>
      publisher.publish(STATUS_EXCHANGE, statusRoutingKey(event), Buffer.from(JSON.stringify(event)), {
        persistent: true,
        contentType: STATUS_EVENT_CONTENT_TYPE,
        messageId: event.eventId,
      }),
    ),
  );
}

/** Hands events to the broker and resolves once they are durable. */
export type StatusEventSink = (events: readonly StatusEvent[]) => Promise<void>;

