import type * as amqp from 'amqplib';
import { Counter, type Registry } from 'prom-client';
import { KeyStore } from '../app/auth/key-store';
import type { Logger } from '../shared/logger/logger';
import type { BrokerConnection } from '../shared/messaging/connection';
import { QueueConsumer, type HandlerOutcome } from '../shared/messaging/consumer';
import { ConfirmPublisher } from '../shared/messaging/publisher';
import { HEADERS } from '../shared/messaging/topology';
import { STATUS_WEBHOOKS_QUEUE, statusChangeSchema, type StatusChange } from '../shared/status/status-event';
import type { DispatcherConfig } from './dispatcher-config';
import { sendStatusWebhook } from './send-status-webhook';
import { DEAD_ROUTING_KEY, STATUS_WEBHOOK_RETRY_EXCHANGE } from './topology';

export type DispatchOutcome = 'delivered' | 'retried' | 'dead' | 'no_webhook';

export interface StatusWebhookDispatcher {
  /** Subscribed to the queue and able to publish retries. */
  ready(): boolean;
  /** Stops consuming, lets webhooks in flight finish (up to `timeoutMs`), closes its channels and the key watch. */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * Sends the client status webhooks: consumes STATUS_WEBHOOKS_QUEUE (StatusChange messages), finds the webhook of
 * the change's API key by name in the key file, and POSTs the change signed with Standard Webhooks. A transient
 * failure goes to a delay queue of the next tier (through the broker: nothing waits in memory) and comes back to
 * the input queue when its TTL expires; a permanent failure, a change that is not one, or the last failed attempt
 * goes to the dead-letter queue with its reason. A delivery is acked only once that republish is confirmed.
 * The queue is the dispatcher's own, so a slow receiver never holds up message delivery.
 */
export function startStatusWebhookDispatcher(connection: BrokerConnection, config: DispatcherConfig, logger: Logger, registry?: Registry): StatusWebhookDispatcher {
  const keys = new KeyStore(config.API_KEYS_FILE, logger);
  keys.start();
  const dispatched = new Counter({
    name: 'status_webhooks_total',
    help: 'Status changes handled by the webhook dispatcher: delivered (2xx), retried (delay queue), dead (dead-letter queue), no_webhook (the key has none)',
    labelNames: ['outcome'] as const,
    registers: registry ? [registry] : [],
  });
  const publisher = new ConfirmPublisher(connection, logger);

  /** Republishes the change as it came (same content, id, headers plus `extra`) to the retry exchange. */
  const forward = async (message: amqp.ConsumeMessage, routingKey: string, extra: Record<string, unknown>): Promise<HandlerOutcome> => {
    try {
      await publisher.publish(STATUS_WEBHOOK_RETRY_EXCHANGE, routingKey, message.content, {
        persistent: true,
        contentType: message.properties.contentType as string | undefined,
        messageId: message.properties.messageId as string | undefined,
        headers: { ...(message.properties.headers ?? {}), ...extra },
      });
      return 'ack';
    } catch (error) {
      logger.warn({ err: error, routingKey }, 'status webhook: could not hand the change to the retry exchange; requeueing');
      return 'requeue';
    }
  };

  const deadLetter = async (message: amqp.ConsumeMessage, reason: string, lastError: string): Promise<HandlerOutcome> => {
    const outcome = await forward(message, DEAD_ROUTING_KEY, { [HEADERS.deadReason]: reason, [HEADERS.lastError]: lastError });
    if (outcome === 'ack') dispatched.inc({ outcome: 'dead' });
    return outcome;
  };

  const handler = async (message: amqp.ConsumeMessage): Promise<HandlerOutcome> => {
    let change: StatusChange;
    try {
      change = statusChangeSchema.parse(JSON.parse(message.content.toString('utf8')));
    } catch (error) {
      logger.error({ err: error, messageId: message.properties.messageId }, 'status webhook: not a status change; dead-lettering');
      return deadLetter(message, 'poison', 'not a valid status change');
    }
    const webhook = keys.named(change.keyName)?.statusWebhook;
    if (!webhook) {
      dispatched.inc({ outcome: 'no_webhook' });
      return 'ack';
    }
    const previousAttempts = Number(message.properties.headers?.[HEADERS.attempt] ?? 0);
    const attempt = (Number.isSafeInteger(previousAttempts) && previousAttempts > 0 ? previousAttempts : 0) + 1;
    const result = await sendStatusWebhook(webhook, change, config.STATUS_WEBHOOK_TIMEOUT_MS);
    if (result.ok) {
      dispatched.inc({ outcome: 'delivered' });
      return 'ack';
    }
    const context = { changeId: change.changeId, keyName: change.keyName, attempt, reason: result.reason };
    if (result.kind === 'permanent') {
      logger.warn(context, 'status webhook refused for good; dead-lettering');
      return deadLetter(message, 'permanent', result.reason);
    }
    const tier = config.STATUS_WEBHOOK_RETRY_DELAYS[attempt - 1];
    if (!tier) {
      logger.warn(context, 'status webhook failed on its last attempt; dead-lettering');
      return deadLetter(message, 'attempts_exhausted', result.reason);
    }
    logger.info({ ...context, retryIn: tier }, 'status webhook failed; retrying later');
    const outcome = await forward(message, tier, { [HEADERS.attempt]: attempt, [HEADERS.lastError]: result.reason });
    if (outcome === 'ack') dispatched.inc({ outcome: 'retried' });
    return outcome;
  };

  const consumer = new QueueConsumer(connection, logger, { queue: STATUS_WEBHOOKS_QUEUE, prefetch: config.STATUS_WEBHOOK_CONCURRENCY, handler });
  return {
    ready: () => consumer.consuming && publisher.ready,
    async stop(timeoutMs) {
      await consumer.stop(timeoutMs);
      await publisher.close();
      keys.stop();
    },
  };
}
