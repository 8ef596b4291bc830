import { createHash } from 'node:crypto';
import { z } from 'zod';

/** The request header (docs/contract.md): at most 255 printable ASCII characters. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** The header's value: at most 255 printable ASCII characters (also its schema in the OpenAPI description). */
export const IDEMPOTENCY_KEY = z.string().regex(/^[\x20-\x7e]{1,255}$/);

/** Until API keys exist every caller is this client; API-key auth passes its key id instead. */
export const ANONYMOUS_CLIENT = 'anonymous';

/** Namespace of relay-stack message ids derived from idempotency keys (a fixed random UUID). */
const NAMESPACE = Buffer.from('8f0c2b5e4a7d4c1b9e3f6a2d5c8b1e47', 'hex');

export function isValidIdempotencyKey(key: string): boolean {
  return IDEMPOTENCY_KEY.safeParse(key).success;
}

/**
 * The message id of a request carrying an idempotency key: a UUID v5 (RFC 9562 §5.5, SHA-1 of a namespace and a
 * name) of the client identity and the key. Stateless, so every PM2 instance, container replica and restart derives
 * the same id for the same client and key without sharing anything; two clients using the same key get
 * different ids. https://www.rfc-editor.org/rfc/rfc9562#name-uuid-version-5
 */
export function idempotentMessageId(clientId: string, key: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${clientId}\n${key}`, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50; // version 5
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80; // RFC variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
