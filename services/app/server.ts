import express, { type Express } from 'express';
import type { Logger } from '../shared/logger/logger';
import { healthBody, notFoundBody, readinessBody, reply } from './api/bodies';
import { API_ROUTES, expressPath } from './api/routes';
import type { AppMetrics } from './app-metrics';
import type { KeyStore } from './auth/key-store';
import { apiDocsRoutes } from './http/api-docs-routes';
import { batchRoutes } from './http/batch-routes';
import { errorHandler } from './http/error-handler';
import { messageRoutes } from './http/message-routes';
import { requestContext } from './http/request-context';
import { requestMetrics } from './http/request-metrics';
import { statusRoutes } from './http/status-routes';
import type { RateLimits } from './limits/rate-limits';
import type { MessageIntake } from './message-intake';
import type { SmsPolicyOptions } from './sms-policy';
import type { StatusQueries } from './status/status-queries';
import { twilioCallbackRoute, type TwilioCallbackDeps } from './callbacks/twilio-callback-route';

export interface AppDeps {
  intake: MessageIntake;
  metrics: AppMetrics;
  keys: KeyStore;
  limits: RateLimits;
  smsPolicy: SmsPolicyOptions;
  /** Reads of the status database (GET /v1/messages). */
  statusQueries: StatusQueries;
  logger: Logger;
  /** Broker connected and publisher channel open. */
  ready: () => boolean;
  /** Draining (shutdown started): /readyz answers 503 (HttpDrain closes the connections). */
  draining?: () => boolean;
  bodyLimit: string;
  retryAfterSeconds: number;
  /** Twilio status callbacks (public route, signature-checked); without it the route does not exist. */
  twilioCallbacks?: Omit<TwilioCallbackDeps, 'metrics'>;
}

/**
 * The public Express app: the /v1 routes, request ids, metrics and the error middleware, and the API's own
 * description (/openapi.json, /docs). Every route is an entry of api/routes.ts. No listening, so tests can drive it. /healthz and /readyz stay here for load balancers that probe the port they send traffic to; /metrics
 * is only on the ops listener (OPS_PORT), so the public port never shows the service's internals.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags on 202s and errors are never used by API clients, and hashing every body costs CPU on the accept path.
  app.set('etag', false);
  app.use(requestContext(deps.logger));
  app.use(requestMetrics(deps.metrics));

  app.get(expressPath(API_ROUTES.health), (_request, response) => reply(response, 200, healthBody, { status: 'ok' }));
  app.get(expressPath(API_ROUTES.readiness), (_request, response) => {
    const ready = deps.ready() && !deps.draining?.();
    reply(response, ready ? 200 : 503, readinessBody, { status: ready ? 'ready' : 'not_ready', broker: ready ? 'connected' : 'unavailable' });
  });
  // Before the /v1 API-key check: Twilio cannot send a key; its signature authenticates the callback instead.
  if (deps.twilioCallbacks) app.use(twilioCallbackRoute({ ...deps.twilioCallbacks, metrics: deps.metrics }));
  app.use(apiDocsRoutes());
  app.use(messageRoutes({ intake: deps.intake, keys: deps.keys, limits: deps.limits, smsPolicy: deps.smsPolicy, bodyLimit: deps.bodyLimit }));
  app.use(statusRoutes({ keys: deps.keys, queries: deps.statusQueries }));
  app.use(batchRoutes({ intake: deps.intake, limits: deps.limits, smsPolicy: deps.smsPolicy, retryAfterSeconds: deps.retryAfterSeconds }));
  app.use((_request, response) => reply(response, 404, notFoundBody, { error: 'not_found' }));
  app.use(errorHandler(deps.retryAfterSeconds));
  return app;
}
