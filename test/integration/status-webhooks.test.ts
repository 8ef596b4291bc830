import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';
import { Webhook } from 'standardwebhooks';
import { addKey } from '../../services/app/auth/api-keys';
import { STATUS_CHANGES_EXCHANGE, type StatusChange } from '../../services/shared/status/status-event';
import { STATUS_WEBHOOK_DEAD_QUEUE } from '../../services/status-webhooks/topology';
import { amqpUrl, drainQueue, purgeAllQueues } from '../support/broker';
import { startHttpServer } from '../support/local-servers';
import { startService, stopAll } from '../support/processes';
import { waitReady } from '../support/stack';
import { waitFor } from '../support/wait';

// The dispatcher as its own process against the real broker, delivering to a real HTTP receiver that verifies
// every request with the `standardwebhooks` package (an implementation we did not write).
const METRICS_PORT = 18210;

interface Arrival {
  webhookId: string;
  verified: boolean;
  body: any;
}
const arrivals: Arrival[] = [];
/** Answers by the message id in the change: `flaky-*` 503 twice then 204, `down-*` always 503, `reject-*` 400. */
const answer = (messageId: string, attempt: number): number => {
  if (messageId.startsWith('flaky-')) return attempt <= 2 ? 503 : 204;
  if (messageId.startsWith('down-')) return 503;
  if (messageId.startsWith('reject-')) return 400;
  return 204;
};

let receiver: Awaited<ReturnType<typeof startHttpServer>>;
let secret: string;
let keysDir: string;
let publisher: { channel: amqp.ConfirmChannel; close: () => Promise<void> };

beforeAll(async () => {
  await purgeAllQueues();
  receiver = await startHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let verified = true;
      try {
        new Webhook(secret).verify(raw, request.headers as Record<string, string>);
      } catch {
        verified = false;
      }
      const body = JSON.parse(raw) as { data: { id: string } };
      const webhookId = String(request.headers['webhook-id']);
      arrivals.push({ webhookId, verified, body });
      response.writeHead(verified ? answer(body.data.id, arrivals.filter((a) => a.webhookId === webhookId).length) : 401).end();
    });
  });
  keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-status-keys-'));
  const keysFile = path.join(keysDir, 'api-keys.json');
  const hooked = addKey(keysFile, { name: 'hooked', channels: ['sms'], statusWebhookUrl: `${receiver.url}/status` });
  secret = hooked.record.statusWebhook!.secret;
  addKey(keysFile, { name: 'plain', channels: ['sms'] });
  startService('status-webhooks', {
    AMQP_URL: amqpUrl('relay-status-webhooks'), API_KEYS_FILE: keysFile, METRICS_PORT: String(METRICS_PORT),
    STATUS_WEBHOOK_RETRY_DELAYS: '1s,1s', STATUS_WEBHOOK_TIMEOUT_MS: '2000',
  });
  await waitReady([`http://127.0.0.1:${METRICS_PORT}/readyz`]);
  const connection = await amqp.connect(amqpUrl('relay-admin'));
  const channel = await connection.createConfirmChannel();
  publisher = { channel, close: () => connection.close() };
}, 60_000);

afterAll(async () => {
  await publisher?.close();
  await stopAll();
  await receiver?.close();
  fs.rmSync(keysDir, { recursive: true, force: true });
});

/** Publishes a change as the status service does, to the changes exchange (routing key `<channel>.<status>`). */
async function publishChange(messageId: string, keyName = 'hooked', content?: Buffer): Promise<StatusChange> {
  const change: StatusChange = {
    changeId: `${messageId}:delivered:${randomUUID()}`, messageId, channel: 'sms', keyName, status: 'delivered', previousStatus: 'sent',
    at: new Date().toISOString(), detail: 'twilio delivered', provider: 'twilio',
  };
  publisher.channel.publish(STATUS_CHANGES_EXCHANGE, 'sms.delivered', content ?? Buffer.from(JSON.stringify(change)), { persistent: true, contentType: 'application/json' });
  await publisher.channel.waitForConfirms();
  return change;
}

const arrivalsOf = (change: StatusChange) => arrivals.filter((arrival) => arrival.webhookId === change.changeId);
const deadLetters: amqp.GetMessage[] = [];
async function deadLetterOf(changeId: string): Promise<amqp.GetMessage> {
  return waitFor(`dead letter of ${changeId}`, async () => {
    deadLetters.push(...(await drainQueue(STATUS_WEBHOOK_DEAD_QUEUE)));
    return deadLetters.find((message) => message.content.toString().includes(changeId));
  }, 15_000, 100);
}

