/**
 * `make replay-dead QUEUE=sms`: moves the dead letters of one channel back to its work queue to be processed
 * again, with the attempt count reset. Each message is republished and confirmed before its dead letter is
 * acked, so an interruption at any point loses nothing (at worst one message is replayed twice).
 * Only the messages present at the start are moved: one that fails again and comes back is not looped over.
 */
import { parseArgs } from 'node:util';
import * as amqp from 'amqplib';
import { brokerAccess, type BrokerAccess } from '../services/shared/config/broker-access';
import { connectFirstReachable } from '../services/shared/messaging/broker-urls';
import { localBrokerUrl } from './lib/local-broker';
import { HEADERS, MESSAGE_TYPES, MESSAGES_EXCHANGE, deadLetterQueue, type MessageType } from '../services/shared/messaging/topology';

const REPLAY_DROPS = new Set<string>([HEADERS.attempt, HEADERS.lastError, HEADERS.deadReason, HEADERS.retryDelay]);

export interface ReplayResult {
  queue: string;
  replayed: number;
}

export async function replayDeadLetters(type: MessageType, broker: BrokerAccess, limit = Number.POSITIVE_INFINITY): Promise<ReplayResult> {
  const queue = deadLetterQueue(type);
  const connection = await connectFirstReachable(broker.url, { socketOptions: broker.socketOptions });
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    const { messageCount } = await channel.checkQueue(queue);
    const target = Math.min(messageCount, limit);
    let replayed = 0;
    while (replayed < target) {
      const message = await channel.get(queue, { noAck: false });
      if (message === false) break;
      const headers = Object.fromEntries(Object.entries(message.properties.headers ?? {}).filter(([key]) => !REPLAY_DROPS.has(key) && !key.startsWith('x-death') && !key.startsWith('x-first-death') && !key.startsWith('x-last-death')));
      channel.publish(MESSAGES_EXCHANGE, message.fields.routingKey || type, message.content, {
        persistent: true,
        messageId: message.properties.messageId,
        timestamp: message.properties.timestamp,
        contentType: message.properties.contentType,
        headers: { ...headers, 'x-replayed-from': queue },
      });
      await channel.waitForConfirms();
      channel.ack(message);
      replayed += 1;
    }
    await channel.close();
    return { queue, replayed };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { queue: { type: 'string' }, limit: { type: 'string' } } });
  const name = (values.queue ?? '').replace(/^relay\./, '').replace(/\.dead$/, '');
  if (!MESSAGE_TYPES.includes(name as MessageType)) {
    console.error(`usage: make replay-dead QUEUE=<${MESSAGE_TYPES.join('|')}> (got "${values.queue ?? ''}")`);
    process.exit(2);
  }
  // AMQP_URL (with AMQP_PASSWORD_FILE and the AMQP_TLS_* files, read as the services read them), or relay-ops on
  // the private native node with its generated password.
  const broker = brokerAccess({ ...process.env, AMQP_URL: process.env.AMQP_URL || localBrokerUrl('relay-ops') });
  const limit = values.limit ? Number(values.limit) : Number.POSITIVE_INFINITY;
  const result = await replayDeadLetters(name as MessageType, broker, limit);
  console.log(`replayed ${result.replayed} message(s) from ${result.queue} to ${MESSAGES_EXCHANGE}`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`replay failed: ${error.message}`);
    process.exit(1);
  });
}
