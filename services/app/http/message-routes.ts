import express, { type RequestHandler, type Router } from 'express';
import type { z } from 'zod';
import { toValidationDetails, type SmsRequest, type ValidationDetail } from '../../shared/messages/schemas';
import type { MessageType } from '../../shared/messaging/topology';
import { acceptedBody, reply, validationFailedBody } from '../api/bodies';
import { API_ROUTES, bodySchema, expressPath } from '../api/routes';
import type { ApiKey } from '../auth/api-keys';
import type { KeyStore } from '../auth/key-store';
import { IDEMPOTENCY_HEADER, isValidIdempotencyKey } from '../idempotency';
import type { RateLimits } from '../limits/rate-limits';
import type { MessageIntake } from '../message-intake';
import { checkSmsDestination, type SmsPolicyOptions } from '../sms-policy';
import { allowChannel, authenticate, keyRateLimit, refuse } from './authenticate';
import { requireJson } from './require-json';

export interface MessageRoutesDeps {
  intake: MessageIntake;
  keys: KeyStore;
  limits: RateLimits;
  smsPolicy: SmsPolicyOptions;
  bodyLimit: string;
}

/**
 * POST /v1/sms, /v1/email, /v1/notifications, each in this order: API key (401), channel (403), the key's rate
 * (429), JSON body (415/413/400), fields (400), SMS destination and recipient rate, then durable (202) or 503.
 * Cheap refusals come before the body is read. Compressed bodies are refused (415): bodies are at most 100 kB,
 * and an inflate step is only a way to make the API spend CPU on a decompression bomb.
 */
export function messageRoutes(deps: MessageRoutesDeps): Router {
  const router = express.Router();
  router.use('/v1', authenticate(deps.keys));
  const front = (channel: MessageType) => [allowChannel(channel), keyRateLimit(deps.limits), requireJson, express.json({ limit: deps.bodyLimit, strict: true, inflate: false })];
  const { sms, email, notification } = API_ROUTES;
  router.post(expressPath(sms), ...front('sms'), acceptHandler(deps, 'sms', bodySchema(sms), smsChecks(deps)));
  router.post(expressPath(email), ...front('email'), acceptHandler(deps, 'email', bodySchema(email)));
  router.post(expressPath(notification), ...front('notif'), acceptHandler(deps, 'notif', bodySchema(notification)));
  return router;
}

/** A check after the schema: a refusal to answer with 400, 'answered' when it answered itself, or undefined. */
type ExtraCheck = (payload: unknown, key: ApiKey, response: express.Response) => Promise<ValidationDetail | 'answered' | undefined>;

/** SMS only: the destination policy (400), then the recipient's rate across all keys that count it (429). */
function smsChecks(deps: MessageRoutesDeps): ExtraCheck {
  return async (payload, key, response) => {
    const { to } = payload as SmsRequest;
    const refusal = checkSmsDestination(to, deps.smsPolicy);
    if (refusal) return refusal;
    const decision = await deps.limits.forRecipient(key, to);
    if (decision && !decision.allowed) {
      refuse(response, decision, 'recipient');
      return 'answered';
    }
    return undefined;
  };
}

function acceptHandler(deps: MessageRoutesDeps, type: MessageType, schema: z.ZodType, extra?: ExtraCheck): RequestHandler {
  return async (request, response, next) => {
    try {
      const parsed = schema.safeParse(request.body);
      const idempotencyKey = request.get(IDEMPOTENCY_HEADER);
      const keyInvalid = idempotencyKey !== undefined && !isValidIdempotencyKey(idempotencyKey);
      if (!parsed.success || keyInvalid) {
        const details = [
          ...(parsed.success ? [] : toValidationDetails(parsed.error)),
          ...(keyInvalid ? [{ field: IDEMPOTENCY_HEADER, message: 'must be 1 to 255 printable ASCII characters' }] : []),
        ];
        return reply(response, 400, validationFailedBody, { error: 'validation_failed', details });
      }
      const outcome = extra ? await extra(parsed.data, request.apiKey as ApiKey, response) : undefined;
      if (outcome === 'answered') return;
      if (outcome) {
        return reply(response, 400, validationFailedBody, { error: 'validation_failed', details: [outcome] });
      }
      // Idempotency keys are scoped to the API key: the same header from another key is another message.
      const { hash: clientId, name: ownerName, statusWebhook } = request.apiKey as ApiKey;
      const id = await deps.intake.accept(type, parsed.data as never, String(request.id), { idempotencyKey, clientId, ownerName, statusWebhook: statusWebhook !== undefined });
      reply(response, 202, acceptedBody, { id, status: 'queued' });
    } catch (error) {
      next(error);
    }
  };
}
