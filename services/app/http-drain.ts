import type http from 'node:http';
import net from 'node:net';

/**
 * Graceful HTTP drain for a zero-downtime `pm2 reload`: once `drain()` starts, the instance stops taking new
 * connections (the PM2 cluster master routes them to the other instances), while every request that still reaches
 * it on a kept-alive connection is answered as usual (202 once durable: the publisher stays up until the end) with
 * `Connection: close`, so the client moves to another instance for its next request. Nothing is cut while a
 * request is in progress; idle kept-alive sockets are closed only after `idleGraceMs` without a request.
 */
export class HttpDrain {
  private drainingNow = false;
  private readonly open = new Set<http.ServerResponse>();

  constructor(private readonly server: http.Server) {
    // Before Express's own listener, so even an answer Express sends synchronously carries the header.
    server.prependListener('request', (_request: http.IncomingMessage, response: http.ServerResponse) => {
      if (this.drainingNow) {
        response.setHeader('Connection', 'close');
        return;
      }
      this.open.add(response);
      response.once('close', () => this.open.delete(response));
    });
  }

  get draining(): boolean {
    return this.drainingNow;
  }

  /** Resolves when every connection has closed, or after `timeoutMs` (then the rest are cut). */
  async drain(idleGraceMs: number, timeoutMs: number): Promise<void> {
    this.drainingNow = true;
    const deadline = Date.now() + timeoutMs;
    // Requests already running answer with Connection: close too.
    for (const response of this.open) if (!response.headersSent) response.setHeader('Connection', 'close');
    // net.Server's close, not http.Server's: since Node 19 the latter also closes idle kept-alive sockets at once,
    // and a request the client is writing on such a socket at that instant would be cut.
    const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(this.server, () => resolve()));
    if (await settlesWithin(closed, idleGraceMs)) return;
    // Let one poll phase run first. A timer runs before the loop reads sockets, so a process that was busy when the
    // grace ended would otherwise see a socket as idle whose next request already sits unread in the kernel buffer,
    // and cut a request the client has sent (test/unit/http-drain.test.ts reproduces it).
    await new Promise((resolve) => setImmediate(resolve));
    this.server.closeIdleConnections();
    if (await settlesWithin(closed, Math.max(0, deadline - Date.now()))) return;
    this.server.closeAllConnections();
  }
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
