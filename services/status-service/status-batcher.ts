import type * as amqp from 'amqplib';
import type { Logger } from '../shared/logger/logger';
import { backoffDelayMs } from '../shared/messaging/backoff';
import type { DeliveryContext, HandlerOutcome } from '../shared/messaging/consumer';
import { statusEventSchema, type StatusEvent } from '../shared/status/status-event';
import type { WriteResult } from './status-writer';

export interface StatusBatcherOptions {
  /** Most events in one write transaction. */
  maxEvents: number;
  /** How long the first delivery of a batch waits for others, in ms. */
  windowMs: number;
  /** First wait before writing a held batch again; doubles (with jitter) up to `maxRetryMs`. Default 500 ms. */
  minRetryMs?: number;
  /** Default 10 s. */
  maxRetryMs?: number;
  write: (events: StatusEvent[]) => Promise<WriteResult>;
  /** Told of every committed write (metrics, the outbox relay). */
  onWritten: (result: WriteResult) => void;
  /** Told of events that are not status events: dropped (acked), never retried. */
  onInvalid: (raw: unknown, reason: string) => void;
  /** Told when writes start failing because the database is away, and when one succeeds again. */
  onDatabase: (up: boolean) => void;
}

interface Waiting {
  events: StatusEvent[];
  resolve: (outcome: HandlerOutcome) => void;
}

/**
 * The consumer's handler: deliveries (one event, or a reporter's batch) are gathered for `windowMs` or up to
 * `maxEvents` and written in one transaction; each delivery is acked only after the commit. When the database is
 * away the batch is held (neither acked nor requeued, so nothing is dead-lettered or lost) and written again with
 * backoff; the broker stops delivering once `prefetch` deliveries are unacked, and the queue keeps the rest.
 */
export class StatusBatcher {
  private pending: Waiting[] = [];
  private pendingEvents = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing = false;
  private stopped = false;
  /** Failed writes in the current streak. */
  private failures = 0;
  /** Ends the backoff wait of a held batch early (on stop). */
  private wake: (() => void) | undefined;
  private databaseUp = true;

  constructor(private readonly logger: Logger, private readonly options: StatusBatcherOptions) {}

  /** The QueueConsumer handler. */
  readonly handle = (message: amqp.ConsumeMessage, _context?: DeliveryContext): Promise<HandlerOutcome> => {
    const events = this.parse(message.content);
    if (events.length === 0) return Promise.resolve('ack');
    return new Promise((resolve) => {
      this.pending.push({ events, resolve });
      this.pendingEvents += events.length;
      if (this.pendingEvents >= this.options.maxEvents) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
    });
  };

  /** Stops writing: held and pending deliveries are left to the broker, which redelivers them after the channel closes. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    for (const item of this.pending.splice(0)) item.resolve('requeue');
  }

  private parse(content: Buffer): StatusEvent[] {
    let decoded: unknown;
    try {
      decoded = JSON.parse(content.toString('utf8'));
    } catch {
      this.options.onInvalid(undefined, 'body is not JSON');
      return [];
    }
    const items = Array.isArray(decoded) ? decoded : [decoded];
    return items.flatMap((item) => {
      const parsed = statusEventSchema.safeParse(item);
      if (parsed.success) return [parsed.data];
      this.options.onInvalid(item, parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
      return [];
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.stopped || this.pending.length === 0) return;
    const batch: Waiting[] = [];
    let count = 0;
    while (this.pending.length > 0 && (batch.length === 0 || count + (this.pending[0] as Waiting).events.length <= this.options.maxEvents)) {
      const item = this.pending.shift() as Waiting;
      batch.push(item);
      count += item.events.length;
    }
    this.pendingEvents -= count;
    this.writing = true;
    void this.writeHeld(batch);
  }

  /** Writes the batch, again and again with backoff while the database is away; acks it once committed. */
  private async writeHeld(batch: Waiting[]): Promise<void> {
    for (;;) {
      if (this.stopped) {
        for (const item of batch) item.resolve('requeue');
        break;
      }
      try {
        await this.writeOnce(batch);
        this.setDatabase(true);
        this.failures = 0;
        for (const item of batch) item.resolve('ack');
        break;
      } catch (error) {
        this.setDatabase(false);
        const delay = backoffDelayMs(this.failures, this.options.minRetryMs ?? 500, this.options.maxRetryMs ?? 10_000);
        // Log the first failure of a streak, not every retry.
        if (this.failures === 0) this.logger.error({ err: error, events: batch.reduce((n, item) => n + item.events.length, 0) }, 'status database unavailable; holding the batch and writing it again with backoff');
        this.failures += 1;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, delay);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.wake = done;
        });
        this.wake = undefined;
      }
    }
    this.writing = false;
    if (this.pendingEvents >= this.options.maxEvents) this.flush();
    else if (this.pending.length > 0) this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
  }

  /**
   * One transaction for the batch. A value the database refuses (a data exception or constraint violation: SQLSTATE
   * classes 22, 23) would fail every retry: the deliveries are then written one by one and the ones still refused
   * are dropped and reported. Anything else (database away, schema missing) holds the batch.
   */
  private async writeOnce(batch: Waiting[]): Promise<void> {
    try {
      this.options.onWritten(await this.options.write(batch.flatMap((item) => item.events)));
      return;
    } catch (error) {
      if (!isDataRefusal(error)) throw error;
      if (batch.length === 1) return this.refuse(batch[0] as Waiting, error);
    }
    for (const item of batch) {
      try {
        this.options.onWritten(await this.options.write(item.events));
      } catch (error) {
        if (!isDataRefusal(error)) throw error;
        this.refuse(item, error);
      }
    }
  }

  private refuse(item: Waiting, error: unknown): void {
    for (const event of item.events) this.options.onInvalid(event, `refused by the database: ${(error as Error).message}`);
  }

  private setDatabase(up: boolean): void {
    if (up === this.databaseUp) return;
    this.databaseUp = up;
    if (up) this.logger.info('status database answering again; catching up');
    this.options.onDatabase(up);
  }
}

function isDataRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^2[23]/.test(code);
}
