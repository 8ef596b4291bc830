import type { ErrorRequestHandler } from 'express';
import { BrokerUnavailableError } from '../../shared/messaging/errors';
import { badRequestBody, brokerUnavailableBody, internalErrorBody, limiterUnavailableBody, payloadTooLargeBody, reply, unsupportedMediaTypeBody, validationFailedBody, statusUnavailableBody } from '../api/bodies';
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
      reply(response.set('Retry-After', String(retryAfterSeconds)), 503, brokerUnavailableBody, { error: 'broker_unavailable', reason: error.reason });
      return;
    }
    if (error instanceof LimiterUnavailableError) {
      request.log.warn({ err: error }, 'answering 503: rate limiter unavailable');
      reply(response.set('Retry-After', String(retryAfterSeconds)), 503, limiterUnavailableBody, { error: 'rate_limiter_unavailable' });
      return;
    }
    if (error instanceof StatusUnavailableError) {
      request.log.warn({ err: error }, 'answering 503: status database unavailable');
      response.set('Retry-After', String(retryAfterSeconds));
      reply(response, 503, statusUnavailableBody, { error: 'status_unavailable' });
      return;
    }
    const parserError = error as ParserError;
    if (parserError.type === 'entity.too.large') {
      reply(response, 413, payloadTooLargeBody, { error: 'payload_too_large', limit: parserError.limit as number });
      return;
    }
    if (parserError.type === 'entity.parse.failed') {
      reply(response, 400, validationFailedBody, { error: 'validation_failed', details: [{ field: '(body)', message: 'body is not valid JSON' }] });
      return;
    }
    if (parserError.type === 'encoding.unsupported' || parserError.type === 'charset.unsupported') {
      reply(response, 415, unsupportedMediaTypeBody, { error: 'unsupported_media_type', message: (error as Error).message });
      return;
    }
    if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
      // Left: body-parser's request.aborted and request.size.invalid, answered to a client that is already gone.
      reply(response, parserError.status, badRequestBody, { error: 'bad_request', message: (error as Error).message });
      return;
    }
    request.log.error({ err: error }, 'unhandled error');
    reply(response, 500, internalErrorBody, { error: 'internal_error', requestId: request.id });
  };
}
