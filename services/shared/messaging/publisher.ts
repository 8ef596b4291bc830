import type * as amqp from 'amqplib';
import type { Logger } from '../logger/logger';
import type { BrokerConnection } from './connection';
import { waitUntil } from '../process/wait-until';
import { RetrySchedule } from './backoff';
import { BrokerUnavailableError } from './errors';

export interface ConfirmPublisherOptions {
  /**
   * Messages published but not yet confirmed, across all callers. Past it, `publish` fails at once instead of
   * queueing in memory: the bound that keeps a slow or blocked broker from growing the heap. Default 10000.
   */
  maxInFlight?: number;
  /** How long to wait for the broker's confirm before giving up on a message. Default 5000 ms. */
  confirmTimeoutMs?: number;
  /** First delay before reopening a channel that failed to open or was closed by the broker; doubles up to 5 s. Default 100 ms. */
  minReopenDelayMs?: number;
}

export type PublishOptions = amqp.Options.Publish;

/**
 * Publishes over one confirm channel shared by every concurrent caller: each publish is written at once and its
 * promise settles when the broker acks (durable) or nacks it, so many requests share the channel's round trips
 * instead of waiting for each other. https://www.rabbitmq.com/docs/confirms#publisher-confirms
 */
export class ConfirmPublisher {
  private channel: amqp.ConfirmChannel | undefined;
  private inFlightCount = 0;
  private readonly maxInFlight: number;
  private readonly confirmTimeoutMs: number;
  private readonly reopen: RetrySchedule;
  /** The connection a channel is being opened on right now, if any. */
  private openingOn: amqp.ChannelModel | undefined;
  private closed = false;
  private readonly readyListeners = new Set<() => void>();

  constructor(private readonly connection: BrokerConnection, private readonly logger: Logger, options: ConfirmPublisherOptions = {}) {
    this.maxInFlight = options.maxInFlight ?? 10_000;
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? 5000;
    this.reopen = new RetrySchedule(options.minReopenDelayMs ?? 100, 5000);
    connection.on('connected', (model: amqp.ChannelModel) => {
      this.reopen.reset();
      this.channel = undefined;
      void this.openChannel(model);
    });
    if (connection.current) void this.openChannel(connection.current);
  }

  /** Ready when a confirm channel is open and the broker is not blocking publishers. */
  get ready(): boolean {
    return this.channel !== undefined && !this.connection.blocked;
  }

  /** Why nothing can be published right now (no channel, or the broker blocks publishers), or undefined. */
  unavailable(): BrokerUnavailableError | undefined {
    if (!this.channel) return new BrokerUnavailableError('disconnected', 'no open channel to the broker');
    if (this.connection.blocked) return new BrokerUnavailableError('blocked', 'the broker is blocking publishers (resource alarm)');
    return undefined;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Resolves when the broker confirmed the message; rejects with BrokerUnavailableError otherwise, never hangs. */
  publish(exchange: string, routingKey: string, content: Buffer, options: PublishOptions): Promise<void> {
    const channel = this.channel;
    const unavailable = this.unavailable();
    if (unavailable || !channel) return Promise.reject(unavailable);
    if (this.inFlightCount >= this.maxInFlight) {
      return Promise.reject(new BrokerUnavailableError('buffer_full', `${this.inFlightCount} messages already awaiting confirms`));
    }
    this.inFlightCount += 1;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: BrokerUnavailableError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlightCount -= 1;
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(
        () => settle(new BrokerUnavailableError('timeout', `no confirm within ${this.confirmTimeoutMs} ms`)),
        this.confirmTimeoutMs,
      );
      try {
        channel.publish(exchange, routingKey, content, options, (error) => {
          if (!error) settle();
          // amqplib fails pending confirms with "channel closed" when the channel or connection goes away: the
          // broker may or may not have stored the message, which is not the same as refusing it (basic.nack).
          else if (/nacked/.test(error.message)) settle(new BrokerUnavailableError('nacked', 'the broker refused the message'));
          else settle(new BrokerUnavailableError('channel_closed', 'the channel closed before the confirm; the message may or may not be stored'));
        });
      } catch (error) {
        // amqplib throws synchronously when the channel is already closing.
        settle(new BrokerUnavailableError('channel_closed', (error as Error).message));
      }
    });
  }

  /** Waits for every outstanding confirm (used when draining), up to `timeoutMs`. */
  settle(timeoutMs: number): Promise<void> {
    return waitUntil(() => this.inFlightCount === 0, timeoutMs);
  }

  /** Resolves once a confirm channel is open (at once if it is), or false after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<boolean> {
    if (this.channel) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.readyListeners.delete(onReady);
        resolve(value);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.readyListeners.add(onReady);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reopen.cancel();
    const channel = this.channel;
    this.channel = undefined;
    if (channel) await channel.close().catch(() => undefined);
  }

  /**
   * Opens the confirm channel; a failed open, or a channel the broker closed on a live connection (e.g. after a
   * 404 on publish), is retried with exponential backoff and jitter until it works or the connection changes.
   * One timer and the `openingOn` guard keep it to one channel.
   */
  private async openChannel(model: amqp.ChannelModel): Promise<void> {
    if (this.closed || this.openingOn === model || this.channel || this.connection.current !== model) return;
    this.openingOn = model;
    try {
      const channel = await model.createConfirmChannel();
      channel.on('error', (error: Error) => this.logger.warn({ err: error }, 'publisher channel error'));
      channel.on('close', () => {
        if (this.channel !== channel) return;
        this.channel = undefined;
        this.scheduleReopen(model, new Error('publisher channel closed by the broker'));
      });
      if (this.closed || this.connection.current !== model) {
        await channel.close().catch(() => undefined);
        return;
      }
      this.channel = channel;
      if (this.reopen.attempts > 0) this.logger.info({ attempts: this.reopen.attempts }, 'publisher channel reopened');
      this.reopen.reset();
      for (const listener of [...this.readyListeners]) listener();
    } catch (error) {
      this.scheduleReopen(model, error);
    } finally {
      if (this.openingOn === model) this.openingOn = undefined;
    }
  }

  private scheduleReopen(model: amqp.ChannelModel, error: unknown): void {
    if (this.closed || this.reopen.pending || this.connection.current !== model) return;
    const first = this.reopen.attempts === 0;
    const delay = this.reopen.schedule(() => void this.openChannel(model));
    if (first) this.logger.warn({ err: error, retryInMs: delay }, 'publisher channel unavailable; reopening with backoff');
  }
}
