import type pg from 'pg';

/**
 * Deletes messages whose status has not changed for `days` (their events go with them: ON DELETE CASCADE), in
 * slices of `slice` rows so that no transaction holds many locks or a long WAL burst. Returns how many went.
 */
export async function pruneStatus(pool: pg.Pool, days: number, slice = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await pool.query(
      `DELETE FROM status_messages WHERE id IN (
         SELECT id FROM status_messages WHERE updated_at < now() - make_interval(days => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [days, slice],
    );
    total += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < slice) return total;
  }
}
