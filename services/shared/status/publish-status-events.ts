import type { ConfirmPublisher } from '../messaging/publisher';
import { STATUS_EVENT_CONTENT_TYPE, STATUS_EXCHANGE, statusEventSchema, statusRoutingKey, type StatusEvent, type StatusReporter } from './status-event';

/**
 * Publishes status events to STATUS_EXCHANGE, one persistent AMQP message each, and resolves only when the broker
 * confirmed every one (rejects with BrokerUnavailableError otherwise). The provider-callback route needs exactly
 * that: it may tell Twilio "done" (204) only once the event is durable, so that Twilio retries otherwise.
 *
 * A stand-in until the status service's batching reporter is merged: the lead may swap it for that reporter's
 * confirmed-publish path; the callback route only depends on the `StatusEventSink` shape.
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

/**
 * The same publish behind the fire-and-forget StatusReporter interface (a failed publish is logged by `onError`,
 * never thrown at the reporter's caller), for code that reports progress without waiting for it.
 */
export class ConfirmingStatusReporter implements StatusReporter {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly publisher: ConfirmPublisher, private readonly onError: (error: unknown, event: StatusEvent) => void) {}

  report(event: StatusEvent): void {
    const publish = publishStatusEvents(this.publisher, [event]).catch((error: unknown) => this.onError(error, event));
    this.pending.add(publish);
    void publish.finally(() => this.pending.delete(publish));
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
