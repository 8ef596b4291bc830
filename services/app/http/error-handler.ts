import type { ErrorRequestHandler } from 'express';
import { BrokerUnavailableError } from '../../shared/messaging/errors';
import { LimiterUnavailableError } from '../limits/rate-limits';
import { StatusUnavailableError } from './status-routes';

/** Body-parser's errors carry `type` and `status`; see https://github.com/expressjs/body-parser#errors */
interface ParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * The one place errors become responses: every shape is the documented JSON, unknown errors are 500 and logged
 * with the request id. Nothing here throws.
 */
export function errorHandler(retryAfterSeconds: number): ErrorRequestHandler {
  return (error, request, response, _next) => {
    if (response.headersSent) return;
    if (error instanceof BrokerUnavailableError) {
      request.log.warn({ reason: error.reason }, 'answering 503: message not durable');
      response.set('Retry-After', String(retryAfterSeconds)).status(503).json({ error: 'broker_unavailable', reason: error.reason });
      return;
    }
    if (error instanceof LimiterUnavailableError) {
      request.log.warn({ err: error }, 'answering 503: rate limiter unavailable');
      response.set('Retry-After', String(retryAfterSeconds)).status(503).json({ error: 'rate_limiter_unavailable' });
      return;
    }
    if (error instanceof StatusUnavailableError) {
      request.log.warn({ err: error }, 'answering 503: status database unavailable');
      response.set('Retry-After', String(retryAfterSeconds)).status(503).json({ error: 'status_unavailable' });
      return;
    }
    const parserError = error as ParserError;
    if (parserError.type === 'entity.too.large') {
      response.status(413).json({ error: 'payload_too_large', limit: parserError.limit });
      return;
    }
    if (parserError.type === 'entity.parse.failed') {
      response.status(400).json({ error: 'validation_failed', details: [{ field: '(body)', message: 'body is not valid JSON' }] });
      return;
    }
    if (parserError.type === 'encoding.unsupported' || parserError.type === 'charset.unsupported') {
      response.status(415).json({ error: 'unsupported_media_type', message: (error as Error).message });
      return;
    }
    if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
      response.status(parserError.status).json({ error: 'bad_request', message: (error as Error).message });
      return;
    }
    request.log.error({ err: error }, 'unhandled error');
    response.status(500).json({ error: 'internal_error', requestId: request.id });
  };
}
