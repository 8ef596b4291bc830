import type * as amqp from 'amqplib';
import type { Logger } from '../logger/logger';
import { RetrySchedule } from './backoff';
import type { BrokerConnection } from './connection';

/**
 * What a handler decided about a delivery; the consumer maps it to the AMQP call in one place.
 * - `ack`: done (delivered, or safely handed to a retry or dead-letter queue).
 * - `requeue`: could not decide now (e.g. the broker refused the retry publish); the broker redelivers it.
 */
export type HandlerOutcome = 'ack' | 'requeue';

/** What a handler may know about the delivery beyond the message. */
export interface DeliveryContext {
  /**
   * Aborted when the channel the delivery came on is gone: the broker has put the message back, so a handler
   * that is still working on it (e.g. retrying a republish) can stop; its outcome is ignored.
   */
  signal: AbortSignal;
}

export type DeliveryHandler = (message: amqp.ConsumeMessage, context: DeliveryContext) => Promise<HandlerOutcome>;

export interface QueueConsumerOptions {
  queue: string;
  /** Unacknowledged deliveries the broker may push to this consumer; also the handler concurrency. */
  prefetch: number;
  handler: DeliveryHandler;
  /** First delay before subscribing again after a failure or a broker cancel; doubles up to the max. Default 500 ms. */
  minRetryDelayMs?: number;
  /** Default 15 s. */
  maxRetryDelayMs?: number;
  /** Told whenever the consumer starts or stops consuming (for a gauge). */
  onConsumingChange?: (consuming: boolean) => void;
}

/**
 * Consumes one queue over exactly one channel: (re)subscribes whenever the connection comes up, checks the queue
 * exists (never declares it), runs the handler for each delivery and acks or requeues by its outcome.
 * When the broker cancels the consumer (`basic.cancel`: the queue was deleted) or refuses the subscription (queue
 * missing, channel closed), it subscribes again with exponential backoff and jitter until the queue is back;
 * `consuming` is false meanwhile, so readiness reports the worker idle. A single retry timer and an `openingOn`
 * guard make sure there is never more than one channel or one subscription attempt at a time.
 * Shutdown: `stop()` cancels the consumer, waits for in-flight handlers to settle and ack, then closes the
 * channel; whatever was prefetched but not started is returned to the queue by the broker.
 */
