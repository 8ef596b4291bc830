/**
 * The status-webhook dispatcher's own retry and dead-letter objects (rabbitmq/definitions.json). A direct exchange
 * routes by key: `<tier>` to the delay queue of that tier (TTL by policy), `due` back to the input queue (where the
 * delay queues dead-letter expired messages), `dead` to the dead-letter queue. Retries never share the message
 * workers' `relay.retry` tiers, whose expired messages go back to `relay.messages`.
 */
export const STATUS_WEBHOOK_RETRY_EXCHANGE = 'relay.status.webhooks.retry';
export const STATUS_WEBHOOK_DEAD_QUEUE = 'relay.status.webhooks.dead';
export const DUE_ROUTING_KEY = 'due';
export const DEAD_ROUTING_KEY = 'dead';

export const STATUS_WEBHOOK_TIERS = { '1s': 1000, '10s': 10_000, '1m': 60_000, '10m': 600_000, '1h': 3_600_000 } as const;
export type StatusWebhookTier = keyof typeof STATUS_WEBHOOK_TIERS;
export const statusWebhookRetryQueue = (tier: StatusWebhookTier): string => `relay.status.webhooks.retry.${tier}`;
