import { BATCH_CONTENT_TYPE, ENVELOPE_CONTENT_TYPE, type Envelope } from '../shared/envelope/envelope';
import { BrokerUnavailableError } from '../shared/messaging/errors';
import type { ConfirmPublisher } from '../shared/messaging/publisher';
import { HEADERS, MESSAGES_EXCHANGE, type MessageType } from '../shared/messaging/topology';
import { waitUntil } from '../shared/process/wait-until';

export interface GroupCommitOptions {
  /** Most envelopes in one AMQP message; 1 turns group commit off. Default 100. */
  maxBatch?: number;
  /** Envelopes accepted but not yet confirmed (waiting or in flight) before new ones get 503. Default 10000. */
  maxPending?: number;
  /** The same bound in bytes of encoded envelopes, so large bodies cannot grow the heap past it. Default 64 MiB. */
  maxPendingBytes?: number;
  /**
   * Largest AMQP message body a batch may reach; a batch is published early rather than grow past it. Keep it
   * well below the broker's `max_message_size` (128 MiB on 3.10, 16 MiB by default on 4.x). Default 4 MiB.
   */
  maxBatchBytes?: number;
  /**
   * How long the first envelope of a batch waits for others, in ms. 0: only those arriving in the same event-loop
   * turn share a message. Under load a millisecond gathers several times more, for one broker write and confirm.
   */
  windowMs?: number;
  /** Told the size of every AMQP message published (envelopes per message). */
  onBatch?: (size: number) => void;
}

interface Waiting {
  envelope: Envelope;
  /** The envelope's JSON, encoded once at acceptance (also what the byte bounds count). */
  json: string;
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The envelopes of one type waiting for the same AMQP message, and the bytes its body will have. */
interface Batch {
  items: Waiting[];
  bytes: number;
}

/**
 * Group commit: the requests of one type that arrive together (the same event-loop turn, or `windowMs`) share one
 * persistent AMQP message and one publisher confirm. Each request still resolves only when the broker confirmed
 * the message that holds its envelope, so a 202 keeps meaning "durable". The broker stores,
 * replicates and delivers one message instead of N; the worker handles every item on its own.
 */
export class GroupCommitPublisher {
  private readonly waiting = new Map<MessageType, Batch>();
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private readonly maxPendingBytes: number;
  private readonly maxBatchBytes: number;
  private pendingBytesCount = 0;
  private readonly windowMs: number;
  private readonly onBatch: (size: number) => void;
  private pendingCount = 0;

  constructor(private readonly publisher: ConfirmPublisher, options: GroupCommitOptions = {}) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 100);
    this.maxPending = options.maxPending ?? 10_000;
    this.maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.windowMs = options.windowMs ?? 0;
    this.onBatch = options.onBatch ?? (() => undefined);
  }

  /** Envelopes waiting for their batch to be published or confirmed. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Bytes of the envelopes waiting for their batch to be published or confirmed. */
  get pendingBytes(): number {
    return this.pendingBytesCount;
  }

  /** Waits until every accepted envelope was confirmed or refused (used when draining), up to `timeoutMs`. */
  settle(timeoutMs: number): Promise<void> {
    return waitUntil(() => this.pendingCount === 0, timeoutMs);
  }

  publish(envelope: Envelope): Promise<void> {
    // Refuse at once what cannot be made durable now, instead of queueing it in memory.
    const unavailable = this.publisher.unavailable();
    if (unavailable) return Promise.reject(unavailable);
    if (this.pendingCount >= this.maxPending) {
      return Promise.reject(new BrokerUnavailableError('buffer_full', `${this.pendingCount} messages already awaiting confirms`));
    }
    const json = JSON.stringify(envelope);
    const bytes = Buffer.byteLength(json);
    if (this.pendingBytesCount + bytes > this.maxPendingBytes) {
      return Promise.reject(new BrokerUnavailableError('buffer_full', `${this.pendingBytesCount} bytes already awaiting confirms`));
    }
    this.pendingCount += 1;
    this.pendingBytesCount += bytes;
    return new Promise<void>((resolve, reject) => {
      const item: Waiting = { envelope, json, bytes, resolve, reject };
      let batch = this.waiting.get(envelope.type);
      // "[" + items joined by "," + "]": publish the batch first if this item would take it past maxBatchBytes.
      if (batch && batch.bytes + bytes + 1 > this.maxBatchBytes) {
        this.flush(envelope.type, batch);
        batch = undefined;
      }
      if (!batch) {
        const fresh: Batch = { items: [], bytes: 1 };
        this.waiting.set(envelope.type, fresh);
        if (this.windowMs > 0) setTimeout(() => this.flush(envelope.type, fresh), this.windowMs);
        else setImmediate(() => this.flush(envelope.type, fresh));
        batch = fresh;
      }
      batch.items.push(item);
      batch.bytes += bytes + 1;
      if (batch.items.length >= this.maxBatch) this.flush(envelope.type, batch);
    });
  }

  private flush(type: MessageType, batch: Batch): void {
    if (this.waiting.get(type) !== batch) return; // already flushed (size limit), this is the stale timer
    this.waiting.delete(type);
    const queue = batch.items;
    const envelopes = queue.map((item) => item.envelope);
    this.onBatch(envelopes.length);
    const single = envelopes.length === 1 ? envelopes[0] : undefined;
    const content = Buffer.from(single ? (queue[0] as Waiting).json : `[${queue.map((item) => item.json).join(',')}]`);
    const first = envelopes[0] as Envelope;
    this.publisher
      .publish(MESSAGES_EXCHANGE, type, content, {
        persistent: true,
        messageId: single ? single.id : `batch-${first.id}`,
        timestamp: Math.floor(Date.parse(first.acceptedAt) / 1000),
        contentType: single ? ENVELOPE_CONTENT_TYPE : BATCH_CONTENT_TYPE,
        headers: single?.requestId ? { [HEADERS.requestId]: single.requestId } : { 'x-batch-size': envelopes.length },
      })
      .then(
        () => queue.forEach((item) => item.resolve()),
        (error: unknown) => queue.forEach((item) => item.reject(error)),
      )
      .finally(() => {
        this.pendingCount -= queue.length;
        this.pendingBytesCount -= batch.bytes - 1 - queue.length;
      });
  }
}
