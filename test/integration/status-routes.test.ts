import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import type pg from 'pg';
import request from 'supertest';
import { addKey } from '../../services/app/auth/api-keys';
import { KeyStore } from '../../services/app/auth/key-store';
import { errorHandler } from '../../services/app/http/error-handler';
import { requestContext } from '../../services/app/http/request-context';
import { statusRoutes } from '../../services/app/http/status-routes';
import { StatusQueries } from '../../services/app/status/status-queries';
import { createPool } from '../../services/shared/db/pool';
import type { StatusEvent } from '../../services/shared/status/status-event';
import { writeStatusEvents } from '../../services/status-service/status-writer';
import { DATABASE_URL, testPool, uniqueId } from '../support/database';
import { testLogger } from '../support/messaging';

// GET /v1/messages[/:id] on the real test database, written by the real status writer: scoping by key, history,
// pagination, validation, and the database being unreachable.
let dir: string;
let keys: KeyStore;
let pool: pg.Pool;
let ownKey: string;
let otherKey: string;
let ownerName: string;

function appOn(databasePool: pg.Pool) {
  const app = express();
  app.use(requestContext(testLogger));
  app.use(statusRoutes({ keys, queries: new StatusQueries(databasePool) }));
  app.use(errorHandler(2));
  return app;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-status-keys-'));
  const file = path.join(dir, 'keys.json');
  ownerName = uniqueId('reader');
  ownKey = addKey(file, { name: ownerName, channels: ['sms', 'notif'] }).key;
  // Reading status needs any valid key, whatever its channels.
  otherKey = addKey(file, { name: uniqueId('other'), channels: ['email'] }).key;
  keys = new KeyStore(file, testLogger);
  keys.start();
  pool = testPool();
});
afterAll(async () => {
  keys.stop();
  await pool.query("DELETE FROM status_outbox WHERE body->>'keyName' = $1", [ownerName]);
  await pool.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

const second = (n: number) => new Date(Date.UTC(2026, 1, 1, 0, 0, n)).toISOString();

async function record(id: string, channel: StatusEvent['channel'], created: number, statuses: Array<StatusEvent['status']>): Promise<void> {
  const events = statuses.map((status, index): StatusEvent => ({
    eventId: `${id}:${status}`, messageId: id, channel, status, at: second(created + index),
    ...(status === 'queued' ? { owner: { keyName: ownerName } } : {}),
    ...(status === 'retrying' ? { attempt: 1, detail: 'timeout' } : {}),
  }));
  await writeStatusEvents(pool, events);
}

describe('GET /v1/messages/:id', () => {
  test('the sending key sees the status, attempts and the history of events', async () => {
    const id = uniqueId('one');
    await record(id, 'sms', 0, ['queued', 'retrying', 'sent']);
    const response = await request(appOn(pool)).get(`/v1/messages/${id}`).set('authorization', `Bearer ${ownKey}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id, channel: 'sms', status: 'sent', attempts: 1, createdAt: second(0), updatedAt: expect.any(String),
      events: [{ at: second(0), status: 'queued' }, { at: second(1), status: 'retrying', detail: 'timeout' }, { at: second(2), status: 'sent' }],
    });
  });

  test('another key, an unknown id and a malformed id all get 404; no key gets 401', async () => {
    const id = uniqueId('scoped');
    await record(id, 'sms', 0, ['queued']);
    const app = appOn(pool);
    expect((await request(app).get(`/v1/messages/${id}`).set('authorization', `Bearer ${otherKey}`)).status).toBe(404);
    expect((await request(app).get(`/v1/messages/${uniqueId('nope')}`).set('authorization', `Bearer ${ownKey}`)).body).toEqual({ error: 'not_found' });
    expect((await request(app).get(`/v1/messages/${'x'.repeat(300)}`).set('authorization', `Bearer ${ownKey}`)).status).toBe(404);
    expect((await request(app).get(`/v1/messages/${id}`)).status).toBe(401);
  });
});

describe('GET /v1/messages', () => {
  test("lists the key's messages newest first, page by page with the cursor, filtered by channel and status", async () => {
    // Created in the future of every other test's rows, so this key's newest are these.
    const ids = Array.from({ length: 5 }, (_, n) => uniqueId(`page-${n}`));
    for (const [n, id] of ids.entries()) await record(id, n % 2 === 0 ? 'sms' : 'notif', 100 + n * 10, n === 4 ? ['queued', 'sent'] : ['queued']);
    const app = appOn(pool);
    const get = (query: string) => request(app).get(`/v1/messages${query}`).set('authorization', `Bearer ${ownKey}`);
    const first = await get('?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.messages.map((m: { id: string }) => m.id)).toEqual([ids[4], ids[3]]);
    const secondPage = await get(`?limit=2&cursor=${first.body.nextCursor}`);
    expect(secondPage.body.messages.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[1]]);
    const smsSent = await get('?channel=sms&status=sent');
    expect(smsSent.body.messages[0]).toMatchObject({ id: ids[4], channel: 'sms', status: 'sent' });
    expect(smsSent.body.messages.every((m: { channel: string; status: string }) => m.channel === 'sms' && m.status === 'sent')).toBe(true);
    expect(smsSent.body.messages.map((m: { id: string }) => m.id)).not.toContain(ids[0]);
    const other = await request(app).get('/v1/messages').set('authorization', `Bearer ${otherKey}`);
    expect(other.body).toEqual({ messages: [], nextCursor: null });
  });

  test.each([
    ['an unknown channel', '?channel=fax', 'channel'],
    ['an unknown status', '?status=lost', 'status'],
    ['a limit over 100', '?limit=101', 'limit'],
    ['a limit that is not a number', '?limit=ten', 'limit'],
    ['a cursor the API did not make', '?cursor=bm9wZQ', 'cursor'],
    ['an unknown parameter', '?sort=asc', '(body)'],
    ['a repeated parameter', '?channel=sms&channel=email', 'channel'],
  ])('%s is 400 validation_failed naming it', async (_name, query, field) => {
    const response = await request(appOn(pool)).get(`/v1/messages${query}`).set('authorization', `Bearer ${ownKey}`);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'validation_failed', details: [expect.objectContaining({ field })] });
  });
});

test('a database that cannot be reached is 503 status_unavailable with Retry-After, and the app keeps serving', async () => {
  // A port nothing listens on: connection refused at once.
  const unreachable = createPool({ url: DATABASE_URL.replace(/:\d+\//, ':1/'), max: 1, applicationName: 'test', connectionTimeoutMs: 1000 }, testLogger);
  const app = appOn(unreachable);
  for (const url of [`/v1/messages/${uniqueId('x')}`, '/v1/messages']) {
    const response = await request(app).get(url).set('authorization', `Bearer ${ownKey}`);
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.body).toEqual({ error: 'status_unavailable' });
  }
  await unreachable.end();
});
