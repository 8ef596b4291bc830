import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KeyLeases } from '../../services/app/limits/key-leases';
import { LimiterUnavailableError, LimitsClient } from '../../services/app/limits/limits-client';
import { LimitsServer } from '../../services/app/limits/limits-server';
import { MemoryCounters } from '../../services/app/limits/memory-counters';
import { RateLimits } from '../../services/app/limits/rate-limits';
import type { ApiKey } from '../../services/app/auth/api-keys';
import { createLogger } from '../../services/shared/logger/logger';
import { waitFor } from '../support/wait';

// app-limits' counters served on a real unix socket in a temp folder (limits-server.ts) and the API instances'
// client (limits-client.ts), both in this process: no PM2, no ports.
const logger = createLogger('test', process.env.LOG_LEVEL ?? 'silent');
const spec = (points: number, prefix = 'test') => ({ prefix, points, duration: 100 });

let dir: string;
let socketPath: string;
const servers: LimitsServer[] = [];
const clients: LimitsClient[] = [];

async function startServer(at = socketPath): Promise<LimitsServer> {
  const server = new LimitsServer(new MemoryCounters(), logger);
  await server.listen(at);
  servers.push(server);
  return server;
}

function client(timeoutMs = 300): LimitsClient {
  const created = new LimitsClient({ socketPath, timeoutMs, logger, reconnectMinMs: 10, reconnectMaxMs: 50 });
  clients.push(created);
  return created;
}

/** A raw connection to the server and every line it answers. */
async function rawConnection(): Promise<{ socket: net.Socket; lines: unknown[]; closed: Promise<void> }> {
  const socket = net.createConnection(socketPath);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const lines: unknown[] = [];
  let buffer = '';
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) lines.push(JSON.parse(part));
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, lines, closed };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-limits-'));
  socketPath = path.join(dir, 'limits.sock');
});

afterEach(async () => {
  for (const created of clients.splice(0)) created.close();
  for (const server of servers.splice(0)) await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('many consumes pipelined on one connection per client; two clients share one count', async () => {
  const server = await startServer();
  const [a, b] = [client(2000), client(2000)];
  const counts = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).consume(spec(30), 'k', 1)));
  expect(counts.filter((count) => count.allowed)).toHaveLength(30);
  expect(counts.filter((count) => !count.allowed).every((count) => count.remaining === 0 && count.resetMs > 0)).toBe(true);
  // Each answer went to the request it belongs to: the allowed ones saw every remaining value from 29 to 0 once.
  expect(counts.filter((count) => count.allowed).map((count) => count.remaining).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  expect(server.connectionCount).toBe(2);
  // Another prefix, points or duration is another limiter; the cost counts that many points at once.
  expect(await a.consume(spec(30, 'other'), 'k', 5)).toMatchObject({ allowed: true, remaining: 25 });
  expect(await a.consume({ ...spec(30), duration: 50 }, 'k', 1)).toMatchObject({ allowed: true, remaining: 29 });
});

test('when the server stops, a consume fails with LimiterUnavailableError after the timeout', async () => {
  const server = await startServer();
  const limits = client(200);
  expect((await limits.consume(spec(10), 'k', 1)).allowed).toBe(true);
  await server.close();
  const started = Date.now();
  await expect(limits.consume(spec(10), 'k', 1)).rejects.toThrow(LimiterUnavailableError);
  expect(Date.now() - started).toBeGreaterThanOrEqual(180);
  expect(limits.inFlight).toBe(0);
});

test('a server that never answers in time: the consume times out, and the late answer is ignored', async () => {
  let late: () => void = () => undefined;
  const slow = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      const { id } = JSON.parse(chunk.toString('utf8')) as { id: number };
      late = () => socket.write(`${JSON.stringify({ id, allowed: true, remaining: 1, resetMs: 1 })}\n`);
    });
  });
  await new Promise<void>((resolve) => slow.listen(socketPath, resolve));
  try {
    const limits = client(150);
    await expect(limits.consume(spec(10), 'k', 1)).rejects.toThrow(/did not answer within 150 ms/);
    expect(limits.inFlight).toBe(0);
    late();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(limits.consume(spec(10), 'k', 1)).rejects.toThrow(LimiterUnavailableError);
  } finally {
    for (const created of clients.splice(0)) created.close();
    await new Promise((resolve) => slow.close(resolve));
  }
});

test('a consume sent when the connection drops fails at once; after a restart the client reconnects and counts start afresh', async () => {
  const server = await startServer();
  const limits = client(1000);
  expect(await limits.consume(spec(10), 'k', 4)).toMatchObject({ remaining: 6 });
  // Stopped without answering what is in flight: the client learns of it from the closed connection, not a timeout.
  const inFlight = limits.consume(spec(10), 'k', 1);
  const started = Date.now();
  await server.close();
  await inFlight.then(
    () => undefined, // answered before the close got there: fine
    (error: Error) => expect(error).toBeInstanceOf(LimiterUnavailableError),
  );
  expect(Date.now() - started).toBeLessThan(500);
  // A consume made while the server is away waits for it, within its timeout.
  const waiting = limits.consume(spec(10), 'k', 1);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const restarted = await startServer();
  expect(await waiting).toMatchObject({ allowed: true, remaining: 9 });
  expect(restarted.connectionCount).toBe(1);
});