export class QueueConsumer {
  private channel: amqp.Channel | undefined;
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  /** The connection a subscription is being set up on right now, if any. */
  private openingOn: amqp.ChannelModel | undefined;
  private readonly retry: RetrySchedule;
  /** Aborted when the current channel closes; handed to handlers of its deliveries. */
  private channelGone = new AbortController();
  private pausedUntil = 0;
  private resumeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly connection: BrokerConnection, private readonly logger: Logger, private readonly options: QueueConsumerOptions) {
    this.retry = new RetrySchedule(options.minRetryDelayMs ?? 500, options.maxRetryDelayMs ?? 15_000);
    connection.on('connected', (model: amqp.ChannelModel) => {
      // A new connection: the old channel died with the old one; start over at once.
      this.retry.reset();
      this.channel = undefined;
      this.setTag(undefined);
      void this.subscribe(model);
    });
    connection.on('disconnected', () => this.setTag(undefined));
    if (connection.current) void this.subscribe(connection.current);
  }

  /** True while a consumer is registered on the broker. */
  get consuming(): boolean {
    return this.consumerTag !== undefined;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Stops taking new deliveries for `ms` (basic.cancel; the channel stays open so deliveries in hand are still
   * settled on it), then subscribes again. Used when the provider refuses our credentials.
   */
  async pauseFor(ms: number): Promise<void> {
    this.pausedUntil = Date.now() + ms;
    this.retry.cancel();
    clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      this.pausedUntil = 0;
      this.retry.reset();
      const model = this.connection.current;
      if (model) void this.subscribe(model);
    }, ms);
    this.resumeTimer.unref();
    const channel = this.channel;
    const tag = this.consumerTag;
    this.setTag(undefined);
    if (channel && tag) await channel.cancel(tag).catch(() => undefined);
  }

  /** True during a `pauseFor`. */
  get paused(): boolean {
    return Date.now() < this.pausedUntil;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.retry.cancel();
    clearTimeout(this.resumeTimer);
    const channel = this.channel;
    const tag = this.consumerTag;
    this.setTag(undefined);
    if (channel && tag) await channel.cancel(tag).catch(() => undefined);
    const drained = Promise.allSettled([...this.inFlight]);
    const timedOut = await Promise.race([drained.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
    if (timedOut) this.logger.warn({ inFlight: this.inFlight.size }, 'consumer stop timed out; unfinished messages return to the queue');
    this.channel = undefined;
    this.channelGone.abort();
    if (channel) await channel.close().catch(() => undefined);
  }

  private setTag(tag: string | undefined): void {
    const before = this.consumerTag !== undefined;
    this.consumerTag = tag;
    if (before !== (tag !== undefined)) this.options.onConsumingChange?.(tag !== undefined);
  }

  /** Opens the channel if there is none, checks the queue and subscribes; on failure schedules another try. */
  private async subscribe(model: amqp.ChannelModel): Promise<void> {
    if (this.stopping || this.paused || this.openingOn === model || this.consumerTag || this.connection.current !== model) return;
    this.openingOn = model;
    try {
      const channel = this.channel ?? (await this.openChannel(model));
      if (this.stopping || this.connection.current !== model) return;
      await channel.checkQueue(this.options.queue);
      const reply = await channel.consume(this.options.queue, (message) => {
        if (message) this.track(channel, message);
        else this.cancelledByBroker(channel, model);
      });
      if (this.channel !== channel || this.stopping) return; // closed while subscribing; its close handler retries
      if (this.paused) {
        await channel.cancel(reply.consumerTag).catch(() => undefined); // paused while subscribing
        return;
      }
      this.setTag(reply.consumerTag);
      if (this.retry.attempts > 0) this.logger.info({ queue: this.options.queue, attempts: this.retry.attempts }, 'consuming again');
      else this.logger.info({ queue: this.options.queue, prefetch: this.options.prefetch }, 'consuming');
      this.retry.reset();
    } catch (error) {
      // A failed passive declare or consume (404, 403) closes the channel; its close handler forgets it.
      this.scheduleRetry(model, error);
    } finally {
      if (this.openingOn === model) this.openingOn = undefined;
    }
  }

  private async openChannel(model: amqp.ChannelModel): Promise<amqp.Channel> {
    const channel = await model.createChannel();
    const gone = new AbortController();
    channel.on('error', (error: Error) => this.logger.warn({ err: error, queue: this.options.queue }, 'consumer channel error'));
    channel.on('close', () => {
      gone.abort();
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.setTag(undefined);
      // Closed by the broker while the connection lives (queue deleted, access refused): subscribe again later.
      this.scheduleRetry(model, new Error('consumer channel closed'));
    });
    await channel.prefetch(this.options.prefetch);
    if (this.stopping || this.connection.current !== model) {
      await channel.close().catch(() => undefined);
      throw new Error('connection replaced while opening the consumer channel');
    }
    this.channel = channel;
    this.channelGone = gone;
    return channel;
  }

  private cancelledByBroker(channel: amqp.Channel, model: amqp.ChannelModel): void {
    if (this.channel !== channel) return;
    this.setTag(undefined);
    this.logger.warn({ queue: this.options.queue }, 'consumer cancelled by the broker (queue deleted?); subscribing again when it is back');
    this.scheduleRetry(model, new Error('consumer cancelled by the broker'));
  }

  private scheduleRetry(model: amqp.ChannelModel, error: unknown): void {
    if (this.stopping || this.paused || this.retry.pending || this.connection.current !== model) return;
    const first = this.retry.attempts === 0;
    const delay = this.retry.schedule(() => void this.subscribe(model));
    // Log the first failure of a streak, not every retry.
    if (first) this.logger.error({ err: error, queue: this.options.queue, retryInMs: delay }, 'not consuming; subscribing again with backoff');
  }

  private track(channel: amqp.Channel, message: amqp.ConsumeMessage): void {
    const work = this.handle(channel, message, this.channelGone.signal).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  private async handle(channel: amqp.Channel, message: amqp.ConsumeMessage, signal: AbortSignal): Promise<void> {
    let outcome: HandlerOutcome;
    try {
      outcome = await this.options.handler(message, { signal });
    } catch (error) {
      this.logger.error({ err: error, messageId: message.properties.messageId }, 'handler failed unexpectedly; requeueing');
      outcome = 'requeue';
    }
    // A delivery can only be settled on the channel it came from; if that channel is gone the broker has
    // already put the message back, so there is nothing left to do.
    if (this.channel !== channel) return;
    try {
      if (outcome === 'ack') channel.ack(message);
      else channel.nack(message, false, true);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not settle delivery; the broker will redeliver it');
    }
  }
}
