import type pg from 'pg';
import type { StatusChange, StatusEvent } from '../../services/shared/status/status-event';
import { pruneStatus } from '../../services/status-service/retention';
import { writeStatusEvents } from '../../services/status-service/status-writer';
import { testPool, uniqueId } from '../support/database';

// The status writer against the real test database: every transition, duplicates, out-of-order events, owners
// that arrive late, the outbox of changes, retention.
let pool: pg.Pool;
beforeAll(() => {
  pool = testPool();
});
afterAll(async () => {
  // The changes the tests did not read would otherwise go out with the next status service a test starts.
  await pool.query("DELETE FROM status_outbox WHERE body->>'keyName' = 'writer-key'");
  await pool.end();
});

const base = Date.UTC(2026, 0, 1);
const at = (second: number) => new Date(base + second * 1000).toISOString();

/** A message's events; `statusWebhook`: its key had a status webhook when it sent it (the app's `queued` says so). */
function events(id: string, statusWebhook = true) {
  const make = (status: StatusEvent['status'], second: number, extra: Partial<StatusEvent> = {}): StatusEvent => ({
    eventId: `${id}:${status}${extra.attempt === undefined ? '' : `:${extra.attempt}`}`, messageId: id, channel: 'sms', status, at: at(second), ...extra,
  });
  return {
    queued: make('queued', 0, { owner: { keyName: 'writer-key', ...(statusWebhook ? { statusWebhook } : {}) } }),
    retrying: make('retrying', 1, { attempt: 1, detail: 'twilio 20429' }),
    sent: make('sent', 2, { attempt: 2, provider: 'twilio', providerMessageId: `SM-${id}` }),
    delivered: make('delivered', 5, { detail: 'delivered' }),
    failed: make('failed', 6, { detail: 'undelivered 30003' }),
  };
}

async function stored(id: string) {
  const message = await pool.query('SELECT owner, status, attempts, provider, provider_message_id, created_at, sent_at FROM status_messages WHERE id = $1', [id]);
  const history = await pool.query('SELECT status FROM status_events WHERE message_id = $1 ORDER BY at, status_rank', [id]);
  return { ...message.rows[0], history: history.rows.map((row) => row.status as string) };
}

/** The changes the writer put in the outbox for this message (and takes them out, so the test reads only its own). */
async function outbox(id: string): Promise<StatusChange[]> {
  const rows = await pool.query<{ body: StatusChange }>("DELETE FROM status_outbox WHERE body->>'messageId' = $1 RETURNING body", [id]);
  return rows.rows.map((row) => row.body).sort((a, b) => a.at.localeCompare(b.at));
}

