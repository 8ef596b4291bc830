import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../shared/logger/logger';
import type { AppMetrics } from './app-metrics';
import type { ClusterMetrics } from './cluster-metrics';
import { errorHandler } from './http/error-handler';
import { messageRoutes } from './http/message-routes';
import { requestMetrics } from './http/request-metrics';
import type { MessageIntake } from './message-intake';

export interface AppDeps {
  intake: MessageIntake;
  metrics: AppMetrics;
  clusterMetrics: ClusterMetrics;
  logger: Logger;
  /** Broker connected and publisher channel open. */
  ready: () => boolean;
  bodyLimit: string;
  retryAfterSeconds: number;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** The Express app: routes, request ids, metrics and the error middleware. No listening, so tests can drive it. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(
    pinoHttp({
      logger: deps.logger,
      // Keep a caller's request id (so one message can be followed across systems), else mint one.
      genReqId: (request, response) => {
        const given = request.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        response.setHeader('x-request-id', id);
        return id;
      },
      // Probes and scrapes are not worth a line each; successful requests log at debug, since at thousands per
      // second info-level access logs cost more than the work. A 503 is an expected answer (warn), not a bug.
      autoLogging: { ignore: (request) => PROBES.has(request.url ?? '') },
      customLogLevel: (_request, response, error) => {
        if (response.statusCode === 503) return 'warn';
        if (error || response.statusCode >= 500) return 'error';
        return response.statusCode >= 400 ? 'info' : 'debug';
      },
    }),
  );
  app.use(requestMetrics(deps.metrics));

  app.get('/healthz', (_request, response) => void response.json({ status: 'ok' }));
  app.get('/readyz', (_request, response) => {
    const ready = deps.ready();
    response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', broker: ready ? 'connected' : 'unavailable' });
  });
  app.get('/metrics', (_request, response, next) => {
    deps.clusterMetrics
      .scrape()
      .then(({ contentType, body }) => void response.type(contentType).send(body))
      .catch(next);
  });
  app.use(messageRoutes(deps.intake, deps.bodyLimit));
  app.use((_request, response) => void response.status(404).json({ error: 'not_found' }));
  app.use(errorHandler(deps.retryAfterSeconds));
  return app;
}
