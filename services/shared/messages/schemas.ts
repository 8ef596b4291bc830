import { z } from 'zod';

/**
 * Request bodies of the HTTP API, shared by the app (validation at the edge), the workers (the envelope is checked
 * again on the way in) and the cluster-IPC baseline in loadtest/baseline. The `id` in `.meta` names each one in the
 * OpenAPI description the app generates from these very schemas (services/app/api).
 */
const E164 = /^\+[1-9]\d{6,14}$/;

export const SMS_BODY_MAX = 1600; // Twilio's limit for a concatenated message body.

export const smsRequestSchema = z.strictObject({
  to: z.string().regex(E164, 'must be an E.164 phone number such as +14155550100'),
  body: z.string().min(1).max(SMS_BODY_MAX),
}).meta({ id: 'SmsRequest' });

/** No CR, LF or other control characters (tab allowed): the field becomes a mail header. */
const HEADER_SAFE = /^[^\u0000-\u0008\u000a-\u001f\u007f]*$/;

export const emailRequestSchema = z
  .strictObject({
    to: z.email(),
    // RFC 5322 line length; a CR/LF would let a caller add headers (Bcc:) to the mail.
    subject: z.string().min(1).max(998).refine((value) => HEADER_SAFE.test(value), { message: 'must not contain CR, LF or control characters', params: { code: 'header_injection' } }),
    text: z.string().min(1).max(100_000).optional(),
    html: z.string().min(1).max(100_000).optional(),
  })
  .refine((email) => email.text !== undefined || email.html !== undefined, {
    message: 'one of text or html is required',
    path: ['text'],
  })
  .meta({ id: 'EmailRequest', description: 'At least one of `text` and `html`.' });

/** Bounds of the free-form `data` of a notification: it is stored, serialised and sent on as it is. */
export const DATA_LIMITS = { depth: 8, nodes: 2000, bytes: 16_384 } as const;

export const notificationRequestSchema = z.strictObject({
  recipient: z.string().min(1).max(200),
  title: z.string().min(1).max(200),
  body: z.string().min(1).max(4000),
  data: z
    .unknown()
    .superRefine(checkData)
    .transform((value) => value as Record<string, unknown>)
    .optional()
    .meta({ description: `A JSON object sent on as it is: at most ${DATA_LIMITS.depth} levels deep, ${DATA_LIMITS.nodes} values and ${DATA_LIMITS.bytes} bytes; no __proto__, constructor or prototype key.` }),
}).meta({ id: 'NotificationRequest' });

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * `data` must be a JSON object no deeper than DATA_LIMITS.depth, with at most DATA_LIMITS.nodes values and
 * DATA_LIMITS.bytes serialised, and no key that would touch an object's prototype. Walked with an explicit stack
 * and stopped at the first bound, so the check itself is bounded whatever it is given. Without the depth bound a
 * 100 kB body of nested arrays parsed fine and then overflowed the stack in JSON.stringify when its group-commit
 * batch was encoded, outside any request: the exception took the whole app instance down.
 */
function checkData(value: unknown, context: z.RefinementCtx): void {
  const fail = (code: string, message: string) => context.addIssue({ code: 'custom', message, params: { code } });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('invalid_type', 'must be a JSON object');
  const stack: Array<[unknown, number]> = [[value, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    nodes += 1;
    if (nodes > DATA_LIMITS.nodes) return fail('too_many_values', `at most ${DATA_LIMITS.nodes} values`);
    if (typeof node !== 'object' || node === null) continue;
    if (depth > DATA_LIMITS.depth) return fail('too_deep', `nested at most ${DATA_LIMITS.depth} levels`);
    for (const key of Object.keys(node)) {
      if (FORBIDDEN_KEYS.has(key)) return fail('forbidden_key', `key "${key}" is not allowed`);
      stack.push([(node as Record<string, unknown>)[key], depth + 1]);
    }
  }
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(value));
  } catch {
    return fail('unencodable', 'cannot be encoded as JSON');
  }
  if (size > DATA_LIMITS.bytes) return fail('too_large', `at most ${DATA_LIMITS.bytes} bytes as JSON`);
}

export type SmsRequest = z.infer<typeof smsRequestSchema>;
export type EmailRequest = z.infer<typeof emailRequestSchema>;
export type NotificationRequest = z.infer<typeof notificationRequestSchema>;

export interface ValidationDetail {
  field: string;
  message: string;
  /** A stable reason for refusals that are more than a type or length error (header_injection, too_deep, ...). */
  code?: string;
}

/** Zod issues as the API's `details`: one entry per field, in a shape that does not leak zod internals. */
export function toValidationDetails(error: z.ZodError): ValidationDetail[] {
  return error.issues.map((issue) => {
    const code = (issue as { params?: { code?: unknown } }).params?.code;
    return { field: issue.path.join('.') || '(body)', message: issue.message, ...(typeof code === 'string' ? { code } : {}) };
  });
}
