import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger/logger';
import type { ConfirmPublisher } from '../messaging/publisher';
import { STATUS_BATCH_CONTENT_TYPE, STATUS_EVENT_CONTENT_TYPE, STATUS_EXCHANGE, statusRoutingKey, type StatusEvent, type StatusReporter } from './status-event';

export interface BrokerStatusReporterOptions {
  /** Most events in one AMQP message. Default 500. */
  maxBatch?: number;
  /**
   * How long the first event of a batch waits for others, in ms: status is not latency-critical. Default 100: at 400
   * messages/s a process then publishes ten status messages a second instead of fifty (docs/performance.md).
   */
  windowMs?: number;
  /**
   * Events held in memory while the broker is away or slow; past it the oldest are dropped (counted in
   * `status_events_reported_total{outcome="dropped"}` and logged). Default 50000 (a few MB).
   */
  maxBuffered?: number;
  /** Batches published and not yet confirmed. Default 4. */
  maxInFlight?: number;
  /** Wait before trying again when nothing can be published. Default 1000 ms. */
  retryDelayMs?: number;
  registry?: Registry;
}

/**
 * The StatusReporter of the app and the workers: `report()` only appends to a bounded buffer and returns, so
 * delivery never waits on status. A timer gathers what arrived within `windowMs` into one persistent AMQP message
 * (a JSON array, like the app's group commit) published with a confirm on STATUS_EXCHANGE. A batch the broker did
 * not confirm goes back to the front of the buffer and is sent again (events carry deterministic ids, so a copy
 * that did arrive changes nothing). Status is best-effort next to delivery: a broker away for long fills the
 * buffer and the oldest events are dropped, counted and logged, instead of growing the heap.
 *
 * Give it a ConfirmPublisher of its own: a channel the broker closes over a status publish (missing exchange,
 * denied permission) must never take down the channel deliveries are republished on.
 */
export class BrokerStatusReporter implements StatusReporter {
  private buffer: StatusEvent[] = [];
  /** Batches published and not yet confirmed, and the events in them. */
  private inFlightBatches = 0;
  private inFlightEvents = 0;
  private timer: NodeJS.Timeout | undefined;
  private droppedSinceLog = 0;
  private closed = false;
  private readonly maxBatch: number;
  private readonly windowMs: number;
  private readonly maxBuffered: number;
  private readonly maxInFlight: number;
  private readonly retryDelayMs: number;
  private readonly reported: Counter<'outcome'>;

  constructor(private readonly publisher: ConfirmPublisher, private readonly logger: Logger, options: BrokerStatusReporterOptions = {}) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.windowMs = options.windowMs ?? 100;
    this.maxBuffered = Math.max(this.maxBatch, options.maxBuffered ?? 50_000);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 4);
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    const registers = options.registry ? [options.registry] : [];
    this.reported = new Counter({
      name: 'status_events_reported_total',
      help: 'Status events handed to the broker by this process (published: confirmed; dropped: buffer full while the broker was away)',
      labelNames: ['outcome'] as const,
      registers,
    });
    // Both series from the start, so "nothing dropped" reads as 0 rather than as no data.
    this.reported.inc({ outcome: 'published' }, 0);
    this.reported.inc({ outcome: 'dropped' }, 0);
    const waiting = () => this.buffer.length;
    new Gauge({
      name: 'status_events_buffered',
      help: 'Status events waiting in memory to be published',
      registers,
      collect() {
        this.set(waiting());
      },
    });
  }

  /** Events not yet confirmed by the broker (buffered or in flight). */
  get pending(): number {
    return this.buffer.length + this.inFlightEvents;
  }

  report(event: StatusEvent): void {
    if (this.closed) return;
    this.buffer.push(event);
    if (this.buffer.length > this.maxBuffered) this.dropOldest(this.buffer.length - this.maxBuffered);
    this.schedule(this.windowMs);
  }

  /** Publishes what is buffered (for up to `timeoutMs`), then stops taking events. */
  async close(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending > 0 && Date.now() < deadline) {
      this.flush(false);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.closed = true;
    clearTimeout(this.timer);
    if (this.pending > 0) this.logger.warn({ events: this.pending }, 'status events not published before shutdown');
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.buffer.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush(false);
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Publishes what is buffered, as far as `maxInFlight` allows. `fullOnly` (after a confirm): only full batches go;
   * a partial one waits for its window, or at a steady rate every confirm would send whatever trickled in since.
   */
  private flush(fullOnly: boolean): void {
    while (this.buffer.length > 0 && this.inFlightBatches < this.maxInFlight) {
      if (fullOnly && this.buffer.length < this.maxBatch) break;
      if (this.publisher.unavailable()) {
        this.schedule(this.retryDelayMs);
        return;
      }
      const batch = this.buffer.splice(0, this.maxBatch);
      this.publish(batch);
    }
    // Full batches left behind a busy pipeline go as soon as a confirm frees a slot; a partial one waits its window.
    this.schedule(this.windowMs);
  }

  private publish(batch: StatusEvent[]): void {
    this.inFlightBatches += 1;
    this.inFlightEvents += batch.length;
    const single = batch.length === 1 ? batch[0] : undefined;
    const content = Buffer.from(JSON.stringify(single ?? batch));
    this.publisher
      .publish(STATUS_EXCHANGE, single ? statusRoutingKey(single) : 'batch', content, {
        persistent: true,
        contentType: single ? STATUS_EVENT_CONTENT_TYPE : STATUS_BATCH_CONTENT_TYPE,
        headers: single ? {} : { 'x-batch-size': batch.length },
      })
      .then(
        () => {
          this.reported.inc({ outcome: 'published' }, batch.length);
          this.inFlightBatches -= 1;
          this.inFlightEvents -= batch.length;
          if (this.droppedSinceLog > 0) {
            this.logger.info({ dropped: this.droppedSinceLog }, 'status events publishing again');
            this.droppedSinceLog = 0;
          }
          this.flush(true);
        },
        (error: unknown) => {
          this.inFlightBatches -= 1;
          this.inFlightEvents -= batch.length;
          if (this.closed) return;
          // Back to the front, in order; the bound still holds.
          this.buffer = batch.concat(this.buffer);
          if (this.buffer.length > this.maxBuffered) this.dropOldest(this.buffer.length - this.maxBuffered);
          this.logger.debug({ err: error, events: batch.length }, 'status batch not confirmed; trying again');
          this.schedule(this.retryDelayMs);
        },
      );
  }

  private dropOldest(count: number): void {
    this.buffer.splice(0, count);
    this.reported.inc({ outcome: 'dropped' }, count);
    // Log the first drop of a streak, not every one.
    if (this.droppedSinceLog === 0) this.logger.warn({ dropped: count, maxBuffered: this.maxBuffered }, 'status buffer full (broker away?); dropping the oldest status events');
    this.droppedSinceLog += count;
  }
}
