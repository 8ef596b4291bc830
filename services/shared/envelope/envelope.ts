import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { emailRequestSchema, notificationRequestSchema, smsRequestSchema } from '../messages/schemas';
import type { MessageType } from '../messaging/topology';

/** What travels through the broker: the validated request plus what the API knew when it accepted it. */
export const envelopeSchema = z.discriminatedUnion('type', [
  z.object({ id: z.string().min(1), type: z.literal('sms'), acceptedAt: z.iso.datetime(), payload: smsRequestSchema }),
  z.object({ id: z.string().min(1), type: z.literal('email'), acceptedAt: z.iso.datetime(), payload: emailRequestSchema }),
  z.object({ id: z.string().min(1), type: z.literal('notif'), acceptedAt: z.iso.datetime(), payload: notificationRequestSchema }),
]);

export type Envelope = z.infer<typeof envelopeSchema>;
export type EnvelopeOf<T extends MessageType> = Extract<Envelope, { type: T }>;

export function createEnvelope<T extends MessageType>(type: T, payload: EnvelopeOf<T>['payload'], now = new Date()): EnvelopeOf<T> {
  return { id: randomUUID(), type, acceptedAt: now.toISOString(), payload } as EnvelopeOf<T>;
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return Buffer.from(JSON.stringify(envelope));
}

export class PoisonMessageError extends Error {
  readonly code = 'POISON_MESSAGE';
}

/** Parses and validates a message body; anything that fails is poison and must be dead-lettered, not retried. */
export function decodeEnvelope(content: Buffer): Envelope {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch (error) {
    throw new PoisonMessageError(`body is not JSON: ${(error as Error).message}`);
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new PoisonMessageError(`envelope invalid: ${first ? `${first.path.join('.')}: ${first.message}` : 'unknown'}`);
  }
  return parsed.data;
}
