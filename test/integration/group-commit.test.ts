import { GroupCommitPublisher } from '../../services/app/group-commit';
import { BATCH_CONTENT_TYPE, createEnvelope, decodeDelivery } from '../../services/shared/envelope/envelope';
import type { BrokerConnection } from '../../services/shared/messaging/connection';
import { ConfirmPublisher } from '../../services/shared/messaging/publisher';
import { drainQueue, purgeAllQueues } from '../support/broker';
import { connectedBroker, testLogger } from '../support/messaging';

describe('GroupCommitPublisher against the real broker', () => {
  let connection: BrokerConnection;
  let publisher: ConfirmPublisher;

  beforeAll(async () => {
    await purgeAllQueues();
    connection = await connectedBroker('relay-app', 'test-group-commit');
    publisher = new ConfirmPublisher(connection, testLogger);
    expect(await publisher.waitReady(5000)).toBe(true);
  });
  afterAll(async () => {
    await publisher.close();
    await connection.close();
  });

  test('requests of one turn share one confirmed AMQP message, and every one resolves only after it', async () => {
    const sizes: number[] = [];
    const group = new GroupCommitPublisher(publisher, { onBatch: (size) => sizes.push(size) });
    const envelopes = Array.from({ length: 30 }, (_, i) => createEnvelope('sms', { to: '+14155550100', body: `turn ${i}` }));
    await Promise.all(envelopes.map((envelope) => group.publish(envelope)));
    expect(sizes).toEqual([30]);
    expect(group.pending).toBe(0);
    const messages = await drainQueue('relay.sms');
    expect(messages).toHaveLength(1);
    expect(messages[0]?.properties.contentType).toBe(BATCH_CONTENT_TYPE);
    const items = decodeDelivery(messages[0]!.content, BATCH_CONTENT_TYPE);
    expect(items.map((item) => (item.ok ? item.envelope.id : 'poison'))).toEqual(envelopes.map((e) => e.id));
  });

  test('a batch never grows past maxBatchBytes: it is published early and the rest go in the next message', async () => {
    const group = new GroupCommitPublisher(publisher, { maxBatchBytes: 4096 });
    const envelopes = Array.from({ length: 20 }, (_, i) => createEnvelope('sms', { to: '+14155550100', body: `${i} ${'x'.repeat(900)}` }));
    await Promise.all(envelopes.map((envelope) => group.publish(envelope)));
    const messages = await drainQueue('relay.sms');
    expect(messages.length).toBeGreaterThanOrEqual(5); // about 1 kB each: at most 4 per message
    for (const message of messages) expect(message.content.length).toBeLessThanOrEqual(4096);
    const ids = messages.flatMap((message) => decodeDelivery(message.content, message.properties.contentType).map((item) => (item.ok ? item.envelope.id : 'poison')));
    expect(ids).toEqual(envelopes.map((e) => e.id));
  });

  test('past maxPendingBytes of unconfirmed envelopes, a new one is refused at once with buffer_full', async () => {
    const group = new GroupCommitPublisher(publisher, { maxPendingBytes: 3000 });
    const big = () => createEnvelope('sms', { to: '+14155550100', body: 'y'.repeat(1200) });
    const results = await Promise.allSettled([big(), big(), big()].map((envelope) => group.publish(envelope)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ reason: 'buffer_full' });
    expect(group.pendingBytes).toBe(0);
    expect(await drainQueue('relay.sms')).toHaveLength(1);
  });
});
