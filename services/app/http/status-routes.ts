import express, { type Router } from 'express';
import { z } from 'zod';
import { toValidationDetails } from '../../shared/messages/schemas';
import { MESSAGE_TYPES } from '../../shared/messaging/topology';
import { MESSAGE_STATUSES } from '../../shared/status/status-event';
import type { ApiKey } from '../auth/api-keys';
import type { KeyStore } from '../auth/key-store';
import type { StatusQueries } from '../status/status-queries';
import { authenticate } from './authenticate';

export interface StatusRoutesDeps {
  keys: KeyStore;
  queries: StatusQueries;
}

/** Raised when the status database cannot answer; the error middleware turns it into 503 status_unavailable. */
export class StatusUnavailableError extends Error {
  readonly code = 'STATUS_UNAVAILABLE';
}

/** The opaque cursor: base64url of `[createdAt, id]` of the last message of the page. */
const cursorSchema = z
  .string()
  .max(400)
  .transform((value, context) => {
    try {
      const decoded: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
      const [createdAt, id] = z.tuple([z.iso.datetime(), z.string().min(1).max(128)]).parse(decoded);
      return { createdAt, id };
    } catch {
      context.addIssue({ code: 'custom', message: 'not a cursor this API returned' });
      return z.NEVER;
    }
  });

const encodeCursor = (createdAt: string, id: string): string => Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');

const listQuerySchema = z
  .object({
    channel: z.enum(MESSAGE_TYPES).optional(),
    status: z.enum(MESSAGE_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: cursorSchema.optional(),
  })
  .strict();

/** Message ids are UUIDs or idempotency-derived ids: printable, bounded. */
const idSchema = z.string().regex(/^[\w.:-]{1,128}$/);

/**
 * GET /v1/messages/:id and GET /v1/messages (docs/contract.md): any valid key may read, and sees only the messages
 * it sent (another key's id is a 404, like an unknown one). Reads go to the status database; when it cannot answer,
 * 503 status_unavailable with Retry-After: sending does not depend on it.
 */
export function statusRoutes(deps: StatusRoutesDeps): Router {
  const router = express.Router();
  // The /v1 router mounted before this one has usually authenticated the request already; standing alone, this
  // router still refuses a request without a valid key.
  const auth = authenticate(deps.keys);
  const authenticated: express.RequestHandler = (request, response, next) => (request.apiKey ? next() : auth(request, response, next));
  const read = <T>(work: () => Promise<T>): Promise<T> => work().catch((error: unknown) => Promise.reject(new StatusUnavailableError((error as Error).message)));

  router.get('/v1/messages/:id', authenticated, async (request, response, next) => {
    try {
      const id = idSchema.safeParse(request.params.id);
      if (!id.success) return void response.status(404).json({ error: 'not_found' });
      const message = await read(() => deps.queries.get((request.apiKey as ApiKey).name, id.data));
      if (!message) return void response.status(404).json({ error: 'not_found' });
      response.json(message);
    } catch (error) {
      next(error);
    }
  });

  router.get('/v1/messages', authenticated, async (request, response, next) => {
    try {
      const query = listQuerySchema.safeParse(request.query);
      if (!query.success) return void response.status(400).json({ error: 'validation_failed', details: toValidationDetails(query.error) });
      const { cursor, ...filter } = query.data;
      const page = await read(() => deps.queries.list((request.apiKey as ApiKey).name, { ...filter, ...(cursor ? { after: cursor } : {}) }));
      const last = page.messages.at(-1);
      response.json({ messages: page.messages, nextCursor: page.more && last ? encodeCursor(last.createdAt, last.id) : null });
    } catch (error) {
      next(error);
    }
  });
  return router;
}
