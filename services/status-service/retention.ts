import type pg from 'pg';

/**
 * Deletes messages whose status has not changed for `days`, with their events in the same statement (the events
 * table has no foreign key: its check cost the writer more than this does), in slices of `slice` rows so that no
 * transaction holds many locks or a long WAL burst. Returns how many messages went.
 */
export async function pruneStatus(pool: pg.Pool, days: number, slice = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await pool.query<{ messages: number }>(
      `WITH gone AS (
         DELETE FROM status_messages WHERE id IN (
           SELECT id FROM status_messages WHERE updated_at < now() - make_interval(days => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id),
       gone_events AS (DELETE FROM status_events WHERE message_id IN (SELECT id FROM gone))
       SELECT count(*)::int AS messages FROM gone`,
      [days, slice],
    );
    const messages = result.rows[0]?.messages ?? 0;
    total += messages;
    if (messages < slice) return total;
  }
}
