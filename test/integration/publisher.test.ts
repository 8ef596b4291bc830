import type * as amqp from 'amqplib';
import type { BrokerConnection } from '../../services/shared/messaging/connection';
import { BrokerUnavailableError } from '../../services/shared/messaging/errors';
import { ConfirmPublisher } from '../../services/shared/messaging/publisher';
import { queueDepth } from '../support/broker';
import { connectedBroker, declareTestQueue, deleteQueue, testLogger } from '../support/messaging';
import { sleep, waitFor } from '../support/wait';

describe('ConfirmPublisher against the real broker', () => {
  let connection: BrokerConnection;
  let publisher: ConfirmPublisher;
  afterEach(async () => {
    await publisher?.close();
    await connection?.close();
  });

  test('a channel that cannot be opened is retried with backoff: the publisher becomes ready once a channel is free', async () => {
    const queue = await declareTestQueue('publisher-reopen');
    // channelMax=2: the test takes both channels, so the publisher's first attempts fail ("No channels left").
    connection = await connectedBroker('relay-admin', `test-publisher-${queue}`, '?channelMax=2');
    const model = connection.current as amqp.ChannelModel;
    const blockers = [await model.createChannel(), await model.createChannel()];
    publisher = new ConfirmPublisher(connection, testLogger, { minReopenDelayMs: 50 });
    await sleep(500);
    expect(publisher.ready).toBe(false);
    await expect(publisher.publish('', queue, Buffer.from('early'), { persistent: true })).rejects.toBeInstanceOf(BrokerUnavailableError);

    await blockers[0]?.close();
    await waitFor('the publisher channel open', async () => (publisher.ready ? true : undefined), 10_000, 20);
    await publisher.publish('', queue, Buffer.from('late'), { persistent: true });
    expect(await queueDepth(queue)).toBe(1);
    await deleteQueue(queue);
  }, 30_000);

  test('a channel the broker closes (publish to a missing exchange) is reopened and publishing resumes', async () => {
    const queue = await declareTestQueue('publisher-404');
    connection = await connectedBroker('relay-admin', `test-publisher-${queue}`);
    publisher = new ConfirmPublisher(connection, testLogger, { minReopenDelayMs: 50 });
    expect(await publisher.waitReady(5000)).toBe(true);
    await expect(publisher.publish('no-such-exchange', 'x', Buffer.from('lost'), {})).rejects.toMatchObject({ reason: 'channel_closed' });
    await waitFor('the publisher channel reopened', async () => (publisher.ready ? true : undefined), 10_000, 20);
    await publisher.publish('', queue, Buffer.from('after'), { persistent: true });
    expect(await queueDepth(queue)).toBe(1);
    await deleteQueue(queue);
  }, 30_000);
});
