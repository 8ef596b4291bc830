import type * as amqp from 'amqplib';
import { BATCH_CONTENT_TYPE, decodeDelivery, encodeEnvelope, PoisonMessageError, type EnvelopeOf } from '../envelope/envelope';
import type { Logger } from '../logger/logger';
import { backoffDelayMs } from '../messaging/backoff';
import type { DeliveryContext, HandlerOutcome } from '../messaging/consumer';
import type { ConfirmPublisher } from '../messaging/publisher';
import type { StatusEvent, StatusReporter } from '../status/status-event';
import { DEAD_LETTER_EXCHANGE, HEADERS, RETRY_EXCHANGE, type DeadReason, type MessageType, type RetryTier } from '../messaging/topology';
import { concurrencyLimit } from './concurrency-limit';
import type { CredentialsPause } from './credentials-pause';
import type { Provider, SendReceipt } from './provider';
import type { RecentIds } from './recent-ids';
import type { WorkerMetrics } from './worker-metrics';

export interface DeliveryHandlerDeps<T extends MessageType> {
  provider: Provider<T>;
  publisher: ConfirmPublisher;
  metrics: WorkerMetrics;
  logger: Logger;
  retryDelays: readonly RetryTier[];
  /** Items handed to the provider at once, across all deliveries. */
  concurrency: number;
  /** First wait before trying a failed retry/dead-letter publish again; doubles up to 5 s. Default 250 ms. */
  minRepublishDelayMs?: number;
  /** Told of credentials failures and successes; while it is paused, items skip the provider. */
  credentials?: CredentialsPause;
  /** Ids delivered recently by this process: a copy of one of them is acked without calling the provider. */
  recent?: RecentIds;
  /**
   * Told each item's progress (docs/status.md): `retrying` and `failed` once the copy is confirmed in its delay or
   * dead-letter queue, `sent` (or `delivered`, when the provider's acceptance is the delivery) after the provider
   * accepted it. report() only buffers: delivery never waits on status.
   */
  status?: StatusReporter;
}

/** Headers the broker adds on dead-lettering, and the batch marker; not carried into the copies we publish. */
const DROPPED_HEADERS = /^x-(death|first-death-|last-death-|delivery-count|batch-size)/;

/** What is republished for one item: its own message, whatever the delivery it came in. */
interface Copy {
  content: Buffer;
  messageId: string | undefined;
  headers: Record<string, unknown>;
}

/**
 * The fate of one item: settled (delivered, or its copy confirmed in a delay or dead-letter queue), or a
 * republish that failed and can be tried again (resolves true once the broker confirmed the copy).
 */
type ItemResult = undefined | (() => Promise<boolean>);

/**
 * Decides the fate of one delivery, a single envelope or a group commit of several: each item is handed to the
 * provider on its own; a failed item is republished alone to a delay queue (transient, attempts left) or to the
 * dead-letter queue (permanent, exhausted, poison) and confirmed by the broker. The delivery is acked only when
 * every item is delivered or durable elsewhere. Each item's fate is its own: when a republish fails (broker nack,
 * full delay queue, publisher channel down) the delivery is neither requeued nor acked; only the failed copies are
 * published again, with backoff, until the broker confirms them. A requeue would hand the already-delivered items
 * back at once, and a group commit could send the same SMS up to the delivery limit (20) times. If the consumer's
 * channel dies meanwhile, the broker redelivers the message (the ordinary at-least-once case).
 */
