import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type * as amqp from 'amqplib';
import { z } from 'zod';
import type { Logger } from '../logger/logger';
import type { BrokerConnection } from '../messaging/connection';
import { CIRCUITS_EXCHANGE, type MessageType } from '../messaging/topology';
import type { CircuitBreaker } from './circuit-breaker';

const announcement = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('state'), origin: z.string(), provider: z.string(), state: z.enum(['open', 'closed']), remainingMs: z.number().min(0).max(3_600_000).optional() }),
  z.object({ kind: z.literal('sync'), origin: z.string() }),
]);
type Announcement = z.infer<typeof announcement>;

/**
 * How long a starting replica holds back its first deliveries once it asked for the circuit states (the answers
 * take a few milliseconds), and at most while the broker cannot be reached (then it starts without them).
 */
export const SYNC_ANSWER_MS = 300;
export const SYNC_MAX_WAIT_MS = 5000;

/**
 * Shares the circuits of one worker type between all its replicas through the broker they already use: a replica
 * whose circuit opens (or closes after a good probe) announces it on the `relay.circuits` topic exchange, and every
 * replica adopts it, so ten replicas do not each spend failures rediscovering one outage. Each replica reads through
 * an exclusive, server-named queue (`amq.gen-…`), gone with its connection. A replica that (re)connects asks for the
 * current state (`sync`); every replica answers with the circuits it holds open, with the time they have left.
 * Announcements are not confirmed: a lost one costs a replica at most `failureThreshold` failed calls (which still
 * fail over), never a message.
 */
export class CircuitBus {
  readonly origin = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private channel: amqp.Channel | undefined;
  private closed = false;
  private markJoined!: () => void;
  /** Resolves once this replica first joined the exchange and asked the others for their open circuits. */
  readonly joined = new Promise<void>((resolve) => {
    this.markJoined = resolve;
  });

  constructor(
    private readonly connection: BrokerConnection,
    private readonly type: MessageType,
    private readonly circuits: ReadonlyMap<string, CircuitBreaker>,
    private readonly logger: Logger,
  ) {
    for (const [provider, circuit] of circuits) {
      circuit.onTransition((transition) => {
        if (transition.remote || transition.state === 'half-open') return;
        this.publish({ kind: 'state', origin: this.origin, provider, state: transition.state, remainingMs: transition.remainingMs });
      });
    }
  }

  /** Joins the exchange now if connected, and again after every reconnect. */
  start(): void {
    this.connection.on('connected', (model: amqp.ChannelModel) => void this.attach(model));
    const model = this.connection.current;
    if (model) void this.attach(model);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.channel?.close().catch(() => undefined);
    this.channel = undefined;
  }

  private async attach(model: amqp.ChannelModel): Promise<void> {
    if (this.closed) return;
    try {
      const channel = await model.createChannel();
      channel.on('error', (error: Error) => this.logger.warn({ err: error }, 'circuit bus channel error'));
      channel.on('close', () => {
        if (this.channel === channel) this.channel = undefined;
        // The channel alone died (the connection lives on): join again shortly.
        const rejoin = () => {
          if (!this.closed && this.connection.current === model) void this.attach(model);
        };
        if (!this.closed && this.connection.current === model) setTimeout(rejoin, 1000).unref();
      });
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(queue, CIRCUITS_EXCHANGE, `${this.type}.*`);
      await channel.consume(queue, (message) => message && this.receive(message.content), { noAck: true });
      this.channel = channel;
      this.publish({ kind: 'sync', origin: this.origin });
      this.markJoined();
    } catch (error) {
      this.logger.warn({ err: error }, `circuit bus setup failed: circuits stay local to this replica until the broker connection is re-established (check that ${CIRCUITS_EXCHANGE} exists)`);
    }
  }

  private receive(content: Buffer): void {
    let parsed: Announcement;
    try {
      parsed = announcement.parse(JSON.parse(content.toString('utf8')));
    } catch {
      this.logger.warn('circuit bus: malformed announcement ignored');
      return;
    }
    if (parsed.origin === this.origin) return;
    if (parsed.kind === 'sync') {
      for (const [provider, circuit] of this.circuits) {
        if (circuit.state === 'open') this.publish({ kind: 'state', origin: this.origin, provider, state: 'open', remainingMs: circuit.remainingMs });
      }
      return;
    }
    const circuit = this.circuits.get(parsed.provider);
    if (!circuit) return;
    this.logger.info({ provider: parsed.provider, state: parsed.state, from: parsed.origin }, 'circuit state from another replica');
    if (parsed.state === 'open') circuit.adoptOpen(parsed.remainingMs ?? 0);
    else circuit.adoptClosed();
  }

  private publish(message: Announcement): void {
    const channel = this.channel;
    if (!channel) return;
    const key = `${this.type}.${message.kind}`;
    try {
      channel.publish(CIRCUITS_EXCHANGE, key, Buffer.from(JSON.stringify(message)), { contentType: 'application/json' });
    } catch (error) {
      this.logger.warn({ err: error }, 'circuit bus: announcement not sent');
    }
  }
}
