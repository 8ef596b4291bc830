import type { RequestHandler } from 'express';
import type { AppMetrics } from '../app-metrics';

/**
 * Counts and times every answered request by its route template (never the raw URL, which would explode the
 * label's cardinality); requests that matched no route count as `unmatched`.
 */
export function requestMetrics(metrics: AppMetrics): RequestHandler {
  return (request, response, next) => {
    const started = process.hrtime.bigint();
    response.once('finish', () => {
      const route = request.route ? `${request.baseUrl}${String(request.route.path)}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.inc({ route, method: request.method, status: String(response.statusCode) });
      metrics.httpDuration.observe({ route, method: request.method }, seconds);
    });
    next();
  };
}
