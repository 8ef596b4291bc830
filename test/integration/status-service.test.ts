import net from 'node:net';
import type pg from 'pg';
import { BrokerConnection } from '../../services/shared/messaging/connection';
import { ConfirmPublisher } from '../../services/shared/messaging/publisher';
import { BrokerStatusReporter } from '../../services/shared/status/broker-status-reporter';
import { STATUS_WEBHOOKS_QUEUE, statusChangeSchema, type StatusEvent } from '../../services/shared/status/status-event';
import { amqpUrl, drainQueue, purgeAllQueues } from '../support/broker';
import { DATABASE_URL, postgresCtl, testPool, uniqueId } from '../support/database';
import { testLogger } from '../support/messaging';
import { startService, stopAll } from '../support/processes';
import { httpStatus, waitReady } from '../support/stack';
import { waitFor } from '../support/wait';

// The status service as a process, between the real broker and the real database: events reported by the app's
// and workers' reporter end up recorded, changes go out on relay.status.webhooks, and a database outage holds the
// events in the broker until it is back.
let pool: pg.Pool;
let connection: BrokerConnection;
let publisher: ConfirmPublisher;
let reporter: BrokerStatusReporter;
let readyUrl: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  await purgeAllQueues();
  pool = testPool();
  const port = await freePort();
  readyUrl = `http://127.0.0.1:${port}/readyz`;
  startService('status-service', { AMQP_URL: amqpUrl('relay-status'), DATABASE_URL, METRICS_PORT: String(port), WRITE_WINDOW_MS: '5' });
  await waitReady([readyUrl], 30_000);
  connection = new BrokerConnection({ url: amqpUrl('relay-app'), name: 'test-status-service' }, testLogger);
  connection.start();
  publisher = new ConfirmPublisher(connection, testLogger);
  await publisher.waitReady(10_000);
  reporter = new BrokerStatusReporter(publisher, testLogger, { windowMs: 1 });
}, 60_000);

afterAll(async () => {
  await postgresCtl('resume');
  await reporter.close();
  await publisher.close();
  await connection.close();
  await stopAll();
  await pool.end();
  await purgeAllQueues();
});

/** A message's queued and sent events; its key has a status webhook, so its changes are relayed to the dispatcher. */
const queuedAndSent = (id: string): StatusEvent[] => [
  { eventId: `${id}:queued`, messageId: id, channel: 'email', status: 'queued', at: new Date(Date.now() - 10).toISOString(), owner: { keyName: 'service-key', statusWebhook: true } },
  { eventId: `${id}:sent:1`, messageId: id, channel: 'email', status: 'sent', at: new Date().toISOString(), attempt: 1, provider: 'smtp' },
];

async function statuses(ids: string[]): Promise<Map<string, string>> {
  const rows = await pool.query<{ id: string; status: string }>('SELECT id, status FROM status_messages WHERE id = ANY($1)', [ids]);
  return new Map(rows.rows.map((row) => [row.id, row.status]));
}

test('reported events are recorded and each change is published for the status webhooks', async () => {
  const id = uniqueId('svc');
  for (const event of queuedAndSent(id)) reporter.report(event);
  await waitFor('the message recorded as sent', async () => ((await statuses([id])).get(id) === 'sent' ? true : undefined));
  const changes = await waitFor('the change on relay.status.webhooks', async () => {
    const found = (await drainQueue(STATUS_WEBHOOKS_QUEUE)).map((m) => statusChangeSchema.parse(JSON.parse(m.content.toString())));
    const ours = found.filter((change) => change.messageId === id);
    return ours.length > 0 ? ours : undefined;
  });
  // Both events came in one write: one change, to the status that won.
  expect(changes).toEqual([expect.objectContaining({ messageId: id, keyName: 'service-key', status: 'sent', channel: 'email', provider: 'smtp' })]);
});

test('with the database away it answers 503 on /readyz, loses nothing, and catches up when the database is back', async () => {
  await postgresCtl('stop');
  const ids = Array.from({ length: 200 }, (_, n) => uniqueId(`outage-${n}`));
  for (const id of ids) for (const event of queuedAndSent(id)) reporter.report(event);
  await waitFor('/readyz 503', async () => ((await httpStatus(readyUrl)) === 503 ? true : undefined), 20_000);
  await postgresCtl('resume');
  await waitFor('every message recorded as sent', async () => {
    const found = await statuses(ids);
    return ids.every((id) => found.get(id) === 'sent') ? true : undefined;
  }, 30_000);
  await waitFor('/readyz 200', async () => ((await httpStatus(readyUrl)) === 200 ? true : undefined), 20_000);
  const events = await pool.query('SELECT count(*)::int AS n FROM status_events WHERE message_id = ANY($1)', [ids]);
  expect(events.rows[0].n).toBe(400);
}, 90_000);
