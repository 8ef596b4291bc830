import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import { BATCH_CONTENT_TYPE, createEnvelope, encodeBatch, type EnvelopeOf } from '../../services/shared/envelope/envelope';
import type { BrokerConnection } from '../../services/shared/messaging/connection';
import { QueueConsumer } from '../../services/shared/messaging/consumer';
import { ConfirmPublisher } from '../../services/shared/messaging/publisher';
import { createRegistry } from '../../services/shared/metrics/registry';
import { createDeliveryHandler } from '../../services/shared/worker/delivery-handler';
import type { Provider } from '../../services/shared/worker/provider';
import { RecentIds } from '../../services/shared/worker/recent-ids';
import { createWorkerMetrics } from '../../services/shared/worker/worker-metrics';
import { BrokerStatusReporter } from '../../services/shared/status/broker-status-reporter';
import { STATUS_EXCHANGE, type StatusEvent } from '../../services/shared/status/status-event';
import { adminChannel, amqpUrl, drainQueue, management, purgeAllQueues, queueDepth } from '../support/broker';
import { connectedBroker, declareTestQueue, deleteQueue, testLogger } from '../support/messaging';
import { sleep, waitFor } from '../support/wait';

/** A provider of the test's own: counts sends per id and fails the first attempt of the ids in `flaky`. */
function countingProvider(flaky: Set<string>) {
  const sends = new Map<string, number>();
  const provider: Provider<'sms'> = {
    type: 'sms',
    async send(envelope) {
      sends.set(envelope.id, (sends.get(envelope.id) ?? 0) + 1);
      if (flaky.delete(envelope.id)) throw Object.assign(new Error('busy'), { status: 503 });
      return { provider: 'counting' };
    },
    classify: (error) => ({ kind: (error as { status?: number }).status === 503 ? 'transient' : 'permanent', reason: 'test' }),
    async close() {},
  };
  return { provider, sends };
}

/**
 * Overrides the 1s delay queue's policy: no TTL and a length of 0 with reject-publish. A quorum queue accepts
 * publishes until it is over its limit, so one filler message makes the broker nack every retry copy after it.
 */
const FULL_RETRY_POLICY = {
  pattern: '^relay\\.retry\\.1s$',
  'apply-to': 'queues',
  priority: 99,
  definition: { 'dead-letter-exchange': 'relay.messages', 'dead-letter-strategy': 'at-least-once', overflow: 'reject-publish', 'max-length': 0 },
};

/** Publishes to a queue through the default exchange as relay-admin; resolves with whether the broker confirmed it. */
async function publishDirect(queue: string): Promise<boolean> {
  const connection = await amqp.connect(amqpUrl('relay-admin'));
  try {
    const channel = await connection.createConfirmChannel();
    return await new Promise<boolean>((resolve) => channel.publish('', queue, Buffer.from('filler'), { persistent: true }, (error) => resolve(!error)));
  } finally {
    await connection.close();
  }
}

async function fillRetryQueue(): Promise<void> {
  expect((await management('PUT', '/api/policies/relay/test-retry-1s-full', FULL_RETRY_POLICY)).status).toBeLessThan(300);
  await waitFor('the override policy applied', async () =>
    (await management('GET', '/api/queues/relay/relay.retry.1s')).body?.effective_policy_definition?.['max-length'] === 0 ? true : undefined,
  );
  expect(await publishDirect('relay.retry.1s')).toBe(true);
  expect(await publishDirect('relay.retry.1s')).toBe(false); // full from now on
}

async function unblockRetryQueue(): Promise<void> {
  const admin = await adminChannel();
  await admin.channel.purgeQueue('relay.retry.1s');
  await admin.close();
  await management('DELETE', '/api/policies/relay/test-retry-1s-full');
}

