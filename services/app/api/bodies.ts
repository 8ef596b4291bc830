import type { Response } from 'express';
import { z } from 'zod';
import type { BrokerUnavailableReason } from '../../shared/messaging/errors';
import { MESSAGE_TYPES } from '../../shared/messaging/topology';
import { MESSAGE_STATUSES } from '../../shared/status/status-event';

/**
 * Every JSON body the public API answers with. The code that answers passes the schema to `reply`, so a body that
 * does not match its schema does not compile, and the OpenAPI description (api/routes.ts) is generated from these
 * same schemas: the two cannot drift. Strict objects: a field the description does not name is a test failure
 * (test/e2e/openapi.test.ts checks every real answer against the description).
 */
export function reply<S extends z.ZodType>(response: Response, status: number, _schema: S, body: z.output<S>): void {
  response.status(status).json(body);
}

/** Message ids: UUID v7 (time-ordered), or UUID v5 derived from an Idempotency-Key (idempotency.ts). */
const messageId = z.uuid().meta({ description: 'The message id; the same Idempotency-Key from the same API key gives the same id.' });

export const acceptedBody = z.strictObject({ id: messageId, status: z.literal('queued') }).meta({ id: 'Accepted', description: 'The message is durable in the broker (publisher confirm received) and will be delivered.' });

export const batchAcceptedBody = z
  .strictObject({ ids: z.array(messageId).min(1), status: z.literal('queued') })
  .meta({ id: 'BatchAccepted', description: 'Every message of the batch is durable; `ids` in request order.' });

export const validationDetail = z
  .strictObject({
    field: z.string().meta({ description: 'The field (`to`, `messages[3].to`, `Idempotency-Key`), or `(body)` for the body as a whole.' }),
    message: z.string(),
    code: z.string().optional().meta({ description: 'A stable reason where it is more than a type or length error: header_injection, too_deep, ...' }),
  })
  .meta({ id: 'ValidationDetail' });

export const validationFailedBody = z
  .strictObject({ error: z.literal('validation_failed'), details: z.array(validationDetail).min(1) })
  .meta({ id: 'ValidationFailed', description: 'The body (or a header) is invalid; nothing was accepted.' });

export const unauthorizedBody = z.strictObject({ error: z.literal('unauthorized') }).meta({ id: 'Unauthorized' });

export const forbiddenBody = z.strictObject({ error: z.literal('forbidden'), message: z.string() }).meta({ id: 'Forbidden', description: 'The API key may not send on this channel.' });

export const rateLimitedBody = z
  .strictObject({ error: z.literal('rate_limited'), scope: z.enum(['key', 'recipient']).meta({ description: "The API key's rate, or the SMS recipient's." }) })
  .meta({ id: 'RateLimited' });

export const payloadTooLargeBody = z.strictObject({ error: z.literal('payload_too_large'), limit: z.int().positive().meta({ description: 'The largest body accepted, in bytes.' }) }).meta({ id: 'PayloadTooLarge' });

export const unsupportedMediaTypeBody = z
  .strictObject({ error: z.literal('unsupported_media_type'), message: z.string() })
  .meta({ id: 'UnsupportedMediaType', description: 'Not `application/json`, a charset other than UTF-8, or a compressed (Content-Encoding) body.' });

const BROKER_REASONS: Record<BrokerUnavailableReason, string> = {
  disconnected: 'no connection to the broker',
  blocked: 'the broker blocked publishers (memory or disk alarm)',
  buffer_full: 'too many messages await confirms in this instance',
  timeout: 'no confirm within PUBLISH_TIMEOUT_MS',
  nacked: 'the broker refused the message',
  channel_closed: 'the channel closed before the confirm',
};
const brokerReason = z.enum(Object.keys(BROKER_REASONS) as [BrokerUnavailableReason, ...BrokerUnavailableReason[]]).meta({
  description: Object.entries(BROKER_REASONS).map(([reason, meaning]) => `\`${reason}\`: ${meaning}`).join('; '),
});

export const brokerUnavailableBody = z
  .strictObject({ error: z.literal('broker_unavailable'), reason: brokerReason })
  .meta({ id: 'BrokerUnavailable', description: 'The message could not be made durable now; nothing was accepted. Retry after Retry-After seconds.' });

export const batchBrokerUnavailableBody = z
  .strictObject({
    error: z.literal('broker_unavailable'),
    reason: brokerReason,
    queued: z
      .array(z.strictObject({ index: z.int().min(0), id: messageId }))
      .optional()
      .meta({ description: 'Present when some items are durable (one channel confirmed, another refused): resend only the others.' }),
  })
  .meta({ id: 'BatchBrokerUnavailable' });

export const limiterUnavailableBody = z
  .strictObject({ error: z.literal('rate_limiter_unavailable') })
  .meta({ id: 'RateLimiterUnavailable', description: 'The cluster-wide rate-limit counter did not answer in time (app-limits restarting).' });

const statusEnum = z.enum(MESSAGE_STATUSES).meta({
  description: '`queued` durable in the broker; `retrying` a transient failure, a retry scheduled; `sent` the provider accepted it; `delivered` the provider confirmed delivery; `failed` dead-lettered or reported undelivered (docs/status.md).',
});

export const messageSummaryBody = z
  .strictObject({
    id: z.string(),
    channel: z.enum(MESSAGE_TYPES),
    status: statusEnum,
    attempts: z.int().min(0).meta({ description: 'Delivery attempts the workers reported.' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'MessageSummary' });

export const messageStatusBody = messageSummaryBody
  .extend({ events: z.array(z.strictObject({ at: z.iso.datetime(), status: statusEnum, detail: z.string().optional() })).meta({ description: 'Every recorded stage, oldest first.' }) })
  .meta({ id: 'MessageStatus', description: "A message's status and its history, as the status service recorded them." });

export const messageListBody = z
  .strictObject({
    messages: z.array(messageSummaryBody).meta({ description: 'Newest first.' }),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ id: 'MessageList' });

export const statusUnavailableBody = z
  .strictObject({ error: z.literal('status_unavailable') })
  .meta({ id: 'StatusUnavailable', description: 'The status database did not answer in time; sending is not affected. Retry after Retry-After seconds.' });

export const invalidSignatureBody = z
  .strictObject({ error: z.literal('invalid_signature') })
  .meta({ id: 'InvalidSignature', description: 'X-Twilio-Signature is missing or does not match the URL and fields with any configured auth token.' });

export const notFoundBody = z.strictObject({ error: z.literal('not_found') }).meta({ id: 'NotFound' });

export const badRequestBody = z.strictObject({ error: z.literal('bad_request'), message: z.string() }).meta({ id: 'BadRequest' });

export const internalErrorBody = z.strictObject({ error: z.literal('internal_error'), requestId: z.string() }).meta({ id: 'InternalError', description: 'An unexpected error, logged with this request id.' });

export const healthBody = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });

export const readinessBody = z
  .strictObject({ status: z.enum(['ready', 'not_ready']), broker: z.enum(['connected', 'unavailable']) })
  .meta({ id: 'Readiness' });
