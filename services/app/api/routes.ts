import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { batchRequestSchema } from '../../shared/messages/batch';
import { emailRequestSchema, notificationRequestSchema, smsRequestSchema } from '../../shared/messages/schemas';
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY } from '../idempotency';
import { RESPONSES } from './responses';
import { MESSAGE_ID, MESSAGE_LIST_QUERY } from './status-params';

/**
 * The route registry: every route of the public API, with the zod schemas that validate its requests and shape
 * its answers. The Express routers mount these paths (expressPath) and validate with these schemas, and
 * api/openapi-document.ts generates /openapi.json from this list, so adding a route is one entry here plus its
 * handler. test/e2e/openapi.test.ts fails when the app mounts a route that is not here, or when a status listed
 * here is never produced by the app (or one it produces is not listed).
 */
const json = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });
const BEARER = [{ apiKey: [] }];
const idempotency = z.object({ [IDEMPOTENCY_HEADER]: IDEMPOTENCY_KEY.optional().meta({ description: 'The same key from the same API key yields the same message id.' }) });

/** The answers of every authenticated /v1 route besides its own. */
const v1 = { 401: RESPONSES.unauthorized, 403: RESPONSES.forbidden, 413: RESPONSES.payloadTooLarge, 415: RESPONSES.unsupportedMediaType, 429: RESPONSES.rateLimited, default: RESPONSES.internalError };

const sendRoute = (path: string, summary: string, schema: z.ZodType) =>
  ({
    method: 'post',
    path,
    tags: ['messages'],
    summary,
    security: BEARER,
    request: { headers: idempotency, body: json(schema) },
    responses: { 202: RESPONSES.accepted, 400: RESPONSES.validationFailed, ...v1, 503: RESPONSES.unavailable },
  }) satisfies RouteConfig;

export const API_ROUTES = {
  sms: sendRoute('/v1/sms', 'Send an SMS', smsRequestSchema),
  email: sendRoute('/v1/email', 'Send an e-mail', emailRequestSchema),
  notification: sendRoute('/v1/notifications', 'Send a push notification (signed webhook)', notificationRequestSchema),
  batch: {
    method: 'post',
    path: '/v1/batch',
    tags: ['messages'],
    summary: 'Send up to 100 messages of any channels at once, all or none',
    security: BEARER,
    request: { body: json(batchRequestSchema) },
    responses: { 202: RESPONSES.batchAccepted, 400: RESPONSES.validationFailed, ...v1, 503: RESPONSES.batchUnavailable },
  },
  messageStatus: {
    method: 'get',
    path: '/v1/messages/{id}',
    tags: ['status'],
    summary: "A message's delivery status and history (only for the API key that sent it)",
    security: BEARER,
    request: { params: z.object({ id: MESSAGE_ID }) },
    responses: { 200: RESPONSES.messageStatus, 401: RESPONSES.unauthorized, 404: RESPONSES.messageNotFound, 503: RESPONSES.statusUnavailable, default: RESPONSES.internalError },
  },
  messageList: {
    method: 'get',
    path: '/v1/messages',
    tags: ['status'],
    summary: "The API key's messages, newest first, cursor-paginated",
    security: BEARER,
    request: { query: MESSAGE_LIST_QUERY },
    responses: { 200: RESPONSES.messageList, 400: RESPONSES.validationFailed, 401: RESPONSES.unauthorized, 503: RESPONSES.statusUnavailable, default: RESPONSES.internalError },
  },
  twilioCallback: {
    method: 'post',
    path: '/v1/callbacks/twilio',
    tags: ['callbacks'],
    summary: "Twilio's message status callbacks (signed by Twilio; no API key)",
    request: {
      query: z.object({ relay_id: z.string().meta({ description: 'Our message id, set by the sms worker in the StatusCallback URL (covered by the signature).' }) }),
      headers: z.object({ 'x-twilio-signature': z.string().meta({ description: "Twilio's signature of the full URL and the fields." }) }),
      body: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: z.object({ MessageSid: z.string(), MessageStatus: z.string(), AccountSid: z.string(), ErrorCode: z.string().optional() }).catchall(z.string()),
          },
        },
      },
    },
    responses: {
      204: RESPONSES.callbackRecorded,
      400: RESPONSES.validationFailed,
      403: RESPONSES.invalidSignature,
      413: RESPONSES.payloadTooLarge,
      415: RESPONSES.unsupportedMediaType,
      503: RESPONSES.callbackUnavailable,
      default: RESPONSES.internalError,
    },
  },
  health: { method: 'get', path: '/healthz', tags: ['operations'], summary: 'Liveness', responses: { 200: RESPONSES.health } },
  readiness: { method: 'get', path: '/readyz', tags: ['operations'], summary: 'Readiness for traffic', responses: { 200: RESPONSES.ready, 503: RESPONSES.notReady } },
  openApi: { method: 'get', path: '/openapi.json', tags: ['description'], summary: 'This OpenAPI description', responses: { 200: RESPONSES.openApi } },
  reference: { method: 'get', path: '/docs', tags: ['description'], summary: 'The rendered API reference', responses: { 200: RESPONSES.referencePage } },
} satisfies Record<string, RouteConfig>;

/** The zod schema that validates a route's JSON body (the one the description shows). */
export function bodySchema(route: { request: { body: { content: { 'application/json': { schema: z.ZodType } } } } }): z.ZodType {
  return route.request.body.content['application/json'].schema;
}

/** An OpenAPI path template as an Express path: `/v1/messages/{id}` → `/v1/messages/:id`. */
export function expressPath(route: Pick<RouteConfig, 'path'>): string {
  return route.path.replace(/\{(\w+)\}/g, ':$1');
}
