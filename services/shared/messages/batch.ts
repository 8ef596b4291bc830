import { z } from 'zod';
import type { MessageType } from '../messaging/topology';
import { emailRequestSchema, notificationRequestSchema, smsRequestSchema, type ValidationDetail } from './schemas';

/** Most messages in one `POST /v1/batch`. */
export const BATCH_MAX = 100;

/** The item's `channel` names the single-message route whose fields follow: `notif` is `POST /v1/notifications`. */
const CHANNEL_SCHEMAS = { sms: smsRequestSchema, email: emailRequestSchema, notif: notificationRequestSchema } satisfies Record<MessageType, z.ZodType>;

const batchItem = <C extends MessageType>(channel: C, id: string, route: string) =>
  z.strictObject({ channel: z.literal(channel), ...CHANNEL_SCHEMAS[channel].shape }).meta({ id, description: `\`channel\` and the fields of \`POST ${route}\`, with its rules.` });

/**
 * The body as the OpenAPI description shows it, built from the same channel schemas that validate each item.
 * parseBatchRequest checks item by item instead of parsing this union, so that every problem is named by its
 * item's index and field (a union's errors would name the union).
 */
export const batchRequestSchema = z
  .strictObject({
    messages: z
      .array(
        z.discriminatedUnion('channel', [
          batchItem('sms', 'BatchSmsItem', '/v1/sms'),
          batchItem('email', 'BatchEmailItem', '/v1/email'),
          batchItem('notif', 'BatchNotificationItem', '/v1/notifications'),
        ]),
      )
      .min(1)
      .max(BATCH_MAX),
  })
  .meta({ id: 'BatchRequest', description: `1 to ${BATCH_MAX} messages, all accepted or none.` });

export interface BatchItem {
  type: MessageType;
  payload: unknown;
}

export type BatchParseResult = { ok: true; items: BatchItem[] } | { ok: false; details: ValidationDetail[] };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `{"messages": [{"channel": "sms", ...fields of /v1/sms}, ...]}` with 1..BATCH_MAX items. All or nothing: any
 * invalid item makes the whole batch invalid, and every problem is named by its item's index
 * (`messages[3].to`, `messages[3]` for an unknown field, `messages[3].channel`).
 */
export function parseBatchRequest(body: unknown): BatchParseResult {
  if (!isObject(body)) return invalid('(body)', 'must be an object with a messages array');
  const unknown = Object.keys(body).filter((key) => key !== 'messages');
  if (unknown.length > 0) return invalid('(body)', `unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  const { messages } = body;
  if (!Array.isArray(messages)) return invalid('messages', 'must be an array of messages');
  if (messages.length === 0) return invalid('messages', 'must hold at least 1 message');
  if (messages.length > BATCH_MAX) return invalid('messages', `must hold at most ${BATCH_MAX} messages, not ${messages.length}`);

  const items: BatchItem[] = [];
  const details: ValidationDetail[] = [];
  messages.forEach((message: unknown, index) => {
    const at = `messages[${index}]`;
    if (!isObject(message)) return void details.push({ field: at, message: 'must be an object' });
    const { channel, ...fields } = message;
    if (channel !== 'sms' && channel !== 'email' && channel !== 'notif') {
      return void details.push({ field: `${at}.channel`, message: 'must be sms, email or notif' });
    }
    const parsed = CHANNEL_SCHEMAS[channel].safeParse(fields);
    if (parsed.success) return void items.push({ type: channel, payload: parsed.data });
    for (const issue of parsed.error.issues) {
      details.push({ field: [at, ...issue.path.map(String)].join('.'), message: issue.message });
    }
  });
  return details.length > 0 ? { ok: false, details } : { ok: true, items };
}

function invalid(field: string, message: string): BatchParseResult {
  return { ok: false, details: [{ field, message }] };
}
