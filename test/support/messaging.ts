import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import { createLogger } from '../../services/shared/logger/logger';
import { BrokerConnection } from '../../services/shared/messaging/connection';
import { adminChannel, amqpUrl } from './broker';

/** A quiet logger for core classes driven by tests (LOG_LEVEL=debug shows their lines). */
export const testLogger = createLogger('test', process.env.LOG_LEVEL ?? 'silent');

/** A started BrokerConnection as `user`, connected; `query` adds URL parameters (e.g. channelMax). */
export async function connectedBroker(user: string, name: string, query = ''): Promise<BrokerConnection> {
  const connection = new BrokerConnection({ url: `${amqpUrl(user)}${query}`, name, minReconnectDelayMs: 50, maxReconnectDelayMs: 500 }, testLogger);
  connection.start();
  await connection.waitConnected(10_000);
  return connection;
}

/** A quorum queue of the test's own (declared as relay-admin), so tests cannot see each other's messages. */
export async function declareTestQueue(prefix: string, name = `test.${prefix}.${randomUUID().slice(0, 8)}`): Promise<string> {
  const admin = await adminChannel();
  try {
    await admin.channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  } finally {
    await admin.close();
  }
  return name;
}

export async function deleteQueue(name: string): Promise<void> {
  const admin = await adminChannel();
  try {
    await admin.channel.deleteQueue(name);
  } finally {
    await admin.close();
  }
}

/** Publishes `bodies` to `queue` through the default exchange as relay-admin, confirmed. */
export async function publishToQueue(queue: string, bodies: Array<string | Buffer>, options: Record<string, unknown> = {}): Promise<void> {
  const connection = await amqp.connect(amqpUrl('relay-admin'));
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    for (const body of bodies) channel.publish('', queue, Buffer.isBuffer(body) ? body : Buffer.from(body), { persistent: true, ...options });
    await channel.waitForConfirms();
  } finally {
    await connection.close().catch(() => undefined);
  }
}
