import express, { type Router } from 'express';
import { toValidationDetails } from '../../shared/messages/schemas';
import { messageListBody, messageStatusBody, notFoundBody, reply, validationFailedBody } from '../api/bodies';
import { API_ROUTES, expressPath } from '../api/routes';
import { encodeCursor, MESSAGE_ID, MESSAGE_LIST_QUERY } from '../api/status-params';
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

  router.get(expressPath(API_ROUTES.messageStatus), authenticated, async (request, response, next) => {
    try {
      const id = MESSAGE_ID.safeParse(request.params.id);
      if (!id.success) return reply(response, 404, notFoundBody, { error: 'not_found' });
      const message = await read(() => deps.queries.get((request.apiKey as ApiKey).name, id.data));
      if (!message) return reply(response, 404, notFoundBody, { error: 'not_found' });
      reply(response, 200, messageStatusBody, message);
    } catch (error) {
      next(error);
    }
  });

  router.get(expressPath(API_ROUTES.messageList), authenticated, async (request, response, next) => {
    try {
      const query = MESSAGE_LIST_QUERY.safeParse(request.query);
      if (!query.success) return reply(response, 400, validationFailedBody, { error: 'validation_failed', details: toValidationDetails(query.error) });
      const { cursor, ...filter } = query.data;
      const page = await read(() => deps.queries.list((request.apiKey as ApiKey).name, { ...filter, ...(cursor ? { after: cursor } : {}) }));
      const last = page.messages.at(-1);
      reply(response, 200, messageListBody, { messages: page.messages, nextCursor: page.more && last ? encodeCursor(last.createdAt, last.id) : null });
    } catch (error) {
      next(error);
    }
  });
  return router;
}