describe('client status webhooks', () => {
  test('a change is POSTed once, signed so that the standardwebhooks package verifies it, with the change id as webhook-id', async () => {
    const change = await publishChange(`ok-${randomUUID()}`);
    const [arrival] = await waitFor('the webhook', async () => (arrivalsOf(change).length > 0 ? arrivalsOf(change) : undefined));
    expect(arrival).toEqual({
      webhookId: change.changeId,
      verified: true,
      body: {
        type: 'message.status',
        timestamp: change.at,
        data: { id: change.messageId, channel: 'sms', status: 'delivered', previousStatus: 'sent', at: change.at, detail: 'twilio delivered', provider: 'twilio' },
      },
    });
  });

  test('a receiver failing transiently gets the same webhook later, through the delay queues', async () => {
    const change = await publishChange(`flaky-${randomUUID()}`);
    const attempts = await waitFor('the third attempt', async () => (arrivalsOf(change).length >= 3 ? arrivalsOf(change) : undefined), 15_000);
    expect(attempts.every((attempt) => attempt.verified && attempt.webhookId === change.changeId)).toBe(true);
    // Answered 204 the third time: no fourth attempt, no dead letter.
    const control = await publishChange(`ok-${randomUUID()}`);
    await waitFor('a later webhook', async () => (arrivalsOf(control).length > 0 ? true : undefined));
    expect(arrivalsOf(change)).toHaveLength(3);
  }, 30_000);

  test('a permanent refusal (400) is dead-lettered after one attempt', async () => {
    const change = await publishChange(`reject-${randomUUID()}`);
    const dead = await deadLetterOf(change.changeId);
    expect(dead.properties.headers).toMatchObject({ 'x-dead-reason': 'permanent', 'x-last-error': 'status webhook HTTP 400' });
    expect(arrivalsOf(change)).toHaveLength(1);
  }, 30_000);

  test('a receiver that never recovers gets every attempt, then the change is dead-lettered', async () => {
    const change = await publishChange(`down-${randomUUID()}`);
    const dead = await deadLetterOf(change.changeId);
    expect(dead.properties.headers).toMatchObject({ 'x-dead-reason': 'attempts_exhausted', 'x-attempt': 2, 'x-last-error': 'status webhook HTTP 503' });
    expect(arrivalsOf(change)).toHaveLength(3);
  }, 30_000);

  test('a key without a status webhook gets nothing, and the change is not kept', async () => {
    const quiet = await publishChange(`ok-${randomUUID()}`, 'plain');
    const unknown = await publishChange(`ok-${randomUUID()}`, 'no-such-key');
    const control = await publishChange(`ok-${randomUUID()}`);
    await waitFor('the control webhook', async () => (arrivalsOf(control).length > 0 ? true : undefined));
    expect(arrivals.filter((arrival) => arrival.body.data.id === quiet.messageId || arrival.body.data.id === unknown.messageId)).toEqual([]);
    expect(await drainQueue('relay.status.webhooks')).toHaveLength(0);
  });

  test('a message that is not a status change is dead-lettered as poison', async () => {
    const marker = `poison-${randomUUID()}`;
    await publishChange(marker, 'hooked', Buffer.from(JSON.stringify({ changeId: marker, nonsense: true })));
    const dead = await deadLetterOf(marker);
    expect(dead.properties.headers).toMatchObject({ 'x-dead-reason': 'poison' });
  });

  test('a webhook given to a key later is used without a restart (the key file is reloaded on change)', async () => {
    addKey(path.join(keysDir, 'api-keys.json'), { name: 'plain', channels: ['sms'], statusWebhookUrl: `${receiver.url}/status` });
    const reissued = JSON.parse(fs.readFileSync(path.join(keysDir, 'api-keys.json'), 'utf8')).keys.find((key: { name: string }) => key.name === 'plain');
    const previous = secret;
    secret = reissued.statusWebhook.secret;
    try {
      // Changes published until the reload is seen are acked with no webhook; keep publishing until one arrives.
      const arrived = await waitFor('a webhook for the re-issued key', async () => {
        const change = await publishChange(`ok-${randomUUID()}`, 'plain');
        await new Promise((resolve) => setTimeout(resolve, 200));
        return arrivalsOf(change)[0];
      }, 10_000, 0);
      expect(arrived.verified).toBe(true);
    } finally {
      secret = previous;
    }
  });

  test('outcomes are counted on /metrics', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
    for (const outcome of ['delivered', 'retried', 'dead', 'no_webhook']) expect(metrics).toMatch(new RegExp(`status_webhooks_total\\{outcome="${outcome}"\\} [1-9]`));
  });
});
