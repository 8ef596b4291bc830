import express, { type Express } from 'express';
import type { Logger } from '../shared/logger/logger';
import type { AppMetrics } from './app-metrics';
import type { ClusterMetrics } from './cluster-metrics';
import { batchRoutes } from './http/batch-routes';
import { errorHandler } from './http/error-handler';
import { messageRoutes } from './http/message-routes';
import { requestContext } from './http/request-context';
import { requestMetrics } from './http/request-metrics';
import type { MessageIntake } from './message-intake';

export interface AppDeps {
  intake: MessageIntake;
  metrics: AppMetrics;
  clusterMetrics: ClusterMetrics;
  logger: Logger;
  /** Broker connected and publisher channel open. */
  ready: () => boolean;
  /** Draining (shutdown started): /readyz answers 503 (HttpDrain closes the connections). */
  draining?: () => boolean;
  bodyLimit: string;
  retryAfterSeconds: number;
}

/** The Express app: routes, request ids, metrics and the error middleware. No listening, so tests can drive it. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags on 202s and errors are never used by API clients, and hashing every body costs CPU on the accept path.
  app.set('etag', false);
  app.use(requestContext(deps.logger));
  app.use(requestMetrics(deps.metrics));

  app.get('/healthz', (_request, response) => void response.json({ status: 'ok' }));
  app.get('/readyz', (_request, response) => {
    const ready = deps.ready() && !deps.draining?.();
    response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', broker: ready ? 'connected' : 'unavailable' });
  });
  app.get('/metrics', (_request, response, next) => {
    deps.clusterMetrics
      .scrape()
      .then(({ contentType, body }) => void response.type(contentType).send(body))
      .catch(next);
  });
  app.use(messageRoutes(deps.intake, deps.bodyLimit));
  app.use(batchRoutes(deps.intake, deps.retryAfterSeconds));
  app.use((_request, response) => void response.status(404).json({ error: 'not_found' }));
  app.use(errorHandler(deps.retryAfterSeconds));
  return app;
}
