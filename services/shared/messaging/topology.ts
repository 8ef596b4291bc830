/**
 * Names of the objects declared in rabbitmq/definitions.json. Clients only check that these exist; the broker
 * owns the topology.
 */
export const MESSAGE_TYPES = ['sms', 'email', 'notif'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const VHOST = 'relay';
/** Topic exchange the app publishes to, routing key = message type. */
export const MESSAGES_EXCHANGE = 'relay.messages';
/** Headers exchange routing a failed message to the delay queue named by its `retry-delay` header. */
export const RETRY_EXCHANGE = 'relay.retry';
/** Direct exchange for dead letters, routing key = message type. */
export const DEAD_LETTER_EXCHANGE = 'relay.dead';

/**
 * Topic exchange on which the replicas of a worker share their providers' circuit states (failover/circuit-bus.ts);
 * routing key `<type>.state` or `<type>.sync`. Each replica reads it through an exclusive server-named queue.
 */
export const CIRCUITS_EXCHANGE = 'relay.circuits';

/** Delay tiers that exist as queues (TTL set by policy); RETRY_DELAYS may only name these. */
export const RETRY_TIERS = { '1s': 1000, '5s': 5000, '30s': 30_000, '2m': 120_000 } as const;
export type RetryTier = keyof typeof RETRY_TIERS;

export const workQueue = (type: MessageType): string => `relay.${type}`;
export const deadLetterQueue = (type: MessageType): string => `relay.${type}.dead`;
export const retryQueue = (tier: RetryTier): string => `relay.retry.${tier}`;

/** Header names that travel with a message through retries and dead letters. */
export const HEADERS = {
  requestId: 'x-request-id',
  /** Attempts already made (absent on a fresh message). */
  attempt: 'x-attempt',
  lastError: 'x-last-error',
  deadReason: 'x-dead-reason',
  retryDelay: 'retry-delay',
} as const;

export type DeadReason = 'permanent' | 'attempts_exhausted' | 'poison';
