import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { createSmtpProvider } from '../../services/email-worker/smtp-provider';
import { createWebhookProvider } from '../../services/notif-worker/webhook-provider';
import { FaultInjector } from '../../services/sandbox/faults';
import { MessageStore } from '../../services/sandbox/message-store';
import { createSandboxApp } from '../../services/sandbox/sandbox-app';
import { createSmtpSink } from '../../services/sandbox/smtp-sink';
import type { EnvelopeOf } from '../../services/shared/envelope/envelope';

// The sandbox's e-mail and webhook personalities, reached by the workers' real providers (nodemailer with an SMTP
// login, signed webhooks on two paths); the SMS ones are covered by failover-provider.test.ts.
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const store = new MessageStore();
const faults = new FaultInjector();
let http: Server;
let smtp: SMTPServer;
let base: string;
let smtpPort: number;

beforeAll(async () => {
  http = createSandboxApp({ store, faults, twilioAccountSid: 'AC1', twilioAuthToken: 't', webhookSecrets: [SECRET] }).listen(0, '127.0.0.1');
  smtp = createSmtpSink(store, faults);
  await Promise.all([new Promise((resolve) => http.once('listening', resolve)), new Promise((resolve) => smtp.listen(0, '127.0.0.1', () => resolve(undefined)))]);
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  smtpPort = (smtp.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => http.close(resolve));
  await new Promise((resolve) => smtp.close(() => resolve(undefined)));
});

const context = { requestId: undefined, attempt: 1 };
const mail = (id: string): EnvelopeOf<'email'> => ({ id, type: 'email', acceptedAt: new Date().toISOString(), payload: { to: 'ada@example.com', subject: id, text: 'hi' } }) as EnvelopeOf<'email'>;
const note = (id: string): EnvelopeOf<'notif'> => ({ id, type: 'notif', acceptedAt: new Date().toISOString(), payload: { recipient: 'user-1', title: id, body: 'hi' } }) as EnvelopeOf<'notif'>;
const personalityOf = (id: string) => store.list().find((message) => message.id === id)?.personality;

test('one SMTP server, two logins: a session without AUTH is the primary; a login picks its personality, and a down one answers 421', async () => {
  const primary = createSmtpProvider({ SMTP_URL: `smtp://127.0.0.1:${smtpPort}` });
  const backup = createSmtpProvider({ SMTP_URL: `smtp://smtp-backup:sandbox@127.0.0.1:${smtpPort}` });
  const stranger = createSmtpProvider({ SMTP_URL: `smtp://someone:sandbox@127.0.0.1:${smtpPort}` });
  try {
    await primary.send(mail('mail-primary'), context);
    await backup.send(mail('mail-backup'), context);
    expect([personalityOf('mail-primary'), personalityOf('mail-backup')]).toEqual(['smtp-primary', 'smtp-backup']);

    faults.setPersonality('smtp-backup', 'down');
    const refused = await backup.send(mail('mail-backup-down'), context).catch((error: unknown) => error);
    expect(backup.classify(refused)).toMatchObject({ kind: 'transient', reason: expect.stringContaining('421') });
    await primary.send(mail('mail-primary-still'), context);
    expect(personalityOf('mail-primary-still')).toBe('smtp-primary');
    expect(stranger.classify(await stranger.send(mail('mail-stranger'), context).catch((error: unknown) => error))).toMatchObject({ kind: 'credentials' });
  } finally {
    faults.setPersonality('smtp-backup', 'up');
    await Promise.all([primary.close(), backup.close(), stranger.close()]);
  }
});

test('two webhook paths, each a personality; a down one answers 503 before reading the request', async () => {
  const primary = createWebhookProvider({ NOTIF_WEBHOOK_URL: `${base}/webhooks/notifications`, NOTIF_WEBHOOK_SECRET: SECRET });
  const backup = createWebhookProvider({ NOTIF_WEBHOOK_URL: `${base}/webhooks/notifications-backup`, NOTIF_WEBHOOK_SECRET: SECRET });
  await primary.send(note('note-primary'), context);
  await backup.send(note('note-backup'), context);
  expect([personalityOf('note-primary'), personalityOf('note-backup')]).toEqual(['webhook-primary', 'webhook-backup']);
  faults.setPersonality('webhook-primary', 'down');
  try {
    expect(primary.classify(await primary.send(note('note-down'), context).catch((error: unknown) => error))).toMatchObject({ kind: 'transient' });
    expect(personalityOf('note-down')).toBeUndefined();
  } finally {
    faults.setPersonality('webhook-primary', 'up');
  }
});

test('the switch routes refuse unknown personalities and bad bodies with a clear 4xx', async () => {
  const post = (name: string, body: unknown) => fetch(`${base}/faults/providers/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect((await post('twilio-tertiary', { state: 'down' })).status).toBe(404);
  expect((await post('twilio-primary', { state: 'sideways' })).status).toBe(400);
  expect((await post('twilio-primary', { state: 'down', extra: 1 })).status).toBe(400);
  expect(await (await post('twilio-backup', { state: 'down' })).json()).toMatchObject({ 'twilio-primary': 'up', 'twilio-backup': 'down' });
  expect(await (await fetch(`${base}/faults/providers`)).json()).toMatchObject({ 'twilio-backup': 'down' });
  await post('twilio-backup', { state: 'up' });
});
