import type pg from 'pg';
import type { MessageType } from '../../shared/messaging/topology';
import type { MessageStatus } from '../../shared/status/status-event';

export interface MessageSummary {
  id: string;
  channel: MessageType;
  status: MessageStatus;
  attempts: number;
  createdAt: string;
  updatedAt: string;
}

export interface MessageDetail extends MessageSummary {
  events: Array<{ at: string; status: MessageStatus; detail?: string }>;
}

export interface ListFilter {
  channel?: MessageType;
  status?: MessageStatus;
  limit: number;
  /** Where the previous page ended: the last message's (createdAt, id). */
  after?: { createdAt: string; id: string };
}

interface MessageRow {
  id: string;
  channel: MessageType;
  status: MessageStatus;
  attempts: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, channel, status, attempts, created_at, updated_at';

const summary = (row: MessageRow): MessageSummary => ({
  id: row.id,
  channel: row.channel,
  status: row.status,
  attempts: row.attempts,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

/** The status API's reads, always scoped to the API key that sent the messages (`owner`). */
export class StatusQueries {
  constructor(private readonly pool: pg.Pool) {}

  /** The message with its event history (oldest first), or undefined if it does not exist for this owner. */
  async get(owner: string, id: string): Promise<MessageDetail | undefined> {
    const found = await this.pool.query<MessageRow>(`SELECT ${COLUMNS} FROM status_messages WHERE id = $1 AND owner = $2`, [id, owner]);
    const row = found.rows[0];
    if (!row) return undefined;
    const events = await this.pool.query<{ at: Date; status: MessageStatus; detail: string | null }>(
      'SELECT at, status, detail FROM status_events WHERE message_id = $1 ORDER BY at, status_rank, event_id',
      [id],
    );
    return {
      ...summary(row),
      events: events.rows.map((event) => ({ at: event.at.toISOString(), status: event.status, ...(event.detail === null ? {} : { detail: event.detail }) })),
    };
  }

  /** One page of the owner's messages, newest first; `more` tells whether another page follows. */
  async list(owner: string, filter: ListFilter): Promise<{ messages: MessageSummary[]; more: boolean }> {
    const result = await this.pool.query<MessageRow>(
      `SELECT ${COLUMNS} FROM status_messages
        WHERE owner = $1
          AND ($2::text IS NULL OR channel = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::text))
        ORDER BY created_at DESC, id DESC
        LIMIT $6`,
      [owner, filter.channel ?? null, filter.status ?? null, filter.after?.createdAt ?? null, filter.after?.id ?? null, filter.limit + 1],
    );
    const more = result.rows.length > filter.limit;
    return { messages: result.rows.slice(0, filter.limit).map(summary), more };
  }
}
