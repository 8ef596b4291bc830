import express, { type RequestHandler, type Router } from 'express';
import type { z } from 'zod';
import { emailRequestSchema, notificationRequestSchema, smsRequestSchema, toValidationDetails } from '../../shared/messages/schemas';
import type { MessageType } from '../../shared/messaging/topology';
import { IDEMPOTENCY_HEADER, isValidIdempotencyKey } from '../idempotency';
import type { MessageIntake } from '../message-intake';
import { requireJson } from './require-json';

/** POST /v1/sms, /v1/email, /v1/notifications: validate, make durable, answer 202 with the message id. */
export function messageRoutes(intake: MessageIntake, bodyLimit: string): Router {
  const router = express.Router();
  const parseJson = [requireJson, express.json({ limit: bodyLimit, strict: true })];
  router.post('/v1/sms', ...parseJson, acceptHandler(intake, 'sms', smsRequestSchema));
  router.post('/v1/email', ...parseJson, acceptHandler(intake, 'email', emailRequestSchema));
  router.post('/v1/notifications', ...parseJson, acceptHandler(intake, 'notif', notificationRequestSchema));
  return router;
}

function acceptHandler(intake: MessageIntake, type: MessageType, schema: z.ZodType): RequestHandler {
  return async (request, response, next) => {
    const parsed = schema.safeParse(request.body);
    const idempotencyKey = request.get(IDEMPOTENCY_HEADER);
    const keyInvalid = idempotencyKey !== undefined && !isValidIdempotencyKey(idempotencyKey);
    if (!parsed.success || keyInvalid) {
      const details = [
        ...(parsed.success ? [] : toValidationDetails(parsed.error)),
        ...(keyInvalid ? [{ field: IDEMPOTENCY_HEADER, message: 'must be 1 to 255 printable ASCII characters' }] : []),
      ];
      response.status(400).json({ error: 'validation_failed', details });
      return;
    }
    try {
      const id = await intake.accept(type, parsed.data as never, String(request.id), { idempotencyKey });
      response.status(202).json({ id, status: 'queued' });
    } catch (error) {
      next(error);
    }
  };
}
