import * as amqp from 'amqplib';
import { localBrokerUrl } from '../lib/local-broker';

/** Ports and credentials of the native stack (docs/architecture.md); every one overridable by env. */
export const APP_URL = process.env.BENCH_URL ?? 'http://127.0.0.1:8080';
export const SANDBOX_URL = process.env.SANDBOX_URL ?? 'http://127.0.0.1:8025';
const adminAmqpUrl = () => process.env.BENCH_ADMIN_AMQP_URL || localBrokerUrl('relay-admin');
export const BROKER_PID_FILE = process.env.BENCH_BROKER_PID_FILE ?? '/tmp/relay-rabbitmq-5673/node.pid';
export const WORKER_METRICS = [9101, 9102, 9103].map((port) => `http://127.0.0.1:${port}`);
export const WORK_QUEUES = ['relay.sms', 'relay.email', 'relay.notif'];
const ALL_QUEUES = [...WORK_QUEUES, 'relay.sms.dead', 'relay.email.dead', 'relay.notif.dead', 'relay.retry.1s', 'relay.retry.5s', 'relay.retry.30s', 'relay.retry.2m', 'relay.unroutable'];

export { httpStatus, sleep, waitReady } from '../lib/http-probe';

export interface SandboxMessage {
  id?: string;
  channel: 'sms' | 'email' | 'notif';
  receivedAt: string;
  content: Record<string, unknown>;
}


export async function sandboxMessages(): Promise<SandboxMessage[]> {
  const response = await fetch(`${SANDBOX_URL}/messages`);
  return ((await response.json()) as { messages: SandboxMessage[] }).messages;
}

export async function clearSandbox(): Promise<void> {
  await fetch(`${SANDBOX_URL}/messages`, { method: 'DELETE' });
  await fetch(`${SANDBOX_URL}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transientRate: 0, permanentRate: 0, delayMs: 0 }) });
}

/** Empties every relay.* queue (admin user), so a run starts from nothing left over by an earlier one. */
export async function purgeQueues(): Promise<void> {
  const connection = await amqp.connect(adminAmqpUrl());
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    for (const queue of ALL_QUEUES) await channel.purgeQueue(queue);
    await channel.close();
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Ready messages in the work queues (passive declare, exact, unlike the management API's sampled stats). */
export async function workQueueDepth(): Promise<number> {
  const connection = await amqp.connect(adminAmqpUrl());
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    let depth = 0;
    for (const queue of WORK_QUEUES) depth += (await channel.checkQueue(queue)).messageCount;
    await channel.close();
    return depth;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Sums `message_end_to_end_seconds` buckets over the workers' /metrics (all types). */
export async function workerEndToEndBuckets(): Promise<Map<number, number>> {
  const buckets = new Map<number, number>();
  for (const base of WORKER_METRICS) {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = /^message_end_to_end_seconds_bucket\{.*le="([^"]+)".*\} (\d+(?:\.\d+)?)/.exec(line);
      if (!match) continue;
      const bound = match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
      buckets.set(bound, (buckets.get(bound) ?? 0) + Number(match[2]));
    }
  }
  return buckets;
}

/** Sum of `messages_processed_total` (delivered, retried, dead-lettered) over the three workers. */
export async function workersProcessed(): Promise<number> {
  let total = 0;
  for (const base of WORKER_METRICS) {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = /^messages_processed_total\{[^}]*\} (\d+)/.exec(line);
      if (match) total += Number(match[1]);
    }
  }
  return total;
}
