import type * as amqp from 'amqplib';
import { QueueConsumer, type HandlerOutcome } from '../../services/shared/messaging/consumer';
import type { BrokerConnection } from '../../services/shared/messaging/connection';
import { management } from '../support/broker';
import { connectedBroker, declareTestQueue, deleteQueue, publishToQueue, testLogger } from '../support/messaging';
import { waitFor } from '../support/wait';

/**
 * Channels the broker lists for the client connection named `name` (management API; its channel list follows the
 * statistics interval, ~5 s, so callers poll).
 */
async function brokerChannels(name: string): Promise<number | undefined> {
  const connections = (await management('GET', '/api/connections?columns=name,client_properties')).body as Array<{ name: string; client_properties?: { connection_name?: string } }>;
  const connection = connections.find((c) => c.client_properties?.connection_name === name);
  if (!connection) return undefined;
  const { body } = await management('GET', '/api/channels?columns=name,connection_details');
  return (body as Array<{ connection_details?: { name?: string } }>).filter((c) => c.connection_details?.name === connection.name).length;
}

describe('QueueConsumer against the real broker', () => {
  let connection: BrokerConnection;
  let consumer: QueueConsumer | undefined;
  afterEach(async () => {
    await consumer?.stop(1000);
    await connection?.close();
  });

  test('when the broker cancels the consumer (queue deleted) it reports not consuming, then consumes again once the queue is re-created, on one channel', async () => {
    const queue = await declareTestQueue('consumer-cancel');
    const name = `test-consumer-${queue}`;
    connection = await connectedBroker('relay-admin', name);
    const seen: string[] = [];
    const handler = async (message: amqp.ConsumeMessage): Promise<HandlerOutcome> => {
      seen.push(message.content.toString());
      return 'ack';
    };
    consumer = new QueueConsumer(connection, testLogger, { queue, prefetch: 5, handler, minRetryDelayMs: 100, maxRetryDelayMs: 400 });
    await waitFor('the consumer to subscribe', async () => (consumer?.consuming ? true : undefined));
    await publishToQueue(queue, ['before']);
    await waitFor('the first message', async () => (seen.includes('before') ? true : undefined));

    await deleteQueue(queue);
    await waitFor('the consumer to notice the basic.cancel', async () => (consumer?.consuming === false ? true : undefined), 5000, 20);
    // Several re-subscribe attempts fail (404 on the passive declare) while the queue is missing.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(consumer.consuming).toBe(false);

    await declareTestQueue('consumer-cancel', queue);
    await waitFor('the consumer to subscribe again', async () => (consumer?.consuming ? true : undefined), 10_000);
    await publishToQueue(queue, ['after']);
    await waitFor('the message published after the re-creation', async () => (seen.includes('after') ? true : undefined));
    await waitFor('exactly one channel on the connection', async () => ((await brokerChannels(name)) === 1 ? true : undefined), 15_000, 500);
    await deleteQueue(queue);
  }, 30_000);

  test('a consumer started while its queue is missing keeps trying and consumes once the queue exists', async () => {
    const queue = `test.consumer-late.${Date.now()}`;
    connection = await connectedBroker('relay-admin', `test-consumer-${queue}`);
    const seen: string[] = [];
    consumer = new QueueConsumer(connection, testLogger, {
      queue,
      prefetch: 1,
      handler: async (message) => {
        seen.push(message.content.toString());
        return 'ack';
      },
      minRetryDelayMs: 100,
      maxRetryDelayMs: 400,
    });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(consumer.consuming).toBe(false);
    await declareTestQueue('consumer-late', queue);
    await publishToQueue(queue, ['late']);
    await waitFor('the message', async () => (seen.includes('late') ? true : undefined), 10_000);
    expect(consumer.consuming).toBe(true);
    await deleteQueue(queue);
  }, 30_000);

  test('a handler outcome of requeue puts the delivery back and it is handled again', async () => {
    const queue = await declareTestQueue('consumer-requeue');
    connection = await connectedBroker('relay-admin', `test-consumer-${queue}`);
    let calls = 0;
    consumer = new QueueConsumer(connection, testLogger, {
      queue,
      prefetch: 1,
      handler: async () => {
        calls += 1;
        return calls === 1 ? 'requeue' : 'ack';
      },
    });
    await publishToQueue(queue, ['x']);
    await waitFor('the second delivery', async () => (calls >= 2 ? true : undefined));
    await consumer.stop(1000);
    consumer = undefined;
    const { body } = await management('GET', `/api/queues/relay/${encodeURIComponent(queue)}`);
    expect(body.messages ?? 0).toBe(0);
    await deleteQueue(queue);
  }, 30_000);
});
