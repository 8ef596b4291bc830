import { z } from 'zod';
import { MESSAGE_TYPES } from '../messaging/topology';

/**
 * The delivery-status contract shared by everything that reports a message's progress (the app, the workers, the
 * provider-callback receiver) and the status service that records it. Events travel through the broker, never
 * through a direct call: a status store that is down must not slow or stop delivery.
 *
 * Statuses as the API shows them (docs/contract.md): queued → retrying* → sent → delivered | failed.
 */
export const MESSAGE_STATUSES = ['queued', 'retrying', 'sent', 'delivered', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/**
 * Events arrive at least once and in any order (several workers, retries through delay queues, provider callbacks
 * that overtake the worker's own `sent`). A message's status is the event of highest rank; events of equal rank keep
 * the later `at`. `delivered` and `failed` are both final and share a rank so that a provider's later
 * `undelivered` can still turn a `delivered` webhook guess into `failed` only if it is newer.
 */
export const STATUS_RANK: Readonly<Record<MessageStatus, number>> = { queued: 0, retrying: 1, sent: 2, delivered: 3, failed: 3 };

/** Topic exchange for status events, routing key = `<channel>.<status>` (so a consumer may bind to a subset). */
export const STATUS_EXCHANGE = 'relay.status';
/** Quorum queue bound to STATUS_EXCHANGE with `#`: the status service's input. */
export const STATUS_QUEUE = 'relay.status';
/** Topic exchange for recorded status changes (published by the status service after a write changed a status). */
export const STATUS_CHANGES_EXCHANGE = 'relay.status.changes';
/** Quorum queue bound to STATUS_CHANGES_EXCHANGE: the client status-webhook dispatcher's input. */
export const STATUS_WEBHOOKS_QUEUE = 'relay.status.webhooks';

/** Content type of one status event per AMQP message, and of a batch of them (a JSON array), like group commit. */
export const STATUS_EVENT_CONTENT_TYPE = 'application/vnd.relay.status+json';
export const STATUS_BATCH_CONTENT_TYPE = 'application/vnd.relay.status-batch+json';

export const statusEventSchema = z.object({
  /**
   * Deterministic for the stage it reports (e.g. `<messageId>:sent:<attempt>`, `<messageId>:twilio:<CallbackSid or
   * MessageStatus>`), so that a redelivered or duplicated event is recognised and changes nothing.
   */
  eventId: z.string().min(1).max(300),
  messageId: z.string().min(1).max(128),
  channel: z.enum(MESSAGE_TYPES),
  status: z.enum(MESSAGE_STATUSES),
  /** When the stage happened (ISO-8601), not when the event was published. */
  at: z.iso.datetime(),
  /** The attempt this event belongs to (1-based), where a worker reports it. */
  attempt: z.number().int().positive().optional(),
  /** Short, personal-data-free reason or note: provider error code, dead-letter reason, callback status. */
  detail: z.string().max(500).optional(),
  /** The configured name of the provider that took the message (SendReceipt.provider). */
  provider: z.string().max(64).optional(),
  /** The provider's own id (Twilio SID): provider callbacks are matched to our message by it. */
  providerMessageId: z.string().max(300).optional(),
  /**
   * Who sent the message: set by the app on `queued`; the status API is scoped by it. `statusWebhook`: the key had a
   * status webhook when it sent the message, so its changes go to relay.status.changes for the dispatcher; the
   * changes of every other message stay in the database (most keys have none, and the stream cost the broker and
   * the database two to three persistent messages per message for nobody; docs/performance.md).
   */
  owner: z.object({ keyName: z.string().min(1).max(64), statusWebhook: z.boolean().optional() }).optional(),
});
export type StatusEvent = z.infer<typeof statusEventSchema>;

/** Where reporters hand events; implementations batch and publish them without blocking the caller. */
export interface StatusReporter {
  report(event: StatusEvent): void;
  close(): Promise<void>;
}

/** `channel.status` routing key for an event on STATUS_EXCHANGE. */
export const statusRoutingKey = (event: Pick<StatusEvent, 'channel' | 'status'>): string => `${event.channel}.${event.status}`;

/**
 * A status change the status service recorded (published on STATUS_CHANGES_EXCHANGE, routing key `<channel>.<status>`,
 * after the write committed): what the client's status webhook receives, and who it is for. The webhook URL and
 * secret are not in it: the dispatcher looks them up by `keyName` when it sends.
 */
export const statusChangeSchema = z.object({
  /** Unique per change (`<messageId>:<status>:<at>` or the event id that caused it): the webhook's `webhook-id`. */
  changeId: z.string().min(1).max(400),
  messageId: z.string().min(1).max(128),
  channel: z.enum(MESSAGE_TYPES),
  keyName: z.string().min(1).max(64),
  status: z.enum(MESSAGE_STATUSES),
  previousStatus: z.enum(MESSAGE_STATUSES).optional(),
  at: z.iso.datetime(),
  detail: z.string().max(500).optional(),
  provider: z.string().max(64).optional(),
});
export type StatusChange = z.infer<typeof statusChangeSchema>;
