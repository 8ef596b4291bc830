import type pg from 'pg';
import { withTransaction } from '../shared/db/pool';
import type { Logger } from '../shared/logger/logger';
import type { ConfirmPublisher } from '../shared/messaging/publisher';
import { STATUS_CHANGES_EXCHANGE, statusRoutingKey, type StatusChange } from '../shared/status/status-event';

export interface OutboxRelayOptions {
  /** How often the outbox is looked at besides after each write (changes left by a replica that stopped). Default 5 s. */
  intervalMs?: number;
  /** Changes taken per transaction. Default 500. */
  batch?: number;
  onPublished?: (count: number) => void;
}

/**
 * Publishes the status changes the writer put in `status_outbox` to STATUS_CHANGES_EXCHANGE (routing key
 * `<channel>.<status>`): takes a batch (`FOR UPDATE SKIP LOCKED`, so replicas share the work), publishes each with
 * a confirm, and deletes them in the same transaction only once every confirm arrived. A failure rolls back and
 * the changes stay for the next round: at least once; the dispatcher recognises copies by `changeId`.
 */
export class OutboxRelay {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private readonly batch: number;

  constructor(private readonly pool: pg.Pool, private readonly publisher: ConfirmPublisher, private readonly logger: Logger, private readonly options: OutboxRelayOptions = {}) {
    this.batch = options.batch ?? 500;
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Relays what is in the outbox now (called after every write that recorded a change). */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while ((await this.relayOnce()) === this.batch);
      if (this.failing) this.logger.info('status changes relayed again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: error }, 'status changes not relayed; they stay in the outbox for the next round');
      this.failing = true;
    }
  }

  private relayOnce(): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      const taken = await client.query<{ body: StatusChange }>(
        `DELETE FROM status_outbox WHERE seq IN (SELECT seq FROM status_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING body`,
        [this.batch],
      );
      if (taken.rows.length === 0) return 0;
      const unavailable = this.publisher.unavailable();
      if (unavailable) throw unavailable;
      await Promise.all(
        taken.rows.map(({ body }) =>
          this.publisher.publish(STATUS_CHANGES_EXCHANGE, statusRoutingKey(body), Buffer.from(JSON.stringify(body)), {
            persistent: true,
            contentType: 'application/json',
            messageId: body.changeId,
          }),
        ),
      );
      this.options.onPublished?.(taken.rows.length);
      return taken.rows.length;
    });
  }
}