test('the client connects when the server starts after it (warm-up), and RateLimits answers 503 or fails open without it', async () => {
  const key: ApiKey = { name: 'k', hash: `sha256:${'0'.repeat(64)}`, channels: ['sms'], rate: 1, burst: 3, recipientLimit: true };
  const limits = new RateLimits({ store: 'pm2', socketPath, recipientMax: 2, recipientWindowSeconds: 60, timeoutMs: 100, logger });
  let draining = false;
  const drainingLimits = new RateLimits({ store: 'pm2', socketPath, recipientMax: 2, recipientWindowSeconds: 60, timeoutMs: 100, failOpen: () => draining });
  try {
    expect(await limits.warmUp(250)).toBe(false);
    await expect(limits.forKey(key)).rejects.toThrow(LimiterUnavailableError);
    draining = true;
    expect(await drainingLimits.forKey(key)).toMatchObject({ allowed: true, limit: 3 });
    draining = false;
    // app-limits comes up while the instance waits for it, as at the stack's start.
    const warm = limits.warmUp(3000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await startServer();
    expect(await warm).toBe(true);
    const decisions = await Promise.all([limits.forKey(key), drainingLimits.forKey(key), limits.forKey(key), drainingLimits.forKey(key)]);
    expect(decisions.map((decision) => decision.allowed).sort()).toEqual([false, true, true, true]);
    expect(await limits.forRecipient(key, '+14155550100')).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
  } finally {
    limits.close();
    drainingLimits.close();
  }
});

test('malformed lines are answered with an error, with their id when it is usable; the connection keeps serving', async () => {
  await startServer();
  const { socket, lines } = await rawConnection();
  const valid = { id: 9, prefix: 'raw', points: 2, duration: 10, key: 'k', cost: 1 };
  socket.write('not json\n');
  socket.write('null\n[]\n"text"\n');
  socket.write(`${JSON.stringify({ ...valid, id: 5, points: -1 })}\n`);
  socket.write(`${JSON.stringify({ ...valid, id: 6, cost: 1.5, key: '' })}\n`);
  socket.write(`${JSON.stringify({ ...valid, id: -1 })}\n`);
  socket.write(`${JSON.stringify({ ...valid, duration: 0, id: 7 })}\n\n`);
  // Split across writes: a line is read whole however the bytes arrive.
  const line = JSON.stringify(valid);
  socket.write(line.slice(0, 10));
  await new Promise((resolve) => setTimeout(resolve, 20));
  socket.write(`${line.slice(10)}\n`);
  await waitFor('every line answered', async () => (lines.length === 9 ? true : undefined), 2000);
  const errors = lines.slice(0, 8) as Array<{ id: number | null; error: string }>;
  expect(errors.map((reply) => reply.id)).toEqual([null, null, null, null, 5, 6, null, 7]);
  expect(errors.every((reply) => typeof reply.error === 'string')).toBe(true);
  expect(errors[4]!.error).toMatch(/points/);
  expect(errors[5]!.error).toMatch(/cost/);
  expect(lines[8]).toEqual({ id: 9, allowed: true, remaining: 1, resetMs: expect.any(Number) });
  socket.destroy();
});

test('a line too long closes that connection only; other clients are served', async () => {
  await startServer();
  const limits = client(1000);
  expect((await limits.consume(spec(10), 'k', 1)).allowed).toBe(true);
  const { socket, lines, closed } = await rawConnection();
  socket.write('x'.repeat(40_000));
  await closed;
  expect(lines).toEqual([{ id: null, error: 'line too long' }]);
  expect(await limits.consume(spec(10), 'k', 1)).toMatchObject({ allowed: true, remaining: 8 });
});

test('a stale socket file is replaced at start; a live server on the path is not', async () => {
  fs.writeFileSync(socketPath, '');
  await startServer();
  expect((await client().consume(spec(1), 'k', 1)).allowed).toBe(true);
  const second = new LimitsServer(new MemoryCounters(), logger);
  await expect(second.listen(socketPath)).rejects.toThrow(/another app-limits is listening/);
  expect(fs.statSync(socketPath).mode & 0o777).toBe(0o600);
});

test('consumes made in one turn go out as one write, and their answers come back as one', async () => {
  // Every socket write is a system call; count them. The stand-in app-limits answers each chunk in one write.
  const writes = jest.spyOn(net.Socket.prototype, 'write');
  const writesBy = (socket: net.Socket) => writes.mock.contexts.filter((context) => context === socket).length;
  const standIns: net.Socket[] = [];
  const raw = net.createServer((socket) => {
    standIns.push(socket);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const answers = chunk.split('\n').filter(Boolean).map((line) => `${JSON.stringify({ id: (JSON.parse(line) as { id: number }).id, allowed: true, remaining: 1, resetMs: 1 })}\n`);
      socket.write(answers.join(''));
    });
  });
  await new Promise<void>((resolve) => raw.listen(socketPath, resolve));
  try {
    const limits = client(1000);
    await limits.consume(spec(100), 'warm-up', 1);
    writes.mockClear();
    const counts = await Promise.all(Array.from({ length: 50 }, (_, i) => limits.consume(spec(100), `k${i}`, 1)));
    expect(counts.every((count) => count.allowed)).toBe(true);
    const clientWrites = writes.mock.contexts.filter((context) => !standIns.includes(context as net.Socket));
    expect(clientWrites).toHaveLength(1);
    expect(String(writes.mock.calls[0]![0]).split('\n').filter(Boolean)).toHaveLength(50);

    // The real server: fifty requests read at once are answered in one write.
    for (const created of clients.splice(0)) created.close();
    await new Promise<void>((resolve) => raw.close(() => resolve()));
    await startServer();
    const { socket, lines } = await rawConnection();
    socket.write(Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i + 1, ...spec(100), key: `k${i}`, cost: 1 })).join('\n') + '\n');
    writes.mockClear();
    await waitFor('fifty answers', async () => (lines.length === 50 ? true : undefined), 2000);
    expect(writes.mock.calls.length - writesBy(socket)).toBe(1);
    socket.destroy();
  } finally {
    writes.mockRestore();
    if (raw.listening) raw.close();
  }
});

