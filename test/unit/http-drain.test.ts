import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { HttpDrain } from '../../services/app/http-drain';

/** A raw kept-alive client socket: the test decides to the byte when a request is written. */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with everything the server sent until it closed the socket (or the socket errored). */
function readUntilClosed(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('close', () => resolve(received));
    socket.on('error', () => undefined);
  });
}

function busyWait(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // The event loop must not run: this stands in for a process that got no CPU for a moment.
  }
}

const request = (path: string) => `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;

test('a request that reached a kept-alive socket while the process was starved is answered, not cut by the idle close', async () => {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"queued"}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const drain = new HttpDrain(server);
  const socket = await connect(port);
  const answers = readUntilClosed(socket);
  socket.write(request('/warm'));
  await new Promise((resolve) => setTimeout(resolve, 100)); // answered; the socket is idle now

  const idleGraceMs = 50;
  const drained = drain.drain(idleGraceMs, 5_000);
  // Just before the grace ends the client writes its next request; then the process stays busy past the end of the
  // grace (in the check phase, so the next loop turn starts with the expired timer, before any I/O is read). The
  // request is in the socket's kernel buffer but not read yet: closing the "idle" socket at that moment would cut a
  // request the client has already sent.
  setTimeout(() => {
    setImmediate(() => {
      socket.write(request('/during-drain'));
      busyWait(idleGraceMs * 3);
    });
  }, idleGraceMs - 20);
  await drained;

  const received = await answers;
  const statusLines = received.split('\r\n').filter((line) => line.startsWith('HTTP/1.1'));
  expect(statusLines).toEqual(['HTTP/1.1 202 Accepted', 'HTTP/1.1 202 Accepted']);
  expect(received).toMatch(/Connection: close/i);
  socket.destroy();
});

test('idle kept-alive sockets are closed after the grace, and drain resolves once all have closed', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const drain = new HttpDrain(server);
  const sockets = await Promise.all([connect(port), connect(port)]);
  const closed = sockets.map(readUntilClosed);
  for (const socket of sockets) socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  await drain.drain(200, 5_000);
  const elapsed = Date.now() - started;
  const received = await Promise.all(closed);
  expect(received.map((text) => text.startsWith('HTTP/1.1 200 OK'))).toEqual([true, true]);
  expect(elapsed).toBeGreaterThanOrEqual(190);
  expect(drain.draining).toBe(true);
});
