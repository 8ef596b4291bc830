/**
 * An app worker of the cluster-IPC baseline (a `cluster.fork`ed process): the same routes, JSON checks and zod
 * schemas as our API, but a message is handed to the master with `process.send` and answered 202 at once, since
 * this design has nothing to wait for (no broker, no durability).
 */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { z } from 'zod';
import { requireJson } from '../../services/app/http/require-json';
import { createEnvelope } from '../../services/shared/envelope/envelope';
import { emailRequestSchema, notificationRequestSchema, smsRequestSchema, toValidationDetails } from '../../services/shared/messages/schemas';
import type { MessageType } from '../../services/shared/messaging/topology';
import type { RelayMessage } from './ipc';

const port = Number(process.env.PORT) || 8080;
const bodyLimit = process.env.BODY_LIMIT || '100kb';

function acceptHandler(type: MessageType, schema: z.ZodType): RequestHandler {
  return (request, response) => {
    const parsed = schema.safeParse(request.body);
    if (!parsed.success) {
      response.status(400).json({ error: 'validation_failed', details: toValidationDetails(parsed.error) });
      return;
    }
    const envelope = createEnvelope(type, parsed.data as never);
    const message: RelayMessage = { kind: 'message', envelope };
    process.send?.(message);
    response.status(202).json({ id: envelope.id, status: 'queued' });
  };
}

/** The documented JSON shapes for body-parser errors, as our error middleware answers them. */
const errorHandler: ErrorRequestHandler = (error, _request, response, _next) => {
  const status = typeof error?.status === 'number' ? error.status : 500;
  if (error?.type === 'entity.parse.failed') return void response.status(400).json({ error: 'validation_failed', details: [{ field: '(body)', message: 'body is not valid JSON' }] });
  if (error?.type === 'entity.too.large') return void response.status(413).json({ error: 'payload_too_large', limit: error.limit });
  response.status(status).json({ error: status >= 500 ? 'internal' : 'bad_request' });
};

const app = express();
app.disable('x-powered-by');
app.get('/healthz', (_request, response) => void response.json({ status: 'ok' }));
app.get('/readyz', (_request, response) => void response.json({ status: 'ready' }));
const parseJson = [requireJson, express.json({ limit: bodyLimit, strict: true })];
app.post('/v1/sms', ...parseJson, acceptHandler('sms', smsRequestSchema));
app.post('/v1/email', ...parseJson, acceptHandler('email', emailRequestSchema));
app.post('/v1/notifications', ...parseJson, acceptHandler('notif', notificationRequestSchema));
app.use((_request, response) => void response.status(404).json({ error: 'not_found' }));
app.use(errorHandler);
const server = app.listen(port, '0.0.0.0');
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => process.exit(0));
