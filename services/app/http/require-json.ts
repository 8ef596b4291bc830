import type { RequestHandler } from 'express';

/** 415 for a body that does not say it is JSON, before any parsing work is done. */
export const requireJson: RequestHandler = (request, response, next) => {
  if (request.is('application/json')) return next();
  response.status(415).json({ error: 'unsupported_media_type', message: 'send the body as application/json' });
};
