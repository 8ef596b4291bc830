import express, { type Router } from 'express';
import twilio from 'twilio';
import { invalidSignatureBody, reply, unsupportedMediaTypeBody, validationFailedBody } from '../api/bodies';
import { API_ROUTES, expressPath } from '../api/routes';
import type { StatusEventSink } from '../../shared/status/publish-status-events';
import type { AppMetrics } from '../app-metrics';
import { mapTwilioCallback, type TwilioStatusForm } from './twilio-status';

export const TWILIO_CALLBACK_PATH = expressPath(API_ROUTES.twilioCallback);
/** Twilio's callbacks are a few hundred bytes; anything near this is not one. */
const CALLBACK_BODY_LIMIT = '16kb';

export interface TwilioCallbackDeps {
  /**
   * The auth tokens Twilio signs with: the sms worker's TWILIO_AUTH_TOKEN, then those of the accounts it fails over
   * to (each account signs the callbacks of its own messages).
   */
  authTokens: readonly string[];
  /** The app's public base URL as Twilio calls it (PUBLIC_BASE_URL): the signature covers the full URL. */
  publicBaseUrl: string;
  publish: StatusEventSink;
  metrics: AppMetrics;
}

/**
 * `POST /v1/callbacks/twilio?relay_id=<our id>`: Twilio's message status callbacks. Public (Twilio cannot send an
 * API key), so the `X-Twilio-Signature` is the authentication: checked with the twilio SDK's own validator over
 * the public URL (query string included, so `relay_id` cannot be forged) and the form fields, before anything
 * else is looked at. 204 only once the status event is confirmed by the broker, so Twilio retries otherwise
 * (503 when the broker is unavailable, through the error handler).
 */
export function twilioCallbackRoute(deps: TwilioCallbackDeps): Router {
  const router = express.Router();
  const base = deps.publicBaseUrl.replace(/\/+$/, '');
  const count = (outcome: 'recorded' | 'ignored' | 'forbidden' | 'invalid' | 'unavailable') => deps.metrics.twilioCallbacks.inc({ outcome });
  router.post(
    TWILIO_CALLBACK_PATH,
    (request, response, next) => {
      if (!request.is('application/x-www-form-urlencoded')) {
        count('invalid');
        return reply(response, 415, unsupportedMediaTypeBody, { error: 'unsupported_media_type', message: 'Twilio callbacks are application/x-www-form-urlencoded' });
      }
      next();
    },
    express.urlencoded({ extended: false, limit: CALLBACK_BODY_LIMIT, parameterLimit: 100, inflate: false }),
    async (request, response, next) => {
      const form = (request.body ?? {}) as Record<string, unknown> & TwilioStatusForm;
      const signature = request.get('x-twilio-signature');
      if (!signature || !deps.authTokens.some((token) => twilio.validateRequest(token, signature, `${base}${request.originalUrl}`, form))) {
        count('forbidden');
        request.log.warn({ hasSignature: Boolean(signature) }, 'twilio callback refused: bad or missing X-Twilio-Signature');
        return reply(response, 403, invalidSignatureBody, { error: 'invalid_signature' });
      }
      const decision = mapTwilioCallback(form, request.query.relay_id, new Date());
      if (decision.kind === 'invalid') {
        count('invalid');
        return reply(response, 400, validationFailedBody, { error: 'validation_failed', details: [{ field: decision.field, message: decision.message }] });
      }
      if (decision.kind === 'ignored') {
        count('ignored');
        return void response.status(204).end();
      }
      try {
        await deps.publish([decision.event]);
      } catch (error) {
        count('unavailable');
        return next(error);
      }
      count('recorded');
      response.status(204).end();
    },
  );
  return router;
}