export function createDeliveryHandler<T extends MessageType>(deps: DeliveryHandlerDeps<T>) {
  const { provider, publisher, metrics, logger, retryDelays } = deps;
  const type = provider.type;
  const maxAttempts = retryDelays.length + 1;
  const limit = concurrencyLimit(deps.concurrency);
  /** Event ids are `<messageId>:<status>[:<attempt>]`: a redelivered item reports the same ids, recognised downstream. */
  const report = (messageId: string | undefined, status: StatusEvent['status'], fields: Omit<StatusEvent, 'eventId' | 'messageId' | 'channel' | 'status' | 'at'> = {}) => {
    if (!deps.status || !messageId) return;
    const suffix = fields.attempt === undefined || status === 'failed' ? '' : `:${fields.attempt}`;
    deps.status.report({ eventId: `${messageId}:${status}${suffix}`, messageId, channel: type, status, at: new Date().toISOString(), ...fields });
  };

  /** Publishes one copy; on failure returns a retry of the same publish (and `onConfirmed`) instead. */
  const republish = async (copy: Copy, exchange: string, headers: Record<string, unknown>, timestamp: number | undefined, onConfirmed: () => void): Promise<ItemResult> => {
    const attempt = async (): Promise<boolean> => {
      try {
        await publisher.publish(exchange, type, copy.content, {
          persistent: true,
          messageId: copy.messageId,
          timestamp,
          contentType: 'application/json',
          headers: { ...copy.headers, ...headers },
        });
      } catch (error) {
        logger.warn({ err: error, messageId: copy.messageId, exchange }, 'republish failed; holding the delivery and trying again with backoff');
        return false;
      }
      onConfirmed();
      return true;
    };
    return (await attempt()) ? undefined : attempt;
  };

  /** `statusId`: the message whose status becomes `failed` (default the copy's id; null: none, an undecodable group commit). */
  const deadLetter = (copy: Copy, reason: DeadReason, attempts: number, lastError: string, timestamp: number | undefined, statusId: string | null | undefined = copy.messageId): Promise<ItemResult> =>
    republish(copy, DEAD_LETTER_EXCHANGE, { [HEADERS.deadReason]: reason, [HEADERS.attempt]: attempts, [HEADERS.lastError]: lastError }, timestamp, () => {
      metrics.processed.inc({ type, outcome: 'dead_lettered' });
      logger.warn({ messageId: copy.messageId, reason, attempts, lastError }, 'message dead-lettered');
      report(statusId ?? undefined, 'failed', { ...(attempts > 0 ? { attempt: attempts } : {}), detail: `${reason}: ${lastError}`.slice(0, 500) });
    });

  const deliver = async (envelope: EnvelopeOf<T>, attemptsBefore: number, baseHeaders: Record<string, unknown>, timestamp: number | undefined): Promise<ItemResult> => {
    const attempt = attemptsBefore + 1;
    const copyOf = (): Copy => ({ content: encodeEnvelope(envelope), messageId: envelope.id, headers: requestHeaders(baseHeaders, envelope.requestId) });
    // Credentials refused (now or by another item a moment ago): the message is fine, our configuration is not.
    // It goes back through the first delay queue with its attempt count unchanged; the consumer is paused.
    const defer = (reason: string) =>
      republish(copyOf(), RETRY_EXCHANGE, { [HEADERS.attempt]: attemptsBefore, [HEADERS.lastError]: reason, [HEADERS.retryDelay]: retryDelays[0] ?? '1s' }, timestamp, () => {
        metrics.deferred.inc({ type, reason: 'credentials' });
      });
    if (deps.recent?.has(envelope.id)) {
      metrics.duplicatesSkipped.inc({ type });
      logger.info({ messageId: envelope.id, requestId: envelope.requestId }, 'delivered recently by this worker; copy skipped');
      return undefined;
    }
    if (deps.credentials?.paused) return defer('provider refused our credentials; worker paused');
    const timer = metrics.processingDuration.startTimer({ type });
    metrics.inFlight.inc({ type });
    let receipt: SendReceipt;
    try {
      receipt = await provider.send(envelope, { requestId: envelope.requestId ?? stringHeader(baseHeaders[HEADERS.requestId]), attempt });
    } catch (error) {
      const failure = provider.classify(error);
      metrics.providerErrors.inc({ type, kind: failure.kind });
      if (failure.kind === 'credentials') {
        deps.credentials?.rejectedNow();
        return await defer(failure.reason);
      }
      const copy = copyOf();
      if (failure.kind === 'permanent') return await deadLetter(copy, 'permanent', attempt, failure.reason, timestamp);
      if (attempt >= maxAttempts) return await deadLetter(copy, 'attempts_exhausted', attempt, failure.reason, timestamp);
      const delay = retryDelays[attempt - 1] as RetryTier;
      return await republish(copy, RETRY_EXCHANGE, { [HEADERS.attempt]: attempt, [HEADERS.lastError]: failure.reason, [HEADERS.retryDelay]: delay }, timestamp, () => {
        metrics.processed.inc({ type, outcome: 'retried' });
        report(envelope.id, 'retrying', { attempt, detail: `${failure.reason}; next attempt in ${delay}`.slice(0, 500) });
        logger.info({ messageId: envelope.id, requestId: envelope.requestId, attempt, reason: failure.reason, delay }, 'transient failure; retry scheduled');
      });
    } finally {
      metrics.inFlight.dec({ type });
      timer();
    }
    deps.credentials?.succeeded();
    deps.recent?.add(envelope.id);
    metrics.processed.inc({ type, outcome: 'delivered' });
    report(envelope.id, provider.acceptanceIsDelivery ? 'delivered' : 'sent', {
      attempt,
      provider: receipt.provider,
      ...(receipt.providerMessageId === undefined ? {} : { providerMessageId: receipt.providerMessageId }),
    });
    const acceptedAt = Date.parse(envelope.acceptedAt);
    if (Number.isFinite(acceptedAt)) metrics.endToEnd.observe({ type }, Math.max(0, Date.now() - acceptedAt) / 1000);
    return undefined;
  };

  /** Copies of one id handled at once (two deliveries in flight) go one after the other, so the second is skipped. */
  const inProgress = new Map<string, Promise<unknown>>();
  const deliverOnce = async (envelope: EnvelopeOf<T>, attemptsBefore: number, baseHeaders: Record<string, unknown>, timestamp: number | undefined): Promise<ItemResult> => {
    if (!deps.recent) return deliver(envelope, attemptsBefore, baseHeaders, timestamp);
    for (let running = inProgress.get(envelope.id); running; running = inProgress.get(envelope.id)) await running.catch(() => undefined);
    const work = deliver(envelope, attemptsBefore, baseHeaders, timestamp);
    inProgress.set(envelope.id, work);
    try {
      return await work;
    } finally {
      inProgress.delete(envelope.id);
    }
  };

  /** Tries the failed republishes again with backoff until all are confirmed, or the delivery's channel is gone. */
  const settleAll = async (results: ItemResult[], signal: AbortSignal | undefined): Promise<HandlerOutcome> => {
    let pending = results.filter((result): result is () => Promise<boolean> => result !== undefined);
    for (let round = 0; pending.length > 0; round += 1) {
      if (signal?.aborted) return 'requeue';
      await abortableSleep(backoffDelayMs(round, deps.minRepublishDelayMs ?? 250, 5000), signal);
      if (signal?.aborted) return 'requeue';
      const confirmed = await Promise.all(pending.map((retry) => retry()));
      pending = pending.filter((_, index) => !confirmed[index]);
    }
    return 'ack';
  };

  return async function handleDelivery(message: amqp.ConsumeMessage, context?: DeliveryContext): Promise<HandlerOutcome> {
    const { properties } = message;
    const baseHeaders = Object.fromEntries(Object.entries(properties.headers ?? {}).filter(([key]) => !DROPPED_HEADERS.test(key)));
    const attemptsBefore = Number(baseHeaders[HEADERS.attempt] ?? 0) || 0;
    const timestamp = typeof properties.timestamp === 'number' ? properties.timestamp : undefined;
    const raw: Copy = { content: message.content, messageId: properties.messageId, headers: baseHeaders };

    let items;
    try {
      items = decodeDelivery(message.content, properties.contentType);
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      // An undecodable group commit carries `batch-<first id>`, which is no message of anyone's: no status for it.
      const statusId = properties.contentType === BATCH_CONTENT_TYPE ? null : raw.messageId;
      return settleAll([await deadLetter(raw, 'poison', attemptsBefore, error.message, timestamp, statusId)], context?.signal);
    }
    const results = await Promise.all(
      items.map((item) => {
        if (!item.ok) {
          const id = typeof (item.raw as { id?: unknown })?.id === 'string' ? (item.raw as { id: string }).id : properties.messageId;
          const copy = items.length === 1 ? raw : { content: Buffer.from(JSON.stringify(item.raw)), messageId: id, headers: baseHeaders };
          return deadLetter(copy, 'poison', attemptsBefore, item.error.message, timestamp);
        }
        if (item.envelope.type !== type) {
          return deadLetter({ ...raw, content: encodeEnvelope(item.envelope), messageId: item.envelope.id }, 'poison', attemptsBefore, `envelope of type "${item.envelope.type}" on the ${type} queue`, timestamp);
        }
        return limit(() => deliverOnce(item.envelope as EnvelopeOf<T>, attemptsBefore, baseHeaders, timestamp));
      }),
    );
    return settleAll(results, context?.signal);
  };
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function requestHeaders(base: Record<string, unknown>, requestId: string | undefined): Record<string, unknown> {
  return requestId ? { ...base, [HEADERS.requestId]: requestId } : base;
}

function stringHeader(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
