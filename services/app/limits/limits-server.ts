import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../../shared/logger/logger';
import { consumeRequestSchema, encodeLine, LineReader, LineWriter, type ConsumeRequest } from './limits-protocol';
import type { MemoryCounters } from './memory-counters';

/**
 * app-limits' side of the limits socket: answers each API instance's consume requests from one set of counters
 * (limits-protocol.ts has the format). What arrives is checked line by line; a line that is not a request is
 * answered with an error (and logged once per connection), a line too long to be one closes that connection.
 * Nothing a client sends can stop the server or another client's answers.
 */
export class LimitsServer {
  private server: net.Server | undefined;
  private socketPath: string | undefined;
  private readonly connections = new Set<net.Socket>();

  constructor(private readonly counters: MemoryCounters, private readonly logger: Logger) {}

  /** Clients connected now: one per API instance. */
  get connectionCount(): number {
    return this.connections.size;
  }

  async listen(socketPath: string): Promise<void> {
    await fs.mkdir(path.dirname(socketPath), { recursive: true });
    await removeStaleSocket(socketPath);
    const server = net.createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error({ err: error }, 'limits socket error'));
    this.server = server;
    this.socketPath = socketPath;
    // The API instances run as the same user; nobody else may spend (or read) the counts.
    await fs.chmod(socketPath, 0o600);
  }

  /** Stops listening, drops every connection (their pending requests fail over to a retry) and removes the file. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.connections) socket.destroy();
    await closed;
    // net.Server removes its socket file on close; this covers a close that did not get that far.
    if (this.socketPath) await fs.rm(this.socketPath, { force: true });
  }

  private serve(socket: net.Socket): void {
    this.connections.add(socket);
    socket.setEncoding('utf8');
    const writer = new LineWriter(socket);
    let malformed = 0;
    const reader = new LineReader((line) => {
      const request = parseRequest(line);
      if ('error' in request) {
        if (malformed === 0) this.logger.warn({ error: request.error }, 'malformed request on the limits socket; answered with an error');
        malformed += 1;
        writer.write(encodeLine(request));
        return;
      }
      this.answer(writer, request);
    });
    const onData = (chunk: string) => {
      if (reader.push(chunk)) return;
      socket.off('data', onData);
      this.logger.warn('line too long on the limits socket; closing that connection');
      writer.write(encodeLine({ id: null, error: 'line too long' }));
      writer.flush();
      socket.destroySoon();
    };
    socket.on('data', onData);
    // A client that went away mid-answer (EPIPE, ECONNRESET) is its own business; 'close' follows.
    socket.on('error', (error) => this.logger.debug({ err: error }, 'limits connection error'));
    socket.on('close', () => {
      this.connections.delete(socket);
      if (malformed > 1) this.logger.warn({ malformed }, 'limits connection closed after malformed requests');
    });
  }

  private answer(writer: LineWriter, request: ConsumeRequest): void {
    const { id, key, cost, want } = request;
    this.counters.consume(request, key, cost, want).then(
      (count) => writer.write(encodeLine({ id, ...count })),
      (error: Error) => {
        this.logger.error({ err: error, prefix: request.prefix }, 'consume failed');
        writer.write(encodeLine({ id, error: `consume failed: ${error.message}` }));
      },
    );
  }
}

/** A request, or the error reply for a line that is not one (with its id when the id itself is usable). */
function parseRequest(line: string): ConsumeRequest | { id: number | null; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { id: null, error: 'not JSON' };
  }
  const parsed = consumeRequestSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const id = (value as { id?: unknown } | null)?.id;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(request)'}: ${issue.message}`).join('; ');
  return { id: Number.isSafeInteger(id) && (id as number) >= 0 ? (id as number) : null, error: `invalid request: ${problems}` };
}

/**
 * A socket file left by an app-limits that died without cleaning up would make listen() fail with EADDRINUSE: it
 * is removed, unless a live server still answers on it (another stack on the same PORT), which is an error.
 */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.createConnection(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new Error(`${socketPath}: another app-limits is listening there`);
  await fs.rm(socketPath, { force: true });
}
