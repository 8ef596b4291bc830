import net from 'node:net';
import type { Logger } from '../../shared/logger/logger';
import { RetrySchedule } from '../../shared/messaging/backoff';
import { encodeLine, LineReader, LineWriter, replySchema, type Count, type ConsumeRequest, type LimitSpec } from './limits-protocol';

/** The shared counter did not answer in time (app-limits is down or restarting): the request is refused with 503. */
export class LimiterUnavailableError extends Error {
  readonly code = 'LIMITER_UNAVAILABLE';
}

export interface LimitsClientOptions {
  /** app-limits' unix socket (LIMITS_SOCKET). */
  socketPath: string;
  /** How long one consume may wait for its answer, including a wait for the connection. */
  timeoutMs: number;
  logger?: Logger;
  /** Reconnect backoff bounds; the ceiling stays below timeoutMs so a waiting request sees app-limits come back. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

interface Pending {
  line: string;
  sent: boolean;
  timer: NodeJS.Timeout;
  resolve: (count: Count) => void;
  reject: (error: Error) => void;
}

/**
 * An API instance's side of the limits socket (limits-protocol.ts): one persistent connection to app-limits that
 * carries every consume of this process, pipelined, matched to its answer by id. A consume made while the
 * connection is down waits for it (it is sent once connected); every consume fails with LimiterUnavailableError
 * after `timeoutMs`, and one already sent fails at once when the connection drops (app-limits restarting: its
 * answer will never come). The connection is re-made with backoff for as long as the client is open.
 */
export class LimitsClient {
  private socket: net.Socket | undefined;
  private writer: LineWriter | undefined;
  private connected = false;
  private closed = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly reconnect: RetrySchedule;
  /** Logged once per outage, not at every retry. */
  private outage = false;

  constructor(private readonly options: LimitsClientOptions) {
    this.reconnect = new RetrySchedule(options.reconnectMinMs ?? 20, options.reconnectMaxMs ?? Math.min(500, options.timeoutMs / 2));
  }

  /** Consumes answered or waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Counts `cost` points in app-limits; with `want`, takes up to that many (a lease: `granted` says how many). */
  consume(spec: LimitSpec, key: string, cost: number, want?: number): Promise<Count> {
    if (this.closed) return Promise.reject(new LimiterUnavailableError('rate limiter client closed'));
    const id = this.nextId++;
    const request: ConsumeRequest = { id, prefix: spec.prefix, points: spec.points, duration: spec.duration, key, cost, ...(want === undefined ? {} : { want }) };
    return new Promise<Count>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LimiterUnavailableError(`app-limits did not answer within ${this.options.timeoutMs} ms${this.connected ? '' : ' (not connected)'}`));
      }, this.options.timeoutMs);
      const pending: Pending = { line: encodeLine(request), sent: false, timer, resolve, reject };
      this.pending.set(id, pending);
      if (this.connected) this.send(pending);
      else this.connect();
    });
  }

  /** Fails what is pending and stops reconnecting; the process can then exit on its own. */
  close(): void {
    this.closed = true;
    this.reconnect.cancel();
    this.socket?.destroy();
    this.failPending(() => true, 'rate limiter client closed');
  }

  /** Opens the connection unless it is open, opening, or a reconnect is already scheduled. */
  private connect(): void {
    if (this.closed || this.socket || this.reconnect.pending) return;
    const socket = net.createConnection(this.options.socketPath);
    this.socket = socket;
    const writer = new LineWriter(socket);
    this.writer = writer;
    socket.setEncoding('utf8');
    const reader = new LineReader((line) => this.receive(line));
    socket.on('connect', () => {
      this.connected = true;
      this.reconnect.reset();
      if (this.outage) this.options.logger?.info({ socket: this.options.socketPath }, 'app-limits reachable again');
      this.outage = false;
      for (const pending of this.pending.values()) if (!pending.sent) this.send(pending);
    });
    socket.on('data', (chunk: string) => {
      if (!reader.push(chunk)) socket.destroy(new Error('line too long from app-limits'));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.outage) this.options.logger?.warn({ err: error, socket: this.options.socketPath }, 'app-limits unreachable; reconnecting');
      this.outage = true;
    });
    socket.on('close', () => {
      this.socket = undefined;
      this.writer = undefined;
      this.connected = false;
      // Sent requests will never be answered on a new connection; unsent ones wait for it (or their timeout).
      this.failPending((pending) => pending.sent, 'connection to app-limits lost');
      if (!this.closed) this.reconnect.schedule(() => this.connect());
    });
  }

  private send(pending: Pending): void {
    pending.sent = true;
    this.writer?.write(pending.line);
  }

  private receive(line: string): void {
    let reply;
    try {
      reply = replySchema.parse(JSON.parse(line));
    } catch {
      this.options.logger?.warn({ line: line.slice(0, 200) }, 'unreadable answer from app-limits; ignored');
      return;
    }
    if (reply.id === null) {
      this.options.logger?.warn({ error: 'error' in reply ? reply.error : undefined }, 'app-limits refused a request without an id');
      return;
    }
    // An answer that came after its request timed out has nobody waiting.
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if ('error' in reply) pending.reject(new LimiterUnavailableError(`app-limits refused the request: ${reply.error}`));
    else pending.resolve({ allowed: reply.allowed, remaining: reply.remaining, resetMs: reply.resetMs, ...(reply.granted === undefined ? {} : { granted: reply.granted }) });
  }

  private failPending(which: (pending: Pending) => boolean, reason: string): void {
    for (const [id, pending] of this.pending) {
      if (!which(pending)) continue;
      this.pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new LimiterUnavailableError(reason));
    }
  }
}
