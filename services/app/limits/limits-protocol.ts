import { z } from 'zod';

/**
 * The wire format between the API instances (limits-client.ts) and app-limits (limits-server.ts) on a unix socket:
 * newline-delimited JSON, one object a line. Every request carries an id its reply repeats, so one connection
 * carries many requests at once and replies may come in any order.
 *
 * request: {"id":7,"prefix":"relay-key:billing:20:10","points":20,"duration":2,"key":"key","cost":1}
 * reply:   {"id":7,"allowed":true,"remaining":19,"resetMs":1998}   or   {"id":7,"error":"..."}
 * A request may add `"want":51`: take up to 51 points if the window has them, at least `cost` (a lease, see
 * key-leases.ts); its reply then says how many it took: {"id":8,"allowed":true,"granted":51,"remaining":1900,...}.
 * A line the server cannot read as a request is answered {"id":null,"error":"..."} when it has no usable id.
 */

/** The longest line (in characters) either side accepts; a request is about 100, so anything near this is garbage. */
export const MAX_LINE_LENGTH = 16 * 1024;

/** The limiter a count belongs to: the same prefix, points and duration are the same counters everywhere. */
export const limitSpecSchema = z.object({
  prefix: z.string().min(1).max(512),
  /** What the window holds. */
  points: z.number().int().positive().max(1e9),
  /** The window in seconds (fractional: a key's window is burst / rate). */
  duration: z.number().positive().finite(),
});

export type LimitSpec = z.infer<typeof limitSpecSchema>;

/** A limiter's name: points and duration are part of it, so a key whose limits change gets a count of its own. */
export function limiterName(spec: LimitSpec): string {
  return `${spec.prefix}\u0000${spec.points}\u0000${spec.duration}`;
}

const idSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const consumeRequestSchema = limitSpecSchema.extend({
  id: idSchema,
  /** Who is counted: the literal `key` for a key's own limiter, the phone number for the recipient limiter. */
  key: z.string().min(1).max(512),
  /** Points at once (a batch counts each of its items). */
  cost: z.number().int().positive().max(1e9),
  /** Take up to this many points (at least `cost`) when the window has them: a lease for the instance to spend. */
  want: z.number().int().positive().max(1e9).optional(),
});

export type ConsumeRequest = z.infer<typeof consumeRequestSchema>;

/** The outcome of one consume, whichever store counted it. */
export interface Count {
  allowed: boolean;
  /** Points taken, when the request asked for a lease (`want`): from `cost` up to `want`. */
  granted?: number;
  /** Points left in the current window. */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export const countReplySchema = z.object({
  id: idSchema,
  allowed: z.boolean(),
  granted: z.number().int().nonnegative().optional(),
  remaining: z.number().nonnegative(),
  resetMs: z.number(),
});

export const errorReplySchema = z.object({ id: idSchema.nullable(), error: z.string() });

export const replySchema = z.union([countReplySchema, errorReplySchema]);

export type Reply = z.infer<typeof replySchema>;

/** The line a value is sent as. */
export function encodeLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** Where a LineWriter puts its text: a socket, in practice. */
export interface TextSink {
  readonly writable: boolean;
  write(text: string): boolean;
}

/**
 * Gathers the lines written in one turn of the event loop and hands them to the sink as one write. Each socket
 * write is a system call: under load the app spent 14 % of its CPU in one write per consume request (a
 * `--cpu-prof` of the app at saturation, docs/performance.md). Lines go out in the check phase of the same turn,
 * after every request read in its poll phase, so nothing waits for a timer.
 */
export class LineWriter {
  private lines: string[] = [];
  private scheduled = false;

  constructor(private readonly sink: TextSink) {}

  write(line: string): void {
    this.lines.push(line);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is gathered now (also called by the timer); lines for a sink no longer writable are dropped. */
  flush(): void {
    this.scheduled = false;
    const text = this.lines.join('');
    this.lines = [];
    if (text !== '' && this.sink.writable) this.sink.write(text);
  }
}

/**
 * Splits a stream of utf8 text (socket.setEncoding('utf8'), so a character is never cut in two) into lines. A
 * line longer than MAX_LINE_LENGTH is an error: the peer is not speaking this protocol, and buffering without
 * bound would let it exhaust our memory.
 */
export class LineReader {
  private buffer = '';

  constructor(private readonly onLine: (line: string) => void, private readonly maxLength = MAX_LINE_LENGTH) {}

  /** Feeds a chunk; false when the pending line grew past the limit (the caller drops the connection). */
  push(chunk: string): boolean {
    let start = 0;
    let end = chunk.indexOf('\n');
    while (end !== -1) {
      const line = this.buffer + chunk.slice(start, end);
      this.buffer = '';
      if (line.length > this.maxLength) return false;
      if (line.trim() !== '') this.onLine(line);
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    this.buffer += chunk.slice(start);
    return this.buffer.length <= this.maxLength;
  }
}