describe('key leases (key-leases.ts) over the socket', () => {
  /** A server whose counters tell how many requests reached them. */
  async function countingServer(): Promise<{ calls: () => number }> {
    const counters = new MemoryCounters();
    const consume = jest.spyOn(counters, 'consume');
    const server = new LimitsServer(counters, logger);
    await server.listen(socketPath);
    servers.push(server);
    return { calls: () => consume.mock.calls.length };
  }

  test('an instance spends a lease locally: 510 requests of a large limit make 10 round trips', async () => {
    const counted = await countingServer();
    const leases = new KeyLeases(client());
    const results = [];
    for (let i = 0; i < 510; i += 1) results.push(await leases.consume(spec(2000), 'key', 1));
    expect(results.every((count) => count.allowed)).toBe(true);
    expect(counted.calls()).toBe(10); // 1 + 50 leased each time
    // Remaining counts what the instance still holds: the window's 2000 minus the 510 spent.
    expect(results.at(-1)?.remaining).toBe(2000 - 510);
  });

  test('two instances with leases never admit more than the limit, and together admit all of it', async () => {
    await startServer();
    const instances = [new KeyLeases(client()), new KeyLeases(client())];
    let allowed = 0;
    let refused = 0;
    for (let i = 0; i < 600; i += 1) {
      const count = await (instances[i % 2] as KeyLeases).consume(spec(300), 'key', 1);
      if (count.allowed) allowed += 1;
      else refused += 1;
    }
    expect(allowed).toBe(300);
    expect(refused).toBe(300);
  });

  test('a lease is never larger than what the window has left; a cost over it is refused', async () => {
    const counters = new MemoryCounters();
    expect(await counters.consume(spec(100), 'key', 1, 95)).toMatchObject({ allowed: true, granted: 95, remaining: 5 });
    expect(await counters.consume(spec(100), 'key', 2, 50)).toMatchObject({ allowed: true, granted: 5, remaining: 0 });
    expect(await counters.consume(spec(100), 'key', 1, 50)).toMatchObject({ allowed: false, granted: 0, remaining: 0 });
  });

  test('leases asked for at once are granted one after another: the window is handed out whole, never overdrawn', async () => {
    const counters = new MemoryCounters();
    const counts = await Promise.all(Array.from({ length: 6 }, () => counters.consume(spec(100), 'key', 1, 30)));
    expect(counts.map((count) => count.granted)).toEqual([30, 30, 30, 10, 0, 0]);
  });

  test('a small limit is counted exactly, one round trip per request', async () => {
    const counted = await countingServer();
    const leases = new KeyLeases(client());
    const results = [];
    for (let i = 0; i < 25; i += 1) results.push(await leases.consume(spec(20), 'key', 1));
    expect(counted.calls()).toBe(25);
    expect(results.filter((count) => count.allowed)).toHaveLength(20);
  });

  test('unspent points end with their window: the next request asks app-limits again', async () => {
    const counted = await countingServer();
    let now = 1_000_000;
    const leases = new KeyLeases(client(), { now: () => now });
    await leases.consume(spec(2000), 'key', 1);
    await leases.consume(spec(2000), 'key', 1);
    expect(counted.calls()).toBe(1);
    now += 101_000; // past the 100 s window
    await leases.consume(spec(2000), 'key', 1);
    expect(counted.calls()).toBe(2);
  });
});
