import { randomUUIDv7 } from 'node:crypto';
import { z } from 'zod';
import { emailRequestSchema, notificationRequestSchema, smsRequestSchema } from '../messages/schemas';
import type { MessageType } from '../messaging/topology';

const common = { id: z.string().min(1), acceptedAt: z.iso.datetime(), requestId: z.string().max(128).optional() };

/** What travels through the broker: the validated request plus what the API knew when it accepted it. */
export const envelopeSchema = z.discriminatedUnion('type', [
  z.object({ ...common, type: z.literal('sms'), payload: smsRequestSchema }),
  z.object({ ...common, type: z.literal('email'), payload: emailRequestSchema }),
  z.object({ ...common, type: z.literal('notif'), payload: notificationRequestSchema }),
]);

export type Envelope = z.infer<typeof envelopeSchema>;
export type EnvelopeOf<T extends MessageType> = Extract<Envelope, { type: T }>;

/** Content type of one envelope per AMQP message. */
export const ENVELOPE_CONTENT_TYPE = 'application/json';
/**
 * Content type of a group commit: a JSON array of envelopes that arrived together and were made durable with one
 * publish and one confirm. Workers handle each item on its own (delivery, retry, dead letter).
 */
export const BATCH_CONTENT_TYPE = 'application/vnd.relay.batch+json';

/**
 * `id`: a new UUID v7 unless the caller derived one (idempotency key). Version 7 starts with the time, so the status
 * database's keys and indexes grow at their right edge: with random (v4) ids every insert touched a random page of
 * tables larger than PostgreSQL's cache, and the status writer cost it twice the CPU (docs/performance.md).
 */
export function createEnvelope<T extends MessageType>(type: T, payload: EnvelopeOf<T>['payload'], requestId?: string, now = new Date(), id: string = randomUUIDv7()): EnvelopeOf<T> {
  return { id, type, acceptedAt: now.toISOString(), ...(requestId ? { requestId } : {}), payload } as EnvelopeOf<T>;
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return Buffer.from(JSON.stringify(envelope));
}

export function encodeBatch(envelopes: readonly Envelope[]): Buffer {
  return Buffer.from(JSON.stringify(envelopes));
}

export class PoisonMessageError extends Error {
  readonly code = 'POISON_MESSAGE';
}

/** One item of a delivery: a valid envelope, or the raw item that failed the schema (poison, dead-lettered alone). */
export type DecodedItem = { ok: true; envelope: Envelope } | { ok: false; raw: unknown; error: PoisonMessageError };

function validate(json: unknown): DecodedItem {
  const parsed = envelopeSchema.safeParse(json);
  if (parsed.success) return { ok: true, envelope: parsed.data };
  const first = parsed.error.issues[0];
  return { ok: false, raw: json, error: new PoisonMessageError(`envelope invalid: ${first ? `${first.path.join('.')}: ${first.message}` : 'unknown'}`) };
}

/**
 * Parses a delivery into its items: one for a single envelope, several for a group commit. A body that is not
 * JSON (or a batch that is not an array) throws PoisonMessageError: the whole message is poison.
 */
export function decodeDelivery(content: Buffer, contentType: string | undefined): DecodedItem[] {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch (error) {
    throw new PoisonMessageError(`body is not JSON: ${(error as Error).message}`);
  }
  if (contentType === BATCH_CONTENT_TYPE) {
    if (!Array.isArray(json) || json.length === 0) throw new PoisonMessageError('batch body is not a non-empty array');
    return json.map(validate);
  }
  return [validate(json)];
}
