import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as amqp from 'amqplib';
import { brokerPassword, localBrokerUrl } from '../../tools/lib/local-broker';

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, '../..');

/** The private test broker scripts/broker.sh starts (never the system node on 5672). */
export const BROKER = {
  amqpPort: Number(process.env.RELAY_AMQP_PORT ?? 5673),
  promPort: Number(process.env.RELAY_PROM_PORT ?? 15693),
  mgmtPort: Number(process.env.RELAY_MGMT_PORT ?? 15673),
};

/** Calls the management HTTP API as relay-admin (e.g. `GET /api/queues/relay/relay.sms`); returns status and JSON. */
export async function management(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://127.0.0.1:${BROKER.mgmtPort}${apiPath}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from(`relay-admin:${brokerPassword('relay-admin')}`).toString('base64')}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * Re-imports rabbitmq/definitions.json through the management API (re-creates deleted queues and bindings). The
 * users are left out: the committed file gives them no usable password, and importing it would lock them out.
 */
export async function importDefinitions(): Promise<void> {
  const { users: _users, ...topology } = JSON.parse(await readFile(path.join(ROOT, 'rabbitmq/definitions.json'), 'utf8'));
  const { status } = await management('POST', '/api/definitions', topology);
  if (status >= 300) throw new Error(`definitions import answered ${status}`);
}

/** A user's URL on the private broker, with the password scripts/broker.sh generated for this checkout. */
export function amqpUrl(user: string): string {
  return localBrokerUrl(user, [`127.0.0.1:${BROKER.amqpPort}`]);
}

/** Runs `scripts/broker.sh <command>` (stop, resume, restart, status). */
export async function brokerCtl(command: 'stop' | 'resume' | 'restart' | 'status'): Promise<void> {
  await run(path.join(ROOT, 'scripts/broker.sh'), [command], { timeout: 180_000 });
}

/** Opens a connection as relay-admin for inspecting queues; the caller closes it. */
export async function adminChannel(): Promise<{ channel: amqp.Channel; close: () => Promise<void> }> {
  const connection = await amqp.connect(amqpUrl('relay-admin'));
  connection.on('error', () => undefined);
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  return { channel, close: () => connection.close().catch(() => undefined) };
}

export const ALL_QUEUES = [
  'relay.sms', 'relay.email', 'relay.notif',
  'relay.sms.dead', 'relay.email.dead', 'relay.notif.dead',
  'relay.retry.1s', 'relay.retry.5s', 'relay.retry.30s', 'relay.retry.2m', 'relay.unroutable',
  'relay.status', 'relay.status.webhooks', 'relay.status.webhooks.dead',
  'relay.status.webhooks.retry.1s', 'relay.status.webhooks.retry.10s', 'relay.status.webhooks.retry.1m', 'relay.status.webhooks.retry.10m', 'relay.status.webhooks.retry.1h',
];

/** Empties every queue so a test starts from a known state (tests run one file at a time). */
export async function purgeAllQueues(): Promise<void> {
  const admin = await adminChannel();
  try {
    for (const queue of ALL_QUEUES) await admin.channel.purgeQueue(queue);
  } finally {
    await admin.close();
  }
}

/** Takes every message currently in `queue` (basic.get + ack) and returns them. */
export async function drainQueue(queue: string): Promise<amqp.GetMessage[]> {
  const admin = await adminChannel();
  const messages: amqp.GetMessage[] = [];
  try {
    for (;;) {
      const message = await admin.channel.get(queue, { noAck: false });
      if (message === false) break;
      messages.push(message);
      admin.channel.ack(message);
    }
  } finally {
    await admin.close();
  }
  return messages;
}

/** Ready-message count of a queue, from a passive declare (exact, unlike the management stats). */
export async function queueDepth(queue: string): Promise<number> {
  const admin = await adminChannel();
  try {
    return (await admin.channel.checkQueue(queue)).messageCount;
  } finally {
    await admin.close();
  }
}
