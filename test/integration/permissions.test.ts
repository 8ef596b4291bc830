import * as amqp from 'amqplib';
import { BROKER, amqpUrl, drainQueue, purgeAllQueues } from '../support/broker';
import { waitFor } from '../support/wait';

/** Opens a channel as `user`; errors are surfaced through the returned promise, never as unhandled events. */
async function connectAs(user: string) {
  const connection = await amqp.connect(amqpUrl(user));
  connection.on('error', () => undefined);
  return connection;
}

async function expectRefused(user: string, action: (channel: amqp.Channel) => Promise<unknown>): Promise<string> {
  const connection = await connectAs(user);
  try {
    const channel = await connection.createChannel();
    const closed = new Promise<string>((resolve) => channel.on('error', (error: Error) => resolve(error.message)));
    await action(channel).catch(() => undefined);
    return await Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('not refused'), 3000).unref())]);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function publishConfirmed(user: string, exchange: string, key: string, headers: Record<string, unknown> = {}): Promise<void> {
  const connection = await connectAs(user);
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(exchange, key, Buffer.from('{}'), { persistent: true, headers });
    await channel.waitForConfirms();
  } finally {
    await connection.close().catch(() => undefined);
  }
}

beforeAll(async () => {
  await purgeAllQueues();
});

describe('each service user may do only its own job', () => {
  test('the guest user does not exist', async () => {
    await expect(amqp.connect(`amqp://guest:guest@127.0.0.1:${BROKER.amqpPort}/relay`)).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  test('the app may publish to relay.messages', async () => {
    await publishConfirmed('relay-app', 'relay.messages', 'sms');
    expect(await drainQueue('relay.sms')).toHaveLength(1);
  });

  test('the app may not consume a work queue', async () => {
    expect(await expectRefused('relay-app', (channel) => channel.consume('relay.sms', () => undefined))).toMatch(/403 \(ACCESS-REFUSED\)/);
  });

  test('the app may not declare topology', async () => {
    expect(await expectRefused('relay-app', (channel) => channel.assertQueue('rogue', { durable: true }))).toMatch(/403 \(ACCESS-REFUSED\)/);
  });

  test('the app may not publish to the retry or dead-letter exchanges', async () => {
    expect(await expectRefused('relay-app', async (channel) => channel.publish('relay.dead', 'sms', Buffer.from('{}')))).toMatch(/403/);
  });

  test('the app may publish status events to relay.status, and not status changes', async () => {
    await publishConfirmed('relay-app', 'relay.status', 'sms.delivered');
    expect(await drainQueue('relay.status')).toHaveLength(1);
    expect(await expectRefused('relay-app', async (channel) => channel.publish('relay.status.changes', 'sms.delivered', Buffer.from('{}')))).toMatch(/403/);
  });

  test('the status-webhook dispatcher may only read its queue and publish to its own retry exchange', async () => {
    await publishConfirmed('relay-status-webhooks', 'relay.status.webhooks.retry', 'dead');
    expect(await drainQueue('relay.status.webhooks.dead')).toHaveLength(1);
    expect(await expectRefused('relay-status-webhooks', async (channel) => channel.publish('relay.messages', 'sms', Buffer.from('{}')))).toMatch(/403/);
    expect(await expectRefused('relay-status-webhooks', async (channel) => channel.publish('relay.retry', 'sms', Buffer.from('{}')))).toMatch(/403/);
    expect(await expectRefused('relay-status-webhooks', (channel) => channel.consume('relay.status', () => undefined))).toMatch(/403 \(ACCESS-REFUSED\)/);
  });

  test('a worker may not publish new messages to relay.messages', async () => {
    expect(await expectRefused('relay-sms-worker', async (channel) => channel.publish('relay.messages', 'sms', Buffer.from('{}')))).toMatch(/403/);
  });

  test("a worker may not consume another worker's queue", async () => {
    expect(await expectRefused('relay-sms-worker', (channel) => channel.consume('relay.email', () => undefined))).toMatch(/403/);
  });

  test('a worker may publish to the retry and dead-letter exchanges', async () => {
    await publishConfirmed('relay-sms-worker', 'relay.dead', 'sms');
    expect(await drainQueue('relay.sms.dead')).toHaveLength(1);
  });

  test('a worker may share circuit states: its own server-named queue on relay.circuits, bound and published with its own type only', async () => {
    const connection = await connectAs('relay-sms-worker');
    try {
      const channel = await connection.createConfirmChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      expect(queue).toMatch(/^amq\.gen-/);
      await channel.bindQueue(queue, 'relay.circuits', 'sms.*');
      channel.publish('relay.circuits', 'sms.state', Buffer.from('{}'));
      await channel.waitForConfirms();
      await waitFor('the announcement in its own queue', async () => (await channel.get(queue, { noAck: true })) || undefined);
    } finally {
      await connection.close().catch(() => undefined);
    }
    // A named queue is still topology it may not declare; another type's circuits are not its to read or set.
    expect(await expectRefused('relay-sms-worker', (channel) => channel.assertQueue('rogue', { exclusive: true }))).toMatch(/403/);
    expect(
      await expectRefused('relay-sms-worker', async (channel) => {
        const { queue } = await channel.assertQueue('', { exclusive: true });
        await channel.bindQueue(queue, 'relay.circuits', 'email.*');
      }),
    ).toMatch(/403/);
    expect(await expectRefused('relay-sms-worker', async (channel) => channel.publish('relay.circuits', 'email.state', Buffer.from('{}')))).toMatch(/403/);
  });

  test('the ops user may read dead letters but not work queues', async () => {
    expect(await expectRefused('relay-ops', (channel) => channel.consume('relay.sms', () => undefined))).toMatch(/403/);
  });

  test('a message nobody is bound for lands in relay.unroutable instead of vanishing', async () => {
    await publishConfirmed('relay-app', 'relay.messages', 'fax');
    expect(await drainQueue('relay.unroutable')).toHaveLength(1);
  });

  test('the app and the workers may publish status events; none of them may read them', async () => {
    await publishConfirmed('relay-app', 'relay.status', 'sms.queued');
    await publishConfirmed('relay-notif-worker', 'relay.status', 'notif.delivered');
    expect(await drainQueue('relay.status')).toHaveLength(2);
    expect(await expectRefused('relay-app', (channel) => channel.consume('relay.status', () => undefined))).toMatch(/403/);
    expect(await expectRefused('relay-sms-worker', async (channel) => channel.publish('relay.status.changes', 'sms.sent', Buffer.from('{}')))).toMatch(/403/);
  });

  test('the status service may read status events and publish changes, and nothing else', async () => {
    await publishConfirmed('relay-status', 'relay.status.changes', 'sms.sent');
    expect(await drainQueue('relay.status.webhooks')).toHaveLength(1);
    expect(await expectRefused('relay-status', async (channel) => channel.publish('relay.messages', 'sms', Buffer.from('{}')))).toMatch(/403/);
    expect(await expectRefused('relay-status', async (channel) => channel.publish('relay.status', 'sms.sent', Buffer.from('{}')))).toMatch(/403/);
    expect(await expectRefused('relay-status', (channel) => channel.consume('relay.sms', () => undefined))).toMatch(/403/);
  });
});
