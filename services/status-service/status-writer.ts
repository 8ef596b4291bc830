import type pg from 'pg';
import { withTransaction } from '../shared/db/pool';
import { STATUS_RANK, type MessageStatus, type StatusChange, type StatusEvent } from '../shared/status/status-event';
import { foldEvents, type MessageFold } from './fold-events';

/** A message whose recorded status changed in a write (or whose owner became known). */
export interface RecordedChange {
  /**
   * The change put in the outbox (relay.status.changes); undefined unless the owner is known and its key had a
   * status webhook when it sent the message.
   */
  change: StatusChange | undefined;
  channel: StatusEvent['channel'];
  /** The status before this write; undefined when the write created the message. */
  from: MessageStatus | undefined;
  to: MessageStatus;
  /** False when only the owner became known (the status was recorded before the `queued` event arrived). */
  statusChanged: boolean;
  /** Seconds from `sent` to a provider's final answer, when this write recorded one. */
  callbackLagSeconds: number | undefined;
}

export interface WriteResult {
  /** Events stored for the first time; the others were duplicates (seen before, changed nothing). */
  recorded: StatusEvent[];
  duplicates: StatusEvent[];
  changes: RecordedChange[];
}

interface StoredRow {
  id: string;
  channel: StatusEvent['channel'];
  owner: string | null;
  status_webhook: boolean;
  status: MessageStatus;
  status_at: Date;
  status_detail: string | null;
  provider: string | null;
  sent_at: Date | null;
}

/*
 * The ordering rule in SQL: the stored status is replaced only by an event of higher rank, or of equal rank and
 * later `at`. Every other column merges so that applying the same fold twice changes nothing: owner is kept once
 * known, attempts only grow, created_at and sent_at only move earlier.
 */
const UPSERT = `
INSERT INTO status_messages AS m
  (id, channel, owner, status, status_rank, status_at, status_detail, attempts, provider, provider_message_id, sent_at, created_at, status_webhook)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::timestamptz[], $7::text[], $8::int[],
                     $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::boolean[])
ON CONFLICT (id) DO UPDATE SET
  owner = COALESCE(m.owner, EXCLUDED.owner),
  status_webhook = m.status_webhook OR EXCLUDED.status_webhook,
  status = CASE WHEN (EXCLUDED.status_rank, EXCLUDED.status_at) > (m.status_rank, m.status_at) THEN EXCLUDED.status ELSE m.status END,
  status_rank = CASE WHEN (EXCLUDED.status_rank, EXCLUDED.status_at) > (m.status_rank, m.status_at) THEN EXCLUDED.status_rank ELSE m.status_rank END,
  status_at = CASE WHEN (EXCLUDED.status_rank, EXCLUDED.status_at) > (m.status_rank, m.status_at) THEN EXCLUDED.status_at ELSE m.status_at END,
  status_detail = CASE WHEN (EXCLUDED.status_rank, EXCLUDED.status_at) > (m.status_rank, m.status_at) THEN EXCLUDED.status_detail ELSE m.status_detail END,
  attempts = GREATEST(m.attempts, EXCLUDED.attempts),
  provider = COALESCE(EXCLUDED.provider, m.provider),
  provider_message_id = COALESCE(EXCLUDED.provider_message_id, m.provider_message_id),
  sent_at = LEAST(m.sent_at, EXCLUDED.sent_at),
  created_at = LEAST(m.created_at, EXCLUDED.created_at),
  updated_at = now()
RETURNING id, channel, owner, status_webhook, status, status_at, status_detail, provider, sent_at`;

const INSERT_EVENTS = `
INSERT INTO status_events (event_id, message_id, status, status_rank, at, attempt, detail, provider, provider_message_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::timestamptz[], $6::int[], $7::text[], $8::text[], $9::text[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id`;

const column = <T>(folds: readonly MessageFold[], pick: (fold: MessageFold) => T): T[] => folds.map(pick);

/**
 * Writes a batch of events in one transaction: locks the messages it touches (in id order, so replicas never
 * deadlock), upserts one row per message with the ordering rule, stores the events once each, and puts a
 * StatusChange in the outbox for every change of a message whose owner is known and had a status webhook. Idempotent: a redelivered batch
 * finds its events stored and its statuses already applied.
 */
export async function writeStatusEvents(pool: pg.Pool, events: readonly StatusEvent[]): Promise<WriteResult> {
  const folds = foldEvents(events);
  const ids = folds.map((fold) => fold.id);
  return withTransaction(pool, async (client) => {
    const before = await client.query<{ id: string; status: MessageStatus; owner: string | null }>(
      'SELECT id, status, owner FROM status_messages WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
      [ids],
    );
    const previous = new Map(before.rows.map((row) => [row.id, row]));
    const stored = await client.query<StoredRow>(UPSERT, [
      ids,
      column(folds, (f) => f.channel),
      column(folds, (f) => f.owner),
      column(folds, (f) => f.status),
      column(folds, (f) => f.rank),
      column(folds, (f) => f.statusAt),
      column(folds, (f) => f.detail),
      column(folds, (f) => f.attempts),
      column(folds, (f) => f.provider),
      column(folds, (f) => f.providerMessageId),
      column(folds, (f) => f.sentAt),
      column(folds, (f) => f.createdAt),
      column(folds, (f) => f.statusWebhook),
    ]);
    const inserted = await client.query<{ event_id: string }>(INSERT_EVENTS, [
      events.map((e) => e.eventId),
      events.map((e) => e.messageId),
      events.map((e) => e.status),
      events.map((e) => STATUS_RANK[e.status]),
      events.map((e) => e.at),
      events.map((e) => e.attempt ?? null),
      events.map((e) => e.detail ?? null),
      events.map((e) => e.provider ?? null),
      events.map((e) => e.providerMessageId ?? null),
    ]);
    const fresh = new Set(inserted.rows.map((row) => row.event_id));
    // The same event twice in one batch: only the first counts as recorded.
    const recorded: StatusEvent[] = [];
    const duplicates: StatusEvent[] = [];
    for (const event of events) {
      if (fresh.delete(event.eventId)) recorded.push(event);
      else duplicates.push(event);
    }

    const changes = stored.rows.flatMap((row): RecordedChange[] => {
      const prior = previous.get(row.id);
      const statusChanged = prior?.status !== row.status;
      const ownerLearned = prior !== undefined && prior.owner === null && row.owner !== null;
      if (!statusChanged && !ownerLearned) return [];
      const at = row.status_at.toISOString();
      const lag = (row.status === 'delivered' || row.status === 'failed') && row.sent_at && statusChanged
        ? Math.max(0, row.status_at.getTime() - row.sent_at.getTime()) / 1000
        : undefined;
      const change: StatusChange | undefined = row.owner === null || !row.status_webhook ? undefined : {
        changeId: `${row.id}:${row.status}:${at}`,
        messageId: row.id,
        channel: row.channel,
        keyName: row.owner,
        status: row.status,
        ...(prior && prior.status !== row.status ? { previousStatus: prior.status } : {}),
        at,
        ...(row.status_detail === null ? {} : { detail: row.status_detail }),
        ...(row.provider === null ? {} : { provider: row.provider }),
      };
      return [{ change, channel: row.channel, from: prior?.status, to: row.status, statusChanged, callbackLagSeconds: lag }];
    });
    const outbox = changes.flatMap((entry) => (entry.change ? [JSON.stringify(entry.change)] : []));
    if (outbox.length > 0) await client.query('INSERT INTO status_outbox (body) SELECT * FROM unnest($1::jsonb[])', [outbox]);
    return { recorded, duplicates, changes };
  });
}
