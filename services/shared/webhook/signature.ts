import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signing by the Standard Webhooks spec (https://www.standardwebhooks.com), documented for receivers in
 * docs/webhooks.md:
 *   webhook-id:        the message id, the same on every retry (receivers deduplicate on it)
 *   webhook-timestamp: unix seconds when this attempt was signed
 *   webhook-signature: `v1,<base64 HMAC-SHA256 of "${id}.${timestamp}.${rawBody}">`, one per secret, space-separated
 * A secret is `whsec_` + base64 of the key bytes. Signing with several secrets at once lets a receiver move from
 * the old one to the new one while both are in use. The timestamp is signed too, so a captured request cannot be
 * replayed later than the receiver's tolerance.
 */
export const WEBHOOK_HEADERS = { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' } as const;

export const SECRET_PREFIX = 'whsec_';
/** The spec recommends keys of 24 to 64 random bytes. */
export const SECRET_BYTES = { min: 24, max: 64 } as const;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Most signatures a receiver looks at in one header (a sender rotating signs with two or three). */
const MAX_SIGNATURES = 10;

/** The key bytes of a `whsec_` secret; throws a message saying what is wrong (used by config validation). */
export function decodeSecret(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error(`must start with ${SECRET_PREFIX}`);
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) throw new Error(`must be ${SECRET_PREFIX} followed by base64`);
  const key = Buffer.from(encoded, 'base64');
  if (key.length < SECRET_BYTES.min || key.length > SECRET_BYTES.max) {
    throw new Error(`must hold ${SECRET_BYTES.min} to ${SECRET_BYTES.max} bytes, not ${key.length}`);
  }
  return key;
}

function hmac(key: Buffer, id: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest('base64');
}

/** The `webhook-signature` value: one `v1,<signature>` per secret, space-separated, in the order given. */
export function signWebhook(secrets: readonly string[], id: string, timestamp: number, rawBody: string): string {
  if (secrets.length === 0) throw new Error('signWebhook needs at least one secret');
  return secrets.map((secret) => `v1,${hmac(decodeSecret(secret), id, timestamp, rawBody)}`).join(' ');
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export interface WebhookHeaderValues {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * What a receiver does: accept when any `v1` signature in the header matches any of its secrets (several while it
 * rotates) and the timestamp is within `toleranceSeconds` of now. Comparisons are constant-time.
 */
export function verifyWebhook(
  secrets: readonly string[],
  headers: WebhookHeaderValues,
  rawBody: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): VerifyResult {
  const { id, signature } = headers;
  if (!id || !signature || !headers.timestamp) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  const timestamp = Number(headers.timestamp);
  if (!/^\d+$/.test(headers.timestamp) || !Number.isSafeInteger(timestamp)) return { ok: false, reason: 'invalid timestamp' };
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'timestamp outside tolerance' };
  const given = signature
    .split(' ')
    .slice(0, MAX_SIGNATURES)
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3)));
  for (const secret of secrets) {
    const expected = Buffer.from(hmac(decodeSecret(secret), id, timestamp, rawBody));
    if (given.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected))) return { ok: true };
  }
  return { ok: false, reason: 'signature mismatch' };
}

/**
 * The sandbox's webhook secret in dev and tests. It is public (it is in this repository), so the notif-worker signs
 * with it only when it delivers to the sandbox itself (SANDBOX_WEBHOOK_URLS) and refuses it for any other receiver.
 */
export const SANDBOX_WEBHOOK_SECRET = 'whsec_cmVsYXktc3RhY2stZGV2LXdlYmhvb2stc2VjcmV0ISE=';

/** The sandbox's webhook sink, natively and in compose. */
export const SANDBOX_WEBHOOK_URLS: readonly string[] = ['http://127.0.0.1:8025/webhooks/notifications', 'http://sandbox:8025/webhooks/notifications'].flatMap((url) => [url, `${url}-backup`]);

/** The sandbox's status-webhook sink, natively and in compose: keys pointed there are signed with the sandbox secret. */
export const SANDBOX_STATUS_WEBHOOK_URLS: readonly string[] = ['http://127.0.0.1:8025/webhooks/status', 'http://sandbox:8025/webhooks/status'];
