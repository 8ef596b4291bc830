import { z } from 'zod';
import { MESSAGE_TYPES } from '../../shared/messaging/topology';
import { MESSAGE_STATUSES } from '../../shared/status/status-event';

/** Message ids are UUIDs or idempotency-derived ids: printable, bounded. Anything else is a 404, like an unknown id. */
export const MESSAGE_ID = z.string().regex(/^[\w.:-]{1,128}$/).meta({ description: 'The id the 202 answered with.' });

/** The opaque cursor: base64url of `[createdAt, id]` of the last message of the page. */
export const encodeCursor = (createdAt: string, id: string): string => Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');

const cursorSchema = z
  .string()
  .max(400)
  .transform((value, context) => {
    try {
      const decoded: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
      const [createdAt, id] = z.tuple([z.iso.datetime(), z.string().min(1).max(128)]).parse(decoded);
      return { createdAt, id };
    } catch {
      context.addIssue({ code: 'custom', message: 'not a cursor this API returned' });
      return z.NEVER;
    }
  })
  .meta({ description: "The previous page's `nextCursor`." });

export const MESSAGE_LIST_QUERY = z
  .object({
    channel: z.enum(MESSAGE_TYPES).optional(),
    status: z.enum(MESSAGE_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: cursorSchema.optional(),
  })
  .strict();
