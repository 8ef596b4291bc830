import express, { type Router } from 'express';
import { z } from 'zod';
import { loadConfig, stringVar } from '../../shared/config/load-config';
import { parseBatchRequest } from '../../shared/messages/batch';
import { BrokerUnavailableError } from '../../shared/messaging/errors';
import { batchAcceptedBody, batchBrokerUnavailableBody, forbiddenBody, reply, validationFailedBody } from '../api/bodies';
import { API_ROUTES, expressPath } from '../api/routes';
import type { ApiKey } from '../auth/api-keys';
import type { RateLimits } from '../limits/rate-limits';
import type { MessageIntake } from '../message-intake';
import { checkSmsDestination, type SmsPolicyOptions } from '../sms-policy';
import { refuse, setRateLimitHeaders } from './authenticate';
import { requireJson } from './require-json';

export interface BatchRoutesDeps {
  intake: MessageIntake;
  limits: RateLimits;
  smsPolicy: SmsPolicyOptions;
  retryAfterSeconds: number;
}

export const batchConfigSchema = z.object({
  /** Largest `POST /v1/batch` body (100 messages are larger than one); larger gets 413. */
  BATCH_BODY_LIMIT: stringVar('1mb'),
});

/**
 * POST /v1/batch: validate every item (a 400 names each invalid one by index and accepts none), then hand all of
 * them to the intake in the same event-loop turn, so the items of one channel join one group commit (one AMQP
 * message and one confirm per channel present, shared with concurrent single requests if any). 202 with the ids
 * in request order once every item is confirmed.
 *
 * When some cannot be made durable: 503 + Retry-After. If none was, it is the usual
 * `{"error":"broker_unavailable"}`; if some were (one channel's publish confirmed, another's refused), the body adds
 * `queued: [{index, id}]`, the items that are durable and will be delivered, so the client resends only the others.
 */
export function batchRoutes(deps: BatchRoutesDeps, env: NodeJS.ProcessEnv = process.env): Router {
  const { intake, limits, smsPolicy, retryAfterSeconds } = deps;
  const config = loadConfig(batchConfigSchema, env);
  const router = express.Router();
  // The API key was checked by the /v1 authentication in front of every route (message-routes.ts).
  router.post(expressPath(API_ROUTES.batch), requireJson, express.json({ limit: config.BATCH_BODY_LIMIT, strict: true, inflate: false }), async (request, response, next) => {
    const parsed = parseBatchRequest(request.body);
    if (!parsed.ok) return reply(response, 400, validationFailedBody, { error: 'validation_failed', details: parsed.details });
    const key = request.apiKey as ApiKey;
    // The same rules as the single routes, item by item: channel (403), SMS destination (400), then the key's rate
    // counting every item (429) and each SMS recipient's.
    const refused = parsed.items.find((item) => !key.channels.includes(item.type));
    if (refused) return reply(response, 403, forbiddenBody, { error: 'forbidden', message: `this API key may not send ${refused.type}` });
    const destinations = parsed.items.flatMap((item, index) => {
      if (item.type !== 'sms') return [];
      const refusal = checkSmsDestination((item.payload as { to: string }).to, smsPolicy);
      return refusal ? [{ ...refusal, field: `messages[${index}].${refusal.field}` }] : [];
    });
    if (destinations.length) return reply(response, 400, validationFailedBody, { error: 'validation_failed', details: destinations });
    try {
      const decision = await limits.forKey(key, parsed.items.length);
      setRateLimitHeaders(response, decision);
      if (!decision.allowed) return void refuse(response, decision, 'key');
      for (const item of parsed.items) {
        if (item.type !== 'sms') continue;
        const recipient = await limits.forRecipient(key, (item.payload as { to: string }).to);
        if (recipient && !recipient.allowed) return void refuse(response, recipient, 'recipient');
      }
    } catch (error) {
      return next(error);
    }
    const requestId = String(request.id);
    // No await between the accepts: every item is queued for the same group commit flush.
    const results = await Promise.allSettled(parsed.items.map((item) => intake.accept(item.type, item.payload as never, requestId, { ownerName: key.name, statusWebhook: key.statusWebhook !== undefined })));
    const ids = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    if (ids.length === results.length) return reply(response, 202, batchAcceptedBody, { ids, status: 'queued' });

    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')!.reason as unknown;
    if (ids.length === 0 || !(failure instanceof BrokerUnavailableError)) return next(failure);
    const queued = results.flatMap((result, index) => (result.status === 'fulfilled' ? [{ index, id: result.value }] : []));
    request.log.warn({ reason: failure.reason, queued: queued.length, refused: results.length - queued.length }, 'answering 503: batch durable only in part');
    reply(response.set('Retry-After', String(retryAfterSeconds)), 503, batchBrokerUnavailableBody, { error: 'broker_unavailable', reason: failure.reason, queued });
  });
  return router;
}
