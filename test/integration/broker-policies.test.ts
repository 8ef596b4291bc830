import * as amqp from 'amqplib';
import { adminChannel, amqpUrl, drainQueue, management, purgeAllQueues } from '../support/broker';
import { waitFor } from '../support/wait';

/**
 * The policy definition the broker applies to `queue` (management API, read from the queue record). The record's
 * policy fields come with the node's statistics, emitted every 5 s: right after a broker (re)start they are absent
 * for a few seconds, so this waits until the queue reports a policy at all.
 */
async function effectivePolicy(queue: string): Promise<Record<string, unknown>> {
  return waitFor(`${queue}'s policy in the management API`, async () => {
    const { body } = await management('GET', `/api/queues/relay/${encodeURIComponent(queue)}`);
    return body?.policy ? (body.effective_policy_definition as Record<string, unknown>) : undefined;
  }, 20_000);
}

beforeAll(async () => {
  await purgeAllQueues();
});

describe('rabbitmq/definitions.json policies, as the broker applies them', () => {
  test.each(['relay.sms', 'relay.email', 'relay.notif'])('%s dead-letters at-least-once (which needs overflow reject-publish) behind a delivery limit', async (queue) => {
    expect(await effectivePolicy(queue)).toEqual({
      'dead-letter-exchange': 'relay.dead',
      'dead-letter-strategy': 'at-least-once',
      overflow: 'reject-publish',
      'delivery-limit': 20,
    });
  });

  test.each([
    ['relay.retry.1s', 1000],
    ['relay.retry.5s', 5000],
    ['relay.retry.30s', 30_000],
    ['relay.retry.2m', 120_000],
  ])('%s is bounded (max-length, max-length-bytes, reject-publish) and expires back to relay.messages after %i ms', async (queue, ttl) => {
    expect(await effectivePolicy(queue)).toEqual({
      'message-ttl': ttl,
      'dead-letter-exchange': 'relay.messages',
      'dead-letter-strategy': 'at-least-once',
      overflow: 'reject-publish',
      'max-length': 100_000,
      'max-length-bytes': 268_435_456,
    });
  });

  test('a message requeued past the delivery limit is dead-lettered to relay.sms.dead, not dropped', async () => {
    const connection = await amqp.connect(amqpUrl('relay-app'));
    const channel = await connection.createConfirmChannel();
    channel.publish('relay.messages', 'sms', Buffer.from('{"crashes":"its worker"}'), { persistent: true, messageId: 'limit-test' });
    await channel.waitForConfirms();
    await connection.close();

    const admin = await adminChannel();
    try {
      // RabbitMQ 3.10 counts every return to the queue (nack with requeue) toward the delivery limit.
      for (let returned = 0; returned <= 20; returned += 1) {
        const message = await waitFor('the message back in relay.sms', async () => (await admin.channel.get('relay.sms')) || undefined, 5000, 20);
        admin.channel.nack(message, false, true);
      }
    } finally {
      await admin.close();
    }
    const dead = await waitFor('the dead letter', async () => {
      const messages = await drainQueue('relay.sms.dead');
      return messages.length > 0 ? messages : undefined;
    }, 10_000);
    expect(dead.map((m) => m.properties.messageId)).toEqual(['limit-test']);
    expect(dead[0]?.properties.headers?.['x-death']).toBeDefined();
  }, 30_000);
});
