import type { RequestHandler, Response } from 'express';
import { forbiddenBody, rateLimitedBody, reply, unauthorizedBody } from '../api/bodies';
import type { ApiKey, Channel } from '../auth/api-keys';
import type { KeyStore } from '../auth/key-store';
import type { LimitDecision, RateLimits } from '../limits/rate-limits';

declare module 'express-serve-static-core' {
  interface Request {
    /** The API key the request was authenticated with (every /v1 route). */
    apiKey?: ApiKey;
  }
}

// RFC 6750 b64token, bounded: a longer header is not one of our keys and is not worth hashing.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]{1,256}=*) *$/i;

/** 401 `{"error":"unauthorized"}` + `WWW-Authenticate: Bearer` unless the request names a known key. */
export function authenticate(keys: KeyStore): RequestHandler {
  return (request, response, next) => {
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    const key = token === undefined ? undefined : keys.find(token);
    if (!key) {
      const challenge = token === undefined ? 'Bearer realm="relay"' : 'Bearer realm="relay", error="invalid_token"';
      reply(response.set('WWW-Authenticate', challenge), 401, unauthorizedBody, { error: 'unauthorized' });
      return;
    }
    request.apiKey = key;
    next();
  };
}

/** 403 `{"error":"forbidden"}` for a key not allowed this channel. */
export function allowChannel(channel: Channel): RequestHandler {
  return (request, response, next) => {
    if (request.apiKey?.channels.includes(channel)) return next();
    reply(response, 403, forbiddenBody, { error: 'forbidden', message: `this API key may not send ${channel}` });
  };
}

/** The key's rate: one message per request, counted across the whole PM2 cluster; 429 over it. */
export function keyRateLimit(limits: RateLimits): RequestHandler {
  return (request, response, next) => {
    const key = request.apiKey as ApiKey;
    limits.forKey(key).then((decision) => {
      setRateLimitHeaders(response, decision);
      if (decision.allowed) return next();
      refuse(response, decision, 'key');
    }, next);
  };
}

/**
 * RateLimit-Limit / -Remaining / -Reset as in draft-ietf-httpapi-ratelimit-headers (the widely deployed form of
 * its earlier revisions, the one express-rate-limit calls draft-6): the window's size, what is left and the seconds
 * until it resets.
 */
export function setRateLimitHeaders(response: Response, decision: LimitDecision): void {
  response.set({
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(Math.max(0, decision.remaining)),
    'RateLimit-Reset': String(Math.max(0, Math.ceil(decision.resetMs / 1000))),
  });
}

/** 429 `{"error":"rate_limited"}` with Retry-After (whole seconds, at least 1). */
export function refuse(response: Response, decision: LimitDecision, scope: 'key' | 'recipient'): void {
  reply(response.set('Retry-After', String(Math.max(1, Math.ceil(decision.resetMs / 1000)))), 429, rateLimitedBody, { error: 'rate_limited', scope });
}
