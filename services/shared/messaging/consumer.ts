import type * as amqp from 'amqplib';
import type { Logger } from '../logger/logger';
import type { BrokerConnection } from './connection';

/**
 * What a handler decided about a delivery; the consumer maps it to the AMQP call in one place.
 * - `ack`: done (delivered, or safely handed to a retry or dead-letter queue).
 * - `requeue`: could not decide now (e.g. the broker refused the retry publish); the broker redelivers it.
 */
export type HandlerOutcome = 'ack' | 'requeue';

export type DeliveryHandler = (message: amqp.ConsumeMessage) => Promise<HandlerOutcome>;

export interface QueueConsumerOptions {
  queue: string;
  /** Unacknowledged deliveries the broker may push to this consumer; also the handler concurrency. */
  prefetch: number;
  handler: DeliveryHandler;
}

/**
 * Consumes one queue: (re)opens its channel whenever the connection comes up, checks the queue exists (never
 * declares it), runs the handler for each delivery and acks or requeues by its outcome.
 * Shutdown: `stop()` cancels the consumer, waits for in-flight handlers to settle and ack, then closes the
 * channel; whatever was prefetched but not started is returned to the queue by the broker.
 */
export class QueueConsumer {
  private channel: amqp.Channel | undefined;
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly connection: BrokerConnection, private readonly logger: Logger, private readonly options: QueueConsumerOptions) {
    connection.on('connected', (model: amqp.ChannelModel) => void this.open(model));
    if (connection.current) void this.open(connection.current);
  }

  /** True while a consumer is registered on the broker. */
  get consuming(): boolean {
    return this.consumerTag !== undefined;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const channel = this.channel;
    const tag = this.consumerTag;
    this.consumerTag = undefined;
    if (channel && tag) await channel.cancel(tag).catch(() => undefined);
    const drained = Promise.allSettled([...this.inFlight]);
    const timedOut = await Promise.race([drained.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
    if (timedOut) this.logger.warn({ inFlight: this.inFlight.size }, 'consumer stop timed out; unfinished messages return to the queue');
    this.channel = undefined;
    if (channel) await channel.close().catch(() => undefined);
  }

  private async open(model: amqp.ChannelModel): Promise<void> {
    if (this.stopping) return;
    let channel: amqp.Channel | undefined;
    try {
      channel = await model.createChannel();
      channel.on('error', (error: Error) => this.logger.warn({ err: error, queue: this.options.queue }, 'consumer channel error'));
      channel.on('close', () => {
        if (this.channel !== channel) return;
        this.channel = undefined;
        this.consumerTag = undefined;
        // Closed by the broker while the connection lives (e.g. queue deleted): try again later.
        setTimeout(() => {
          if (!this.stopping && this.connection.current === model && !this.channel) void this.open(model);
        }, 1000);
      });
      await channel.prefetch(this.options.prefetch);
      await channel.checkQueue(this.options.queue);
      this.channel = channel;
      const opened = channel;
      const reply = await channel.consume(this.options.queue, (message) => {
        if (message) this.track(opened, message);
        else this.logger.warn({ queue: this.options.queue }, 'consumer cancelled by the broker');
      });
      this.consumerTag = reply.consumerTag;
      this.logger.info({ queue: this.options.queue, prefetch: this.options.prefetch }, 'consuming');
    } catch (error) {
      this.logger.error({ err: error, queue: this.options.queue }, 'consumer setup failed; retrying');
      if (channel) await channel.close().catch(() => undefined);
      setTimeout(() => {
        if (!this.stopping && this.connection.current === model && !this.channel) void this.open(model);
      }, 2000).unref();
    }
  }

  private track(channel: amqp.Channel, message: amqp.ConsumeMessage): void {
    const work = this.handle(channel, message).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  private async handle(channel: amqp.Channel, message: amqp.ConsumeMessage): Promise<void> {
    let outcome: HandlerOutcome;
    try {
      outcome = await this.options.handler(message);
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
