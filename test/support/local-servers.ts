import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** An HTTP server on a free loopback port, answering with `handler`; `close` stops it. */
export async function startHttpServer(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A free port nobody listens on (bound then released), for connection-refused cases. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real SMTP server whose RCPT TO and DATA answers are chosen by the test. */
export async function startSmtpServer(options: {
  rcpt?: (address: string) => { code: number; message: string } | undefined;
  data?: () => { code: number; message: string } | undefined;
  mailFrom?: () => { code: number; message: string } | undefined;
  /** Refuse every AUTH (535). */
  rejectAuth?: boolean;
}): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(_auth, _session, callback) {
      if (options.rejectAuth) return callback(Object.assign(new Error('5.7.8 invalid credentials'), { responseCode: 535 }));
      callback(null, { user: 'test' });
    },
    onMailFrom(_address, _session, callback) {
      const refusal = options.mailFrom?.();
      callback(refusal ? Object.assign(new Error(refusal.message), { responseCode: refusal.code }) : undefined);
    },
    onRcptTo(address, _session, callback) {
      const refusal = options.rcpt?.(address.address);
      callback(refusal ? Object.assign(new Error(refusal.message), { responseCode: refusal.code }) : undefined);
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        const refusal = options.data?.();
        callback(refusal ? Object.assign(new Error(refusal.message), { responseCode: refusal.code }) : undefined);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
