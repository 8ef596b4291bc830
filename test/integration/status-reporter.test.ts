import { Registry } from 'prom-client';
import { BrokerConnection } from '../../services/shared/messaging/connection';
import { ConfirmPublisher } from '../../services/shared/messaging/publisher';
import { BrokerStatusReporter } from '../../services/shared/status/broker-status-reporter';
import { STATUS_BATCH_CONTENT_TYPE, STATUS_EXCHANGE, statusEventSchema, type StatusEvent } from '../../services/shared/status/status-event';
import { adminChannel, amqpUrl, drainQueue, purgeAllQueues } from '../support/broker';
import { uniqueId } from '../support/database';
import { declareTestQueue, deleteQueue, testLogger } from '../support/messaging';
import { waitFor } from '../support/wait';

// The reporter of the app and the workers against the real broker, as a worker's user (its write permission on
// relay.status comes from rabbitmq/definitions.json). A queue of the test's own is bound to the status exchange.
let queue: string;
beforeAll(async () => {
  queue = await declareTestQueue('status-reporter');
  const admin = await adminChannel();
  await admin.channel.bindQueue(queue, STATUS_EXCHANGE, '#');
  await admin.close();
});
afterAll(async () => {
  await deleteQueue(queue);
  await purgeAllQueues();
});

const sent = (messageId: string, n: number): StatusEvent => ({
  eventId: `${messageId}:sent:1`, messageId, channel: 'sms', status: 'sent', at: new Date().toISOString(), attempt: 1, provider: 'twilio', providerMessageId: `SM${n}`,
});

/** Every event in the messages taken from the test queue, in order. */
async function received(expected: number): Promise<{ events: StatusEvent[]; messages: number; contentTypes: string[] }> {
  const all: Array<{ content: Buffer; properties: { contentType?: string } }> = [];
  await waitFor(`${expected} status events`, async () => {
    all.push(...(await drainQueue(queue)));
    const count = all.reduce((n, m) => n + ([] as unknown[]).concat(JSON.parse(m.content.toString())).length, 0);
    return count >= expected ? true : undefined;
  });
  const events = all.flatMap((m) => ([] as unknown[]).concat(JSON.parse(m.content.toString())).map((item) => statusEventSchema.parse(item)));
  return { events, messages: all.length, contentTypes: all.map((m) => String(m.properties.contentType)) };
}

function reported(registry: Registry, outcome: string): Promise<number> {
  return registry.getSingleMetric('status_events_reported_total')!.get().then((metric) => metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0);
}

describe('BrokerStatusReporter', () => {
  test('events reported together travel as one confirmed AMQP message, each event intact', async () => {
    const connection = new BrokerConnection({ url: amqpUrl('relay-sms-worker'), name: 'test-status-reporter' }, testLogger);
    connection.start();
    const publisher = new ConfirmPublisher(connection, testLogger);
    expect(await publisher.waitReady(10_000)).toBe(true);
    const registry = new Registry();
    const reporter = new BrokerStatusReporter(publisher, testLogger, { registry, windowMs: 5 });
    const id = uniqueId('batch');
    const events = Array.from({ length: 300 }, (_, n) => sent(`${id}-${n}`, n));
    for (const event of events) reporter.report(event);
    const got = await received(300);
    expect(got.messages).toBe(1);
    expect(got.contentTypes).toEqual([STATUS_BATCH_CONTENT_TYPE]);
    expect(got.events).toEqual(events);
    await waitFor('the confirm counted', async () => ((await reported(registry, 'published')) === 300 ? true : undefined));
    await reporter.close();
    await publisher.close();
    await connection.close();
  });

  test('while the broker is away the buffer stays bounded: the oldest are dropped and counted, the rest published once it is back', async () => {
    // Not started yet: no connection, so nothing can be published.
    const connection = new BrokerConnection({ url: amqpUrl('relay-notif-worker'), name: 'test-status-reporter-away', minReconnectDelayMs: 50 }, testLogger);
    const publisher = new ConfirmPublisher(connection, testLogger);
    const registry = new Registry();
    const reporter = new BrokerStatusReporter(publisher, testLogger, { registry, windowMs: 1, maxBatch: 50, maxBuffered: 100, retryDelayMs: 50 });
    const id = uniqueId('away');
    const events = Array.from({ length: 130 }, (_, n) => sent(`${id}-${n}`, n));
    for (const event of events) reporter.report(event);
    expect(reporter.pending).toBe(100);
    expect(await reported(registry, 'dropped')).toBe(30);

    connection.start();
    const got = await received(100);
    expect(got.events).toEqual(events.slice(30));
    await waitFor('every confirm', async () => (reporter.pending === 0 ? true : undefined));
    await reporter.close();
    await publisher.close();
    await connection.close();
  });

  test('at a steady rate a confirm does not send what trickled in meanwhile: each message waits its window', async () => {
    const connection = new BrokerConnection({ url: amqpUrl('relay-email-worker'), name: 'test-status-reporter-steady' }, testLogger);
    connection.start();
    const publisher = new ConfirmPublisher(connection, testLogger);
    const reporter = new BrokerStatusReporter(publisher, testLogger, { windowMs: 400 });
    try {
      expect(await publisher.waitReady(10_000)).toBe(true);
      const id = uniqueId('steady');
      // An event every millisecond or so for over a second: three or four windows. Events arrive during every
      // confirm's round trip, so sending at each confirm made a message per round trip (46-52 here before the fix).
      const events = Array.from({ length: 1000 }, (_, n) => sent(`${id}-${n}`, n));
      const started = Date.now();
      for (const event of events) {
        reporter.report(event);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      // A busy machine stretches the loop: allow a message per window it lasted, and one more at each end.
      const windows = Math.ceil((Date.now() - started) / 400);
      const got = await received(1000);
      expect(got.events).toEqual(events);
      expect(got.messages).toBeLessThanOrEqual(windows + 2);
    } finally {
      await reporter.close();
      await publisher.close();
      await connection.close();
    }
  });
});
