import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import * as amqp from 'amqplib';
import { connectFirstReachable } from '../../services/shared/messaging/broker-urls';
import { localBrokerUrl } from '../lib/local-broker';
import { ROOT } from './stack-http';

const run = promisify(execFile);

/** relay-admin on the private node (never the system broker on 5672); a comma-separated list for a cluster. */
const adminAmqpUrl = () => process.env.CHAOS_ADMIN_AMQP_URL || localBrokerUrl('relay-admin');
export const WORK_QUEUES = ['relay.sms', 'relay.email', 'relay.notif'];
export const RETRY_QUEUES = ['relay.retry.1s', 'relay.retry.5s', 'relay.retry.30s', 'relay.retry.2m'];
export const DEAD_QUEUES = ['relay.sms.dead', 'relay.email.dead', 'relay.notif.dead'];
export const ALL_QUEUES = [...WORK_QUEUES, ...RETRY_QUEUES, ...DEAD_QUEUES, 'relay.unroutable'];

/** `scripts/broker.sh <command>`; stop + resume (= restart) keeps the node's data. */
export async function brokerCtl(command: 'stop' | 'resume' | 'status'): Promise<void> {
  await run(path.join(ROOT, 'scripts/broker.sh'), [command], { timeout: 240_000 });
}

async function withAdmin<T>(use: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const connection = await connectFirstReachable(adminAmqpUrl());
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await use(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export async function purgeQueues(): Promise<void> {
  await withAdmin(async (channel) => {
    for (const queue of ALL_QUEUES) await channel.purgeQueue(queue);
  });
}

/** Ready messages per queue (passive declare: exact, but messages held unacked by a consumer are not counted). */
export async function queueDepths(queues: string[]): Promise<Record<string, number>> {
  return withAdmin(async (channel) => {
    const depths: Record<string, number> = {};
    for (const queue of queues) depths[queue] = (await channel.checkQueue(queue)).messageCount;
    return depths;
  });
}

export interface PeekedMessage {
  queue: string;
  /** The envelope ids it carries: one, or several for a group commit (a JSON array of envelopes). */
  ids: string[];
  headers: Record<string, unknown>;
}

/**
 * Reads every ready message of `queues` without taking it: basic.get without ack, then the channel is closed
 * unacked so the broker puts them all back (dead letters stay replayable with `make replay-dead`).
 */
export async function peekQueues(queues: string[]): Promise<PeekedMessage[]> {
  const seen: PeekedMessage[] = [];
  for (const queue of queues) {
    await withAdmin(async (channel) => {
      for (;;) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) break;
        const headers = message.properties.headers ?? {};
        seen.push({ queue, ids: envelopeIds(message.content, message.properties.messageId), headers });
      }
      await channel.close();
    });
  }
  return seen;
}

function envelopeIds(content: Buffer, messageId: unknown): string[] {
  try {
    const body = JSON.parse(content.toString('utf8')) as unknown;
    const items = Array.isArray(body) ? body : [body];
    const ids = items.map((item) => (item as { id?: unknown } | null)?.id).filter((id): id is string => typeof id === 'string');
    if (ids.length > 0) return ids;
  } catch {
    // poison: not JSON
  }
  return typeof messageId === 'string' ? [messageId] : [];
}