describe('writeStatusEvents', () => {
  test('each transition of the life of a message is recorded, with a change for the owner each time', async () => {
    const id = uniqueId('life');
    const e = events(id);
    const steps: Array<[StatusEvent, string]> = [[e.queued, 'queued'], [e.retrying, 'retrying'], [e.sent, 'sent'], [e.delivered, 'delivered']];
    for (const [event, status] of steps) {
      const result = await writeStatusEvents(pool, [event]);
      expect(result.recorded).toEqual([event]);
      expect((await stored(id)).status).toBe(status);
    }
    expect(await stored(id)).toMatchObject({ owner: 'writer-key', attempts: 2, provider: 'twilio', provider_message_id: `SM-${id}`, history: ['queued', 'retrying', 'sent', 'delivered'] });
    const changes = await outbox(id);
    expect(changes.map((change) => [change.previousStatus, change.status])).toEqual([[undefined, 'queued'], ['queued', 'retrying'], ['retrying', 'sent'], ['sent', 'delivered']]);
    expect(changes[3]).toMatchObject({ changeId: `${id}:delivered:${at(5)}`, keyName: 'writer-key', channel: 'sms', provider: 'twilio', detail: 'delivered' });
  });

  test('a provider failure after delivered (same rank, later) turns it failed; dead-lettering is failed too', async () => {
    const id = uniqueId('fail');
    const e = events(id);
    await writeStatusEvents(pool, [e.queued, e.sent, e.delivered]);
    await writeStatusEvents(pool, [e.failed]);
    expect((await stored(id)).status).toBe('failed');
  });

  test('duplicates change nothing: the same batch twice records once and publishes no second change', async () => {
    const id = uniqueId('dup');
    const e = events(id);
    const first = await writeStatusEvents(pool, [e.queued, e.sent, e.sent]);
    expect(first.recorded.map((event) => event.status)).toEqual(['queued', 'sent']);
    expect(first.duplicates.map((event) => event.status)).toEqual(['sent']);
    const again = await writeStatusEvents(pool, [e.queued, e.sent]);
    expect(again.recorded).toEqual([]);
    expect(again.changes).toEqual([]);
    expect(await stored(id)).toMatchObject({ status: 'sent', history: ['queued', 'sent'] });
    expect((await outbox(id)).map((change) => change.status)).toEqual(['sent']);
  });

  test('a key without a status webhook: every transition is recorded and none goes to the outbox', async () => {
    const id = uniqueId('quiet');
    const e = events(id, false);
    const results = [await writeStatusEvents(pool, [e.queued]), await writeStatusEvents(pool, [e.sent, e.delivered])];
    expect(results.flatMap((result) => result.changes.map((entry) => [entry.to, entry.change]))).toEqual([['queued', undefined], ['delivered', undefined]]);
    expect(await stored(id)).toMatchObject({ owner: 'writer-key', status: 'delivered', history: ['queued', 'sent', 'delivered'] });
    expect(await outbox(id)).toEqual([]);
  });

  test('out of order: a late retrying or queued never overwrites delivered', async () => {
    const id = uniqueId('late');
    const e = events(id);
    await writeStatusEvents(pool, [e.delivered]);
    await writeStatusEvents(pool, [e.retrying]);
    await writeStatusEvents(pool, [e.sent]);
    await writeStatusEvents(pool, [e.queued]);
    expect(await stored(id)).toMatchObject({ status: 'delivered', history: ['queued', 'retrying', 'sent', 'delivered'], created_at: new Date(at(0)) });
  });

  test('an event before its queued is recorded; the owner is filled when queued arrives, and then told the status', async () => {
    const id = uniqueId('orphan');
    const e = events(id);
    const early = await writeStatusEvents(pool, [e.sent]);
    expect(early.changes).toEqual([expect.objectContaining({ change: undefined, to: 'sent' })]);
    expect(await stored(id)).toMatchObject({ owner: null, status: 'sent' });
    const late = await writeStatusEvents(pool, [e.queued]);
    expect(late.changes).toEqual([expect.objectContaining({ statusChanged: false, to: 'sent' })]);
    expect(await stored(id)).toMatchObject({ owner: 'writer-key', status: 'sent' });
    expect(await outbox(id)).toEqual([expect.objectContaining({ status: 'sent', keyName: 'writer-key' })]);
  });

  test('the callback lag is measured from sent to the provider confirmation', async () => {
    const id = uniqueId('lag');
    const e = events(id);
    await writeStatusEvents(pool, [e.queued, e.sent]);
    const result = await writeStatusEvents(pool, [e.delivered]);
    expect(result.changes[0]?.callbackLagSeconds).toBe(3);
  });

  test('two writers racing on the same message end with the same status as one writer', async () => {
    const id = uniqueId('race');
    const e = events(id);
    const second = testPool();
    try {
      await Promise.all([writeStatusEvents(pool, [e.queued, e.delivered]), writeStatusEvents(second, [e.retrying, e.sent])]);
    } finally {
      await second.end();
    }
    expect(await stored(id)).toMatchObject({ status: 'delivered', owner: 'writer-key', history: ['queued', 'retrying', 'sent', 'delivered'] });
  });

  test('retention removes messages unchanged for longer than the retention, with their events', async () => {
    const old = uniqueId('old');
    const fresh = uniqueId('fresh');
    await writeStatusEvents(pool, [events(old).queued, events(fresh).queued]);
    await pool.query("UPDATE status_messages SET updated_at = now() - interval '31 days' WHERE id = $1", [old]);
    expect(await pruneStatus(pool, 30)).toBeGreaterThanOrEqual(1);
    expect((await pool.query('SELECT id FROM status_messages WHERE id = ANY($1)', [[old, fresh]])).rows).toEqual([{ id: fresh }]);
    expect((await pool.query('SELECT 1 FROM status_events WHERE message_id = $1', [old])).rowCount).toBe(0);
    await outbox(old);
    await outbox(fresh);
  });
});
