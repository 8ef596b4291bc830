import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import * as bodies from './bodies';

/**
 * The responses of the description, one per answer the app gives, each with the headers the app really sets
 * (test/e2e/openapi.test.ts checks every one of them on real answers). Shared by the routes of api/routes.ts.
 */
const requestId = { 'X-Request-Id': z.string().meta({ description: "The request's id: the caller's X-Request-Id when it is 1-128 of `[A-Za-z0-9_.:-]`, else a new UUID. It follows the message into every log line." }) };
const seconds = (description: string) => z.string().regex(/^\d+$/).meta({ description });
const retryAfter = { 'Retry-After': z.string().regex(/^[1-9]\d*$/).meta({ description: 'Whole seconds to wait before retrying.' }) };
const rateLimit = {
  'RateLimit-Limit': seconds("Messages the API key's window holds."),
  'RateLimit-Remaining': seconds('Messages left in the current window.'),
  'RateLimit-Reset': seconds('Seconds until the window resets.'),
};

function json(description: string, schema: z.ZodType, headers: Record<string, z.ZodType> = {}): ResponseConfig {
  return { description, headers: z.object({ ...requestId, ...headers }), content: { 'application/json': { schema } } };
}

export const RESPONSES = {
  accepted: json('Accepted: durable in the broker.', bodies.acceptedBody, rateLimit),
  batchAccepted: json('Accepted: every message durable in the broker.', bodies.batchAcceptedBody, rateLimit),
  validationFailed: json('Invalid body or header; nothing accepted.', bodies.validationFailedBody),
  unauthorized: json('No API key, or not a known one.', bodies.unauthorizedBody, {
    'WWW-Authenticate': z.string().regex(/^Bearer realm="relay"/).meta({ description: 'The Bearer challenge (RFC 6750), with `error="invalid_token"` for a key that is not known.' }),
  }),
  forbidden: json('The API key may not use this channel.', bodies.forbiddenBody),
  payloadTooLarge: json('The body is larger than the limit (BODY_LIMIT, BATCH_BODY_LIMIT).', bodies.payloadTooLargeBody),
  unsupportedMediaType: json('Not JSON, not UTF-8, or compressed.', bodies.unsupportedMediaTypeBody),
  rateLimited: json("Over the API key's rate or the SMS recipient's.", bodies.rateLimitedBody, { ...retryAfter, ...rateLimit }),
  unavailable: json('Not durable now (broker or rate-limit counter away); retry after Retry-After.', z.union([bodies.brokerUnavailableBody, bodies.limiterUnavailableBody]), retryAfter),
  batchUnavailable: json(
    'Not all durable now; `queued` lists the items that are, if any. Retry the others after Retry-After.',
    z.union([bodies.batchBrokerUnavailableBody, bodies.limiterUnavailableBody]),
    retryAfter,
  ),
  messageStatus: json("The message's status and history.", bodies.messageStatusBody),
  messageList: json("A page of the API key's messages, newest first.", bodies.messageListBody),
  messageNotFound: json('No message with this id was sent with this API key (or its status is not recorded yet).', bodies.notFoundBody),
  statusUnavailable: json('The status database is away; retry after Retry-After.', bodies.statusUnavailableBody, retryAfter),
  callbackRecorded: { description: 'Recorded (the status event is durable in the broker), or a step that is not recorded.', headers: z.object(requestId) },
  invalidSignature: json('Not signed by Twilio with a configured auth token.', bodies.invalidSignatureBody),
  callbackUnavailable: json('The status event could not be made durable now; Twilio retries the callback.', bodies.brokerUnavailableBody, retryAfter),
  internalError: json('An unexpected error (a bug), logged with the request id.', bodies.internalErrorBody),
  health: json('The process is alive.', bodies.healthBody),
  ready: json('Broker connected and publisher ready.', bodies.readinessBody),
  notReady: json('Broker away, publisher not ready, or draining.', bodies.readinessBody),
  openApi: { description: 'This description (OpenAPI 3.1).', headers: z.object(requestId), content: { 'application/json': { schema: { type: 'object' } } } },
  referencePage: { description: 'The API reference, rendered from /openapi.json.', headers: z.object(requestId), content: { 'text/html': { schema: { type: 'string' } } } },
} satisfies Record<string, ResponseConfig>;
