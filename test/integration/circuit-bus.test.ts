import { CircuitBreaker } from '../../services/shared/failover/circuit-breaker';
import { CircuitBus } from '../../services/shared/failover/circuit-bus';
import type { BrokerConnection } from '../../services/shared/messaging/connection';
import type { MessageType } from '../../services/shared/messaging/topology';
import * as amqp from 'amqplib';
import { amqpUrl } from '../support/broker';
import { connectedBroker, testLogger } from '../support/messaging';
import { waitFor } from '../support/wait';

// Replicas sharing circuit states through relay.circuits on the real broker, each as its worker's own user.
const opened: Array<{ bus: CircuitBus; connection: BrokerConnection }> = [];

async function replica(type: MessageType, providers = ['twilio-primary', 'twilio-backup']) {
  const connection = await connectedBroker(`relay-${type}-worker`, `circuit-bus-test-${type}`);
  // Each replica's circuits run on a clock of its own that the test moves by hand.
  const clock = { now: 0 };
  const circuits = new Map(providers.map((name) => [name, new CircuitBreaker({ failureThreshold: 2, openMs: 60_000, now: () => clock.now })]));
  const bus = new CircuitBus(connection, type, circuits, testLogger);
  bus.start();
  opened.push({ bus, connection });
  // Joined once its sync request is out: the exclusive queue exists and is bound.
  await waitFor('the replica to join relay.circuits', async () => ((bus as unknown as { channel?: unknown }).channel ? true : undefined));
  return { circuits, bus, connection, clock };
}

async function adminConfirmChannel() {
  const connection = await amqp.connect(amqpUrl('relay-admin'));
  return { channel: await connection.createConfirmChannel(), close: () => connection.close().catch(() => undefined) };
}

const open = (circuit: CircuitBreaker | undefined) => {
  for (let index = 0; index < 2; index += 1) {
    circuit?.tryAcquire();
    circuit?.failed();
  }
};

afterEach(async () => {
  for (const { bus, connection } of opened.splice(0)) {
    await bus.close();
    await connection.close();
  }
});

test("a circuit opened by one replica opens on the others, with the time it has left, and a good probe closes it everywhere", async () => {
  const [first, second] = [await replica('sms'), await replica('sms')];
  open(first.circuits.get('twilio-primary'));
  const theirs = second.circuits.get('twilio-primary') as CircuitBreaker;
  await waitFor('the other replica to adopt the open circuit', async () => (theirs.state === 'open' ? true : undefined));
  expect(theirs.remainingMs).toBe(60_000);
  expect(second.circuits.get('twilio-backup')?.state).toBe('closed');

  second.clock.now += 60_000; // its wait is over here: the next call is this replica's probe
  expect(theirs.tryAcquire()).toBe(true);
  theirs.succeeded();
  await waitFor('the first replica to close it too', async () => (first.circuits.get('twilio-primary')?.state === 'closed' ? true : undefined));
});

test('a replica that joins late learns the open circuits at once; other worker types neither see nor set them', async () => {
  const early = await replica('sms');
  open(early.circuits.get('twilio-primary'));
  const email = await replica('email', ['twilio-primary']);
  const late = await replica('sms');
  await waitFor('the late replica to learn the open circuit', async () => (late.circuits.get('twilio-primary')?.state === 'open' ? true : undefined));
  expect(email.circuits.get('twilio-primary')?.state).toBe('closed');
});

test('malformed announcements are ignored', async () => {
  const listener = await replica('sms');
  const admin = await adminConfirmChannel();
  try {
    admin.channel.publish('relay.circuits', 'sms.state', Buffer.from('not json'));
    admin.channel.publish('relay.circuits', 'sms.state', Buffer.from(JSON.stringify({ kind: 'state', origin: 'x', provider: 'twilio-primary', state: 'exploded' })));
    admin.channel.publish('relay.circuits', 'sms.state', Buffer.from(JSON.stringify({ kind: 'state', origin: 'x', provider: 'twilio-primary', state: 'open', remainingMs: 30_000 })));
    await admin.channel.waitForConfirms();
  } finally {
    await admin.close();
  }
  // The valid one, sent last, arrives after the two bad ones, which changed nothing and broke nothing.
  await waitFor('the valid announcement', async () => (listener.circuits.get('twilio-primary')?.state === 'open' ? true : undefined));
  expect(listener.circuits.get('twilio-backup')?.state).toBe('closed');
});
