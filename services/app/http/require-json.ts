import type { RequestHandler } from 'express';
import { reply, unsupportedMediaTypeBody } from '../api/bodies';

/** 415 for a body that does not say it is JSON, before any parsing work is done. */
export const requireJson: RequestHandler = (request, response, next) => {
  if (request.is('application/json')) return next();
  reply(response, 415, unsupportedMediaTypeBody, { error: 'unsupported_media_type', message: 'send the body as application/json' });
};
