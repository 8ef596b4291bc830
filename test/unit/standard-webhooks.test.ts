import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { createWebhookProvider } from '../../services/notif-worker/webhook-provider';
import { FaultInjector } from '../../services/sandbox/faults';
import { MessageStore } from '../../services/sandbox/message-store';
import { createSandboxApp } from '../../services/sandbox/sandbox-app';
import { startHttpServer } from '../support/local-servers';

// Our webhooks checked by an implementation we did not write: the `standardwebhooks` package, as receivers use it.
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

interface Captured {
  headers: Record<string, string>;
  body: string;
}

/** Sends one notification through the notif-worker's real provider to a real HTTP server and returns what arrived. */
async function deliver(secretSetting: string, id: string): Promise<Captured> {
  const arrived: Captured[] = [];
  const server = await startHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      arrived.push({ headers: request.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(204).end();
    });
  });
  const provider = createWebhookProvider({ NOTIF_WEBHOOK_URL: `${server.url}/hook`, NOTIF_WEBHOOK_SECRET: secretSetting });
  try {
    const envelope = { id, type: 'notif' as const, acceptedAt: new Date().toISOString(), payload: { recipient: 'user-42', title: 'Hi', body: 'there', data: { orderId: 7, note: 'ünïcode ✓' } } };
    await provider.send(envelope, { requestId: undefined, attempt: 1 });
  } finally {
    await provider.close();
    await server.close();
  }
  expect(arrived).toHaveLength(1);
  return arrived[0]!;
}

describe('notification webhooks verify with the standardwebhooks package', () => {
  test('a webhook signed with one secret verifies, and carries the message id as webhook-id', async () => {
    const secret = newSecret();
    const { headers, body } = await deliver(secret, 'n-std-1');
    expect(headers['webhook-id']).toBe('n-std-1');
    expect(Number(headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -2);
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ id: 'n-std-1', recipient: 'user-42', data: { orderId: 7, note: 'ünïcode ✓' } });
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body.replace('there', 'elsewhere'), headers)).toThrow(WebhookVerificationError);
  });

  test('while NOTIF_WEBHOOK_SECRET holds two secrets, receivers holding either one verify, others do not', async () => {
    const [current, next] = [newSecret(), newSecret()];
    for (const setting of [`${next} ${current}`, `${current},${next}`]) {
      const { headers, body } = await deliver(setting, 'n-std-2');
      expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
      expect(new Webhook(current).verify(body, headers)).toMatchObject({ id: 'n-std-2' });
      expect(new Webhook(next).verify(body, headers)).toMatchObject({ id: 'n-std-2' });
      expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow('No matching signature found');
    }
  });

  test("the sandbox's receiver accepts what the standardwebhooks package signs, and refuses a wrong signature", async () => {
    const [current, next] = [newSecret(), newSecret()];
    const store = new MessageStore();
    const app = createSandboxApp({ store, faults: new FaultInjector(), twilioAccountSid: 'AC1', twilioAuthToken: 't', webhookSecrets: [next, current] });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/notifications`;
    try {
      const body = JSON.stringify({ id: 'n-std-3', recipient: 'user-7', title: 'T', body: 'B' });
      const timestamp = new Date();
      const post = (secret: string) =>
        fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': 'n-std-3',
            'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
            'webhook-signature': new Webhook(secret).sign('n-std-3', timestamp, body),
          },
          body,
        });
      expect((await post(current)).status).toBe(200);
      expect((await post(next)).status).toBe(200);
      const refused = await post(newSecret());
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ error: 'invalid_signature', reason: 'signature mismatch' });
      expect(store.list('notif').map((message) => message.to)).toEqual(['user-7', 'user-7']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
