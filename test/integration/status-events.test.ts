import { randomUUID } from 'node:crypto';
import type { BrokerConnection } from '../../services/shared/messaging/connection';
import { ConfirmPublisher } from '../../services/shared/messaging/publisher';
import { publishStatusEvents } from '../../services/shared/status/publish-status-events';
import { STATUS_EVENT_CONTENT_TYPE, STATUS_EXCHANGE, type StatusEvent } from '../../services/shared/status/status-event';
import { adminChannel, drainQueue } from '../support/broker';
import { connectedBroker, testLogger } from '../support/messaging';

// Status events published as the app does (user relay-app), read back from a queue of the test's own bound to the
// status exchange.
let connection: BrokerConnection;
let publisher: ConfirmPublisher;
let queue: string;

beforeAll(async () => {
  connection = await connectedBroker('relay-app', 'status-events-test');
  publisher = new ConfirmPublisher(connection, testLogger);
  await publisher.waitReady(10_000);
  queue = `test.status-events.${randomUUID().slice(0, 8)}`;
  const admin = await adminChannel();
  await admin.channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await admin.channel.bindQueue(queue, STATUS_EXCHANGE, 'sms.*');
  await admin.close();
});

afterAll(async () => {
  const admin = await adminChannel();
  await admin.channel.deleteQueue(queue);
  await admin.close();
  await publisher.close();
  await connection.close();
});

const event = (status: StatusEvent['status'], channel: StatusEvent['channel'] = 'sms'): StatusEvent => ({
  eventId: `m-${randomUUID()}:twilio:${status}`, messageId: 'm-1', channel, status, at: new Date().toISOString(), provider: 'twilio',
});

test('publishStatusEvents resolves once every event is confirmed; each is one persistent message routed by channel.status', async () => {
  const events = [event('sent'), event('delivered'), event('delivered', 'email')];
  await publishStatusEvents(publisher, events);
  const arrived = await drainQueue(queue);
  // The binding takes sms.* only: the e-mail event was routed by its own key, elsewhere.
  expect(arrived.map((message) => message.fields.routingKey)).toEqual(['sms.sent', 'sms.delivered']);
  expect(arrived.map((message) => JSON.parse(message.content.toString()))).toEqual(events.slice(0, 2));
  expect(arrived[0]?.properties).toMatchObject({ deliveryMode: 2, contentType: STATUS_EVENT_CONTENT_TYPE, messageId: events[0]?.eventId });
});

test('an event outside the contract is refused before it reaches the broker', async () => {
  await expect(publishStatusEvents(publisher, [{ ...event('sent'), status: 'lost' as never }])).rejects.toThrow();
  expect(await drainQueue(queue)).toEqual([]);
});
