import { EventEmitter } from 'node:events';
import type { ConnectionOptions } from 'node:tls';
import * as amqp from 'amqplib';
import type { Logger } from '../logger/logger';
import { backoffDelayMs } from './backoff';
import { parseBrokerUrls, redactBrokerUrl } from './broker-urls';

export interface BrokerConnectionOptions {
  /**
   * amqp://user:pass@host:port/vhost, or several nodes of a cluster comma-separated (full URLs, or `host:port`
   * items sharing the first one's credentials and vhost: `parseBrokerUrls`). Any reachable node will do.
   */
  url: string;
  /** Shown in the management UI's connection list. */
  name: string;
  /** First reconnect delay; doubles up to `maxReconnectDelayMs`. Default 250 ms. */
  minReconnectDelayMs?: number;
  /** Default 10 s. */
  maxReconnectDelayMs?: number;
  /** Heartbeat in seconds: how fast a dead TCP peer is noticed. Default 10. */
  heartbeatSeconds?: number;
  /** TLS options for amqps:// URLs (CA, client certificate and key, servername): config/broker-access.ts. */
  socketOptions?: ConnectionOptions;
}

export type ConnectionState = 'connecting' | 'connected' | 'closed';

/**
 * Keeps one AMQP connection alive: connects, and on loss reconnects with backoff and jitter until `close()`.
 * With several broker URLs, each attempt tries them in turn, starting after the node last connected to (so a lost
 * node is tried last) and the backoff applies between full rounds: a dead node costs one refused connect, not a wait.
 * Emits `connected` (with the amqplib ChannelModel) each time a connection is (re)established, `disconnected`
 * when it is lost, and `blocked` / `unblocked` when the broker applies flow control (memory or disk alarm).
 * Channels belong to their users (publisher, consumer), which rebuild them on `connected`.
 */
export class BrokerConnection extends EventEmitter {
  private model: amqp.ChannelModel | undefined;
  private stateValue: ConnectionState = 'connecting';
  private blockedValue = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly urls: string[];
  /** Index in `urls` the next round starts at. */
  private nextUrl = 0;
  private connectedUrl: string | undefined;

  constructor(private readonly options: BrokerConnectionOptions, private readonly logger: Logger) {
    super();
    this.urls = parseBrokerUrls(options.url);
  }

  /** The node connected to now (password redacted), undefined while disconnected. */
  get node(): string | undefined {
    return this.connectedUrl;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** True while the broker refuses publishes because of a resource alarm. */
  get blocked(): boolean {
    return this.blockedValue;
  }

  get current(): amqp.ChannelModel | undefined {
    return this.model;
  }

  start(): void {
    void this.connect();
  }

  /** Resolves once connected; rejects after `timeoutMs`. */
  waitConnected(timeoutMs: number): Promise<amqp.ChannelModel> {
    if (this.model) return Promise.resolve(this.model);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('connected', onConnected);
        reject(new Error(`broker connection "${this.options.name}" not established within ${timeoutMs} ms`));
      }, timeoutMs);
      const onConnected = (model: amqp.ChannelModel) => {
        clearTimeout(timer);
        resolve(model);
      };
      this.once('connected', onConnected);
    });
  }

  async close(): Promise<void> {
    this.stateValue = 'closed';
    clearTimeout(this.reconnectTimer);
    const model = this.model;
    this.model = undefined;
    if (model) await model.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stateValue === 'closed') return;
    let lastError: unknown;
    for (let tried = 0; tried < this.urls.length; tried += 1) {
      const index = (this.nextUrl + tried) % this.urls.length;
      const url = this.urls[index] as string;
      try {
        const model = await amqp.connect(this.urlWithHeartbeat(url), {
          ...this.options.socketOptions,
          noDelay: true,
          timeout: 5000,
          clientProperties: { connection_name: this.options.name },
        });
        if ((this.stateValue as ConnectionState) === 'closed') {
          await model.close().catch(() => undefined);
          return;
        }
        // After a loss, start the next round at the following node: the one just lost is likely still down.
        this.nextUrl = (index + 1) % this.urls.length;
        this.attach(model, url);
        return;
      } catch (error) {
        lastError = this.urls.length > 1 ? new Error(`${redactBrokerUrl(url)}: ${(error as Error).message}`, { cause: error }) : error;
      }
    }
    this.scheduleReconnect(lastError);
  }

  private attach(model: amqp.ChannelModel, url: string): void {
    this.model = model;
    this.connectedUrl = redactBrokerUrl(url);
    this.stateValue = 'connected';
    this.blockedValue = false;
    const node = this.urls.length > 1 ? this.connectedUrl : undefined;
    if (this.attempt > 0) this.logger.info({ attempts: this.attempt, node }, 'broker connection re-established');
    else this.logger.info({ node }, 'broker connection established');
    this.attempt = 0;
    // amqplib re-emits channel and connection errors here; unhandled they would kill the process.
    model.on('error', (error: Error) => this.logger.warn({ err: error }, 'broker connection error'));
    model.on('blocked', (reason: string) => {
      this.blockedValue = true;
      this.logger.warn({ reason }, 'broker blocked publishing');
      this.emit('blocked', reason);
    });
    model.on('unblocked', () => {
      this.blockedValue = false;
      this.logger.info('broker unblocked publishing');
      this.emit('unblocked');
    });
    model.on('close', (error?: Error) => {
      if (this.model !== model) return;
      this.model = undefined;
      this.connectedUrl = undefined;
      if (this.stateValue === 'closed') return;
      this.stateValue = 'connecting';
      this.emit('disconnected', error);
      this.scheduleReconnect(error ?? new Error('connection closed'));
    });
    this.emit('connected', model);
  }

  private scheduleReconnect(error: unknown): void {
    if (this.stateValue === 'closed') return;
    const delay = backoffDelayMs(this.attempt, this.options.minReconnectDelayMs ?? 250, this.options.maxReconnectDelayMs ?? 10_000);
    // Log the first failure of a streak, not every retry: a broker down for a minute must not flood the logs.
    if (this.attempt === 0) this.logger.warn({ err: error, retryInMs: delay }, 'broker connection lost or refused; reconnecting');
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private urlWithHeartbeat(value: string): string {
    const url = new URL(value);
    if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(this.options.heartbeatSeconds ?? 10));
    return url.toString();
  }
}
