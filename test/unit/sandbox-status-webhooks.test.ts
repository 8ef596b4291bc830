import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { generateWebhookSecret } from '../../services/app/auth/api-keys';
import { FaultInjector } from '../../services/sandbox/faults';
import { MessageStore } from '../../services/sandbox/message-store';
import { createSandboxApp } from '../../services/sandbox/sandbox-app';
import { SANDBOX_WEBHOOK_SECRET } from '../../services/shared/webhook/signature';
import { sendStatusWebhook } from '../../services/status-webhooks/send-status-webhook';

// The dispatcher's real sender against the sandbox's status-webhook sink over HTTP.
let server: http.Server;
let base: string;

beforeAll(async () => {
  const app = createSandboxApp({ store: new MessageStore(), faults: new FaultInjector(), twilioAccountSid: 'AC1', twilioAuthToken: 't', webhookSecrets: [SANDBOX_WEBHOOK_SECRET] });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const change = { changeId: 'm-1:failed:1', messageId: 'm-1', channel: 'sms' as const, keyName: 'dev', status: 'failed' as const, at: '2026-01-01T00:00:00.000Z', detail: 'twilio undelivered 30003' };

test('a status webhook signed with the sandbox secret is accepted and listed', async () => {
  expect(await sendStatusWebhook({ url: `${base}/webhooks/status`, secret: SANDBOX_WEBHOOK_SECRET }, change, 2000)).toEqual({ ok: true });
  const listed = (await (await fetch(`${base}/status-webhooks`)).json()) as { webhooks: Array<{ webhookId: string; body: { data: { status: string } } }> };
  expect(listed.webhooks).toEqual([expect.objectContaining({ webhookId: 'm-1:failed:1', body: expect.objectContaining({ data: expect.objectContaining({ status: 'failed' }) }) })]);
});

test('a status webhook signed with another secret is refused (401, a permanent failure for the sender)', async () => {
  const outcome = await sendStatusWebhook({ url: `${base}/webhooks/status`, secret: generateWebhookSecret() }, { ...change, changeId: 'm-1:failed:2' }, 2000);
  expect(outcome).toEqual({ ok: false, kind: 'permanent', reason: 'status webhook HTTP 401' });
  const listed = (await (await fetch(`${base}/status-webhooks`)).json()) as { webhooks: Array<{ webhookId: string }> };
  expect(listed.webhooks.map((webhook) => webhook.webhookId)).not.toContain('m-1:failed:2');
});
