import type * as amqp from 'amqplib';
import { decodeEnvelope, PoisonMessageError, type EnvelopeOf } from '../envelope/envelope';
import type { Logger } from '../logger/logger';
import type { HandlerOutcome } from '../messaging/consumer';
import type { ConfirmPublisher } from '../messaging/publisher';
import { DEAD_LETTER_EXCHANGE, HEADERS, RETRY_EXCHANGE, type DeadReason, type MessageType, type RetryTier } from '../messaging/topology';
import type { Provider } from './provider';
import type { WorkerMetrics } from './worker-metrics';

export interface DeliveryHandlerDeps<T extends MessageType> {
  provider: Provider<T>;
  publisher: ConfirmPublisher;
  metrics: WorkerMetrics;
  logger: Logger;
  retryDelays: readonly RetryTier[];
}

/** Headers the broker adds on dead-lettering; they are not carried into the copies we publish. */
const BROKER_HEADERS = /^x-(death|first-death-|last-death-|delivery-count)/;

/**
 * Decides the fate of one delivery: hand it to the provider and ack on success; on failure publish a copy to a
 * delay queue (transient, attempts left) or to the dead-letter queue (permanent, exhausted, poison), wait for the
 * broker's confirm, and only then ack the original. If that publish fails the original is requeued, so a message
 * is never acked before it is either delivered or durable somewhere else.
 */
export function createDeliveryHandler<T extends MessageType>(deps: DeliveryHandlerDeps<T>) {
  const { provider, publisher, metrics, logger, retryDelays } = deps;
  const type = provider.type;
  const maxAttempts = retryDelays.length + 1;

  const republish = async (message: amqp.ConsumeMessage, exchange: string, headers: Record<string, unknown>): Promise<HandlerOutcome> => {
    const kept = Object.fromEntries(Object.entries(message.properties.headers ?? {}).filter(([key]) => !BROKER_HEADERS.test(key)));
    try {
      await publisher.publish(exchange, type, message.content, {
        persistent: true,
        messageId: message.properties.messageId,
        timestamp: message.properties.timestamp,
        contentType: message.properties.contentType,
        headers: { ...kept, ...headers },
      });
      return 'ack';
    } catch (error) {
      logger.warn({ err: error, messageId: message.properties.messageId, exchange }, 'republish failed; requeueing the original');
      return 'requeue';
    }
  };

  const deadLetter = async (message: amqp.ConsumeMessage, reason: DeadReason, attempts: number, lastError: string): Promise<HandlerOutcome> => {
    const outcome = await republish(message, DEAD_LETTER_EXCHANGE, {
      [HEADERS.deadReason]: reason,
      [HEADERS.attempt]: attempts,
      [HEADERS.lastError]: lastError,
    });
    if (outcome === 'ack') {
      metrics.processed.inc({ type, outcome: 'dead_lettered' });
      logger.warn({ messageId: message.properties.messageId, reason, attempts, lastError }, 'message dead-lettered');
    }
    return outcome;
  };

  return async function handleDelivery(message: amqp.ConsumeMessage): Promise<HandlerOutcome> {
    const headers = message.properties.headers ?? {};
    const attemptsBefore = Number(headers[HEADERS.attempt] ?? 0) || 0;
    const requestId = typeof headers[HEADERS.requestId] === 'string' ? (headers[HEADERS.requestId] as string) : undefined;
    const timer = metrics.processingDuration.startTimer({ type });
    metrics.inFlight.inc({ type });
    try {
      let envelope: EnvelopeOf<T>;
      try {
        const decoded = decodeEnvelope(message.content);
        if (decoded.type !== type) throw new PoisonMessageError(`envelope of type "${decoded.type}" on the ${type} queue`);
        envelope = decoded as EnvelopeOf<T>;
      } catch (error) {
        if (!(error instanceof PoisonMessageError)) throw error;
        return await deadLetter(message, 'poison', attemptsBefore, error.message);
      }

      const attempt = attemptsBefore + 1;
      const log = logger.child({ messageId: envelope.id, requestId, attempt });
      try {
        await provider.send(envelope, { requestId, attempt });
      } catch (error) {
        const failure = provider.classify(error);
        metrics.providerErrors.inc({ type, kind: failure.kind });
        if (failure.kind === 'permanent') return await deadLetter(message, 'permanent', attempt, failure.reason);
        if (attempt >= maxAttempts) return await deadLetter(message, 'attempts_exhausted', attempt, failure.reason);
        const delay = retryDelays[attempt - 1] as RetryTier;
        const outcome = await republish(message, RETRY_EXCHANGE, {
          [HEADERS.attempt]: attempt,
          [HEADERS.lastError]: failure.reason,
          [HEADERS.retryDelay]: delay,
        });
        if (outcome === 'ack') {
          metrics.processed.inc({ type, outcome: 'retried' });
          log.info({ reason: failure.reason, delay }, 'transient failure; retry scheduled');
        }
        return outcome;
      }
      metrics.processed.inc({ type, outcome: 'delivered' });
      const acceptedAt = Date.parse(envelope.acceptedAt);
      if (Number.isFinite(acceptedAt)) metrics.endToEnd.observe({ type }, Math.max(0, Date.now() - acceptedAt) / 1000);
      log.debug('delivered');
      return 'ack';
    } finally {
      metrics.inFlight.dec({ type });
      timer();
    }
  };
}