async function publishBatch(envelopes: EnvelopeOf<'sms'>[]): Promise<void> {
  const connection = await amqp.connect(amqpUrl('relay-app'));
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish('relay.messages', 'sms', encodeBatch(envelopes), { persistent: true, contentType: BATCH_CONTENT_TYPE, messageId: `batch-${envelopes[0]?.id}` });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

describe('a group-commit delivery whose retry publish fails', () => {
  let connection: BrokerConnection;
  let consumer: QueueConsumer;
  let publisher: ConfirmPublisher;

  beforeAll(async () => {
    await purgeAllQueues();
  });
  afterAll(async () => {
    await unblockRetryQueue();
    await consumer?.stop(1000);
    await publisher?.close();
    await connection?.close();
  });

  test('is held, not requeued: delivered items are not sent again, and the failed item is retried later through the delay queue', async () => {
    const envelopes = ['a', 'b', 'c'].map((tag) => createEnvelope('sms', { to: '+14155550100', body: `${tag} ${randomUUID()}` }));
    const [a, b, c] = envelopes as [EnvelopeOf<'sms'>, EnvelopeOf<'sms'>, EnvelopeOf<'sms'>];
    const { provider, sends } = countingProvider(new Set([b.id]));
    await fillRetryQueue();

    connection = await connectedBroker('relay-sms-worker', `test-delivery-${a.id}`);
    publisher = new ConfirmPublisher(connection, testLogger, { confirmTimeoutMs: 2000 });
    const handler = createDeliveryHandler({
      provider,
      publisher,
      metrics: createWorkerMetrics(createRegistry()),
      logger: testLogger,
      retryDelays: ['1s'],
      concurrency: 10,
      minRepublishDelayMs: 100,
    });
    consumer = new QueueConsumer(connection, testLogger, { queue: 'relay.sms', prefetch: 10, handler });
    await publishBatch(envelopes);

    await waitFor('every item tried once', async () => (envelopes.every((e) => sends.get(e.id) === 1) ? true : undefined));
    // The retry copy of b is nacked again and again; meanwhile a and c must not be handed to the provider again.
    await sleep(2500);
    expect([sends.get(a.id), sends.get(b.id), sends.get(c.id)]).toEqual([1, 1, 1]);
    expect(await queueDepth('relay.sms')).toBe(0); // held unacked by the worker, not requeued

    await unblockRetryQueue();
    await waitFor('b delivered on its second attempt, after the delay', async () => (sends.get(b.id) === 2 ? true : undefined), 20_000);
    await waitFor('the work and delay queues empty', async () =>
      (await queueDepth('relay.sms')) === 0 && (await queueDepth('relay.retry.1s')) === 0 ? true : undefined,
    );
    await sleep(500);
    expect([sends.get(a.id), sends.get(b.id), sends.get(c.id)]).toEqual([1, 2, 1]);
  }, 60_000);
});

describe('a worker that delivered a message recently', () => {
  let connection: BrokerConnection;
  let consumer: QueueConsumer;
  let publisher: ConfirmPublisher;
  afterAll(async () => {
    await consumer?.stop(1000);
    await publisher?.close();
    await connection?.close();
  });

  test('acks a copy of it (same id, alone or in a group commit) without calling the provider again', async () => {
    await purgeAllQueues();
    const envelope = createEnvelope('sms', { to: '+14155550100', body: `dup ${randomUUID()}` });
    const other = createEnvelope('sms', { to: '+14155550100', body: `other ${randomUUID()}` });
    const { provider, sends } = countingProvider(new Set());
    const metrics = createWorkerMetrics(createRegistry());
    connection = await connectedBroker('relay-sms-worker', `test-recent-${envelope.id}`);
    publisher = new ConfirmPublisher(connection, testLogger);
    const handler = createDeliveryHandler({ provider, publisher, metrics, logger: testLogger, retryDelays: ['1s'], concurrency: 10, recent: new RecentIds(100) });
    consumer = new QueueConsumer(connection, testLogger, { queue: 'relay.sms', prefetch: 10, handler });

    await publishBatch([envelope]);
    await waitFor('the first copy delivered', async () => (sends.get(envelope.id) === 1 ? true : undefined));
    await publishBatch([envelope]);
    await publishBatch([other, envelope]);
    await waitFor('the other message delivered', async () => (sends.get(other.id) === 1 ? true : undefined));
    await waitFor('relay.sms empty (every copy acked)', async () => ((await queueDepth('relay.sms')) === 0 ? true : undefined));
    expect(sends.get(envelope.id)).toBe(1);
    expect((await metrics.duplicatesSkipped.get()).values[0]?.value).toBe(2);
  }, 30_000);
});

describe('the status a worker reports', () => {
  let connection: BrokerConnection;
  let consumer: QueueConsumer;
  let publisher: ConfirmPublisher;
  let statusPublisher: ConfirmPublisher;
  let reporter: BrokerStatusReporter;
  let statusQueue: string;
  afterAll(async () => {
    await consumer?.stop(1000);
    await reporter?.close();
    await statusPublisher?.close();
    await publisher?.close();
    await connection?.close();
    if (statusQueue) await deleteQueue(statusQueue);
    await purgeAllQueues();
  });

  test('is sent with the receipt, retrying with the reason, then sent on the next attempt, and failed when dead-lettered', async () => {
    await purgeAllQueues();
    statusQueue = await declareTestQueue('worker-status');
    const admin = await adminChannel();
    await admin.channel.bindQueue(statusQueue, STATUS_EXCHANGE, 'sms.*');
    await admin.channel.bindQueue(statusQueue, STATUS_EXCHANGE, 'batch');
    await admin.close();
    const [ok, flaky, refused] = ['ok', 'flaky', 'refused'].map((tag) => createEnvelope('sms', { to: '+14155550100', body: `${tag} ${randomUUID()}` })) as [EnvelopeOf<'sms'>, EnvelopeOf<'sms'>, EnvelopeOf<'sms'>];
    const attempts = new Map<string, number>();
    const provider: Provider<'sms'> = {
      type: 'sms',
      async send(envelope, context) {
        attempts.set(envelope.id, context.attempt);
        if (envelope.id === refused.id) throw Object.assign(new Error('invalid number'), { status: 400 });
        if (envelope.id === flaky.id && context.attempt === 1) throw Object.assign(new Error('busy'), { status: 503 });
        return { provider: 'counting', providerMessageId: `SM-${envelope.id}` };
      },
      classify: (error) => ({ kind: (error as { status?: number }).status === 503 ? 'transient' : 'permanent', reason: `status ${(error as { status?: number }).status}` }),
      async close() {},
    };
    connection = await connectedBroker('relay-sms-worker', `test-status-${ok.id}`);
    publisher = new ConfirmPublisher(connection, testLogger);
    statusPublisher = new ConfirmPublisher(connection, testLogger);
    reporter = new BrokerStatusReporter(statusPublisher, testLogger, { windowMs: 1 });
    const handler = createDeliveryHandler({ provider, publisher, metrics: createWorkerMetrics(createRegistry()), logger: testLogger, retryDelays: ['1s'], concurrency: 10, status: reporter });
    consumer = new QueueConsumer(connection, testLogger, { queue: 'relay.sms', prefetch: 10, handler });
    await publishBatch([ok, flaky, refused]);

    const events: StatusEvent[] = [];
    await waitFor('four status events', async () => {
      for (const message of await drainQueue(statusQueue)) events.push(...([] as StatusEvent[]).concat(JSON.parse(message.content.toString())));
      return events.length >= 4 ? true : undefined;
    }, 20_000);
    const summary = events.map((e) => `${e.eventId} ${e.status} ${e.attempt ?? '-'} ${e.provider ?? '-'} ${e.providerMessageId ?? '-'} ${e.detail ?? '-'}`).sort();
    expect(summary).toEqual([
      `${flaky.id}:retrying:1 retrying 1 - - status 503; next attempt in 1s`,
      `${flaky.id}:sent:2 sent 2 counting SM-${flaky.id} -`,
      `${ok.id}:sent:1 sent 1 counting SM-${ok.id} -`,
      `${refused.id}:failed failed 1 - - permanent: status 400`,
    ].sort());
    expect(events.every((e) => e.channel === 'sms' && !Number.isNaN(Date.parse(e.at)))).toBe(true);
  }, 30_000);
});
