import http from 'node:http';
import type { Registry } from 'prom-client';

export interface OpsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** Replaces `registry.metrics()` for /metrics (the app: every PM2 instance's series). */
  scrape?: () => Promise<{ contentType: string; body: string }>;
  /** Whether the service can do its job now (broker connected, consuming). */
  ready: () => boolean;
}

/**
 * The small HTTP surface of a worker (and the app's ops listener, off its public port): `/healthz` (process alive), `/readyz` (broker and consumer up) and
 * `/metrics` for Prometheus. Plain node:http: three routes do not need a framework.
 */
export function startOpsServer(options: OpsServerOptions): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return reply(response, 405, { error: 'method_not_allowed' });
    if (path === '/healthz') return reply(response, 200, { status: 'ok' });
    if (path === '/readyz') {
      const ready = options.ready();
      return reply(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready' });
    }
    if (path === '/metrics') {
      const scrape = options.scrape ?? (async () => ({ contentType: options.registry.contentType, body: await options.registry.metrics() }));
      scrape()
        .then(({ contentType, body }) => {
          response.writeHead(200, { 'content-type': contentType });
          response.end(body);
        })
        .catch((error: Error) => reply(response, 500, { error: 'metrics_failed', message: error.message }));
      return;
    }
    reply(response, 404, { error: 'not_found' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve(server));
  });
}

function reply(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
