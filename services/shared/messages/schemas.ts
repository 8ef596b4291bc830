import { z } from 'zod';

/**
 * Request bodies of the HTTP API, shared by the app (validation at the edge), the workers (the envelope is
 * checked again on the way in) and the cluster-IPC baseline in loadtest/baseline.
 */
const E164 = /^\+[1-9]\d{6,14}$/;

export const SMS_BODY_MAX = 1600; // Twilio's limit for a concatenated message body.

export const smsRequestSchema = z.strictObject({
  to: z.string().regex(E164, 'must be an E.164 phone number such as +14155550100'),
  body: z.string().min(1).max(SMS_BODY_MAX),
});

export const emailRequestSchema = z
  .strictObject({
    to: z.email(),
    subject: z.string().min(1).max(998), // RFC 5322 line length
    text: z.string().min(1).max(100_000).optional(),
    html: z.string().min(1).max(100_000).optional(),
  })
  .refine((email) => email.text !== undefined || email.html !== undefined, {
    message: 'one of text or html is required',
    path: ['text'],
  });

export const notificationRequestSchema = z.strictObject({
  recipient: z.string().min(1).max(200),
  title: z.string().min(1).max(200),
  body: z.string().min(1).max(4000),
  data: z.record(z.string(), z.unknown()).optional(),
});

export type SmsRequest = z.infer<typeof smsRequestSchema>;
export type EmailRequest = z.infer<typeof emailRequestSchema>;
export type NotificationRequest = z.infer<typeof notificationRequestSchema>;

export interface ValidationDetail {
  field: string;
  message: string;
}

/** Zod issues as the API's `details`: one entry per field, in a shape that does not leak zod internals. */
export function toValidationDetails(error: z.ZodError): ValidationDetail[] {
  return error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message }));
}
