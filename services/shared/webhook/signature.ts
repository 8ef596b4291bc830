import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signing, documented in docs/webhooks.md so a receiver can verify it:
 *   X-Relay-Timestamp: unix seconds when the request was signed
 *   X-Relay-Signature: sha256=<hex HMAC-SHA256 of `${timestamp}.${rawBody}` with the shared secret>
 * The timestamp is signed too, so a captured request cannot be replayed later than the receiver's tolerance.
 */
export const SIGNATURE_HEADER = 'x-relay-signature';
export const TIMESTAMP_HEADER = 'x-relay-timestamp';

export function signWebhook(secret: string, timestamp: number, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export function verifyWebhook(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  rawBody: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): VerifyResult {
  const timestamp = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(timestamp)) return { ok: false, reason: 'missing signature or timestamp' };
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'timestamp outside tolerance' };
  const expected = Buffer.from(signWebhook(secret, timestamp, rawBody));
  const given = Buffer.from(headers.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature mismatch' };
  return { ok: true };
}

/**
 * The sandbox's webhook secret in dev and tests. It is public (it is in this repository), so the notif-worker signs
 * with it only when it delivers to the sandbox itself (SANDBOX_WEBHOOK_URLS) and refuses it for any other receiver.
 */
export const SANDBOX_WEBHOOK_SECRET = 'relay-dev-webhook-secret';

/** The sandbox's webhook sink, natively and in compose. */
export const SANDBOX_WEBHOOK_URLS: readonly string[] = ['http://127.0.0.1:8025/webhooks/notifications', 'http://sandbox:8025/webhooks/notifications'];
