import { randomUUID } from 'node:crypto';
import twilio from 'twilio';
import { amqpUrl, adminChannel, importDefinitions, management, purgeAllQueues } from '../support/broker';
import { testApiKey, securityEnv } from '../support/api-keys';
import { startService, stopAll } from '../support/processes';
import { waitReady } from '../support/stack';
import { waitFor } from '../support/wait';
import { STATUS_EXCHANGE, statusEventSchema, type StatusEvent } from '../../services/shared/status/status-event';

// The real path of a provider status callback: the app accepts an SMS, the sms worker sends it with the twilio SDK
// (StatusCallback = the app's route with our id), the sandbox signs and POSTs Twilio's callbacks to the app, which
// verifies them with the SDK's validator and publishes status events to the real broker. Ports from this file's
// own block, so it does not need the native stack's ports.
const SANDBOX_PORT = 18201;
const APP_PORT = 18203;
const SANDBOX = `http://127.0.0.1:${SANDBOX_PORT}`;
const APP = `http://127.0.0.1:${APP_PORT}`;
const CALLBACK_URL = `${APP}/v1/callbacks/twilio`;
const AUTH_TOKEN = 'sandbox-token';

let eventQueue: string;
const received: StatusEvent[] = [];
let consumer: Awaited<ReturnType<typeof adminChannel>> | undefined;

beforeAll(async () => {
  await purgeAllQueues();
  startService('sandbox', { SANDBOX_HTTP_PORT: String(SANDBOX_PORT), SANDBOX_SMTP_PORT: '18202', SANDBOX_HOST: '127.0.0.1', TWILIO_AUTH_TOKEN: AUTH_TOKEN, SANDBOX_CALLBACK_RETRY_MS: '300,600,1200,2400,4800' });
  startService('app', {
    ...securityEnv(), PORT: String(APP_PORT), OPS_PORT: '18204', HOST: '127.0.0.1', OPS_HOST: '127.0.0.1',
    AMQP_URL: amqpUrl('relay-app'), PUBLIC_BASE_URL: APP, TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  });
  startService('sms-worker', {
    METRICS_PORT: '18205', AMQP_URL: amqpUrl('relay-sms-worker'), TWILIO_API_URL: SANDBOX, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_STATUS_CALLBACK_URL: CALLBACK_URL,
  });
  await waitReady([`${SANDBOX}/healthz`, `${APP}/readyz`, 'http://127.0.0.1:18205/readyz']);
  // A queue of this test's own on the status exchange: what the status service would consume.
  const admin = await adminChannel();
  consumer = admin;
  eventQueue = `test.status-events.${randomUUID().slice(0, 8)}`;
  await admin.channel.assertQueue(eventQueue, { exclusive: true });
  await admin.channel.bindQueue(eventQueue, STATUS_EXCHANGE, '#');
  await admin.channel.consume(eventQueue, (message) => {
    if (message) received.push(statusEventSchema.parse(JSON.parse(message.content.toString())));
  }, { noAck: true });
}, 60_000);

afterAll(async () => {
  await consumer?.close();
  await stopAll();
});

async function sendSms(to: string): Promise<string> {
  const response = await fetch(`${APP}/v1/sms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${testApiKey()}` },
    body: JSON.stringify({ to, body: 'status please' }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

// Only the events the callbacks caused: the app (queued) and the worker (sent) report on the same exchange.
const eventsFor = (id: string) => received.filter((event) => event.messageId === id && event.eventId.startsWith(`${id}:twilio:`));

async function sandboxSid(id: string): Promise<string> {
  return waitFor(`message ${id} at the sandbox`, async () => {
    const { messages } = (await (await fetch(`${SANDBOX}/messages?channel=sms`)).json()) as { messages: Array<{ id?: string; content: { sid: string } }> };
    return messages.find((message) => message.id === id)?.content.sid;
  });
}

/** POSTs a callback to the app as Twilio would, signed over `signedUrl` (default: the URL posted to). */
async function postCallback(url: string, form: Record<string, string>, signature: string | undefined): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature === undefined ? {} : { 'x-twilio-signature': signature }) },
    body: new URLSearchParams(form).toString(),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('Twilio status callbacks through the sandbox, the app route and the broker', () => {
  test('a delivered SMS reports sent then delivered, with the SID Twilio gave it', async () => {
    const id = await sendSms('+14155550123');
    const sid = await sandboxSid(id);
    const events = await waitFor('sent and delivered events', async () => (eventsFor(id).length >= 2 ? eventsFor(id) : undefined));
    expect(events.map((event) => event.status)).toEqual(['sent', 'delivered']);
    for (const event of events) expect(event).toMatchObject({ channel: 'sms', provider: 'twilio', providerMessageId: sid, eventId: `${id}:twilio:${event.status}` });
  });

  test('an undelivered SMS (magic +15005550007) reports failed with Twilio\'s error code', async () => {
    const id = await sendSms('+15005550007');
    const events = await waitFor('sent and failed events', async () => (eventsFor(id).length >= 2 ? eventsFor(id) : undefined));
    expect(events.map((event) => event.status)).toEqual(['sent', 'failed']);
    expect(events[1]?.detail).toBe('twilio undelivered 30003');
  });

  test('callbacks that overtake each other (magic +15005550008) are both published, delivered first', async () => {
    const id = await sendSms('+15005550008');
    const events = await waitFor('both events', async () => (eventsFor(id).length >= 2 ? eventsFor(id) : undefined));
    expect(events.map((event) => event.status)).toEqual(['delivered', 'sent']);
  });

  describe('forged callbacks are refused with 403 and publish nothing', () => {
    const form = { AccountSid: 'ACsandbox0000000000000000000000000', MessageSid: `SM${'a'.repeat(32)}`, MessageStatus: 'delivered', To: '+14155550123', From: '+15005550006' };

    test.each([
      ['no signature', undefined, `${CALLBACK_URL}?relay_id=forged-1`],
      ['a signature made with another auth token', twilio.getExpectedTwilioSignature('not-the-token', `${CALLBACK_URL}?relay_id=forged-2`, form), `${CALLBACK_URL}?relay_id=forged-2`],
      ['a valid signature for another message id', twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${CALLBACK_URL}?relay_id=real-id`, form), `${CALLBACK_URL}?relay_id=forged-3`],
      ['a garbage signature', '!!!', `${CALLBACK_URL}?relay_id=forged-4`],
    ])('%s', async (_name, signature, url) => {
      expect(await postCallback(url, form, signature)).toBe(403);
      // A correctly signed callback sent afterwards arrives, so had the forged one been published it would be there first.
      const control = `control-${randomUUID()}`;
      const controlUrl = `${CALLBACK_URL}?relay_id=${control}`;
      expect(await postCallback(controlUrl, form, twilio.getExpectedTwilioSignature(AUTH_TOKEN, controlUrl, form))).toBe(204);
      await waitFor('the control event', async () => (eventsFor(control).length === 1 ? true : undefined));
      expect(received.filter((event) => event.messageId.startsWith('forged-'))).toEqual([]);
    });

    test('refusals are counted on the ops listener', async () => {
      const metrics = await (await fetch('http://127.0.0.1:18204/metrics')).text();
      const forbidden = /twilio_callbacks_total\{[^}]*outcome="forbidden"[^}]*\} (\d+)/.exec(metrics);
      expect(Number(forbidden?.[1])).toBeGreaterThanOrEqual(4);
    });

    test('a tampered field breaks the signature', async () => {
      const url = `${CALLBACK_URL}?relay_id=forged-5`;
      const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, { ...form, MessageStatus: 'sent' });
      expect(await postCallback(url, form, signature)).toBe(403);
    });
  });

  test('a signed callback for a step we do not track is acknowledged and publishes nothing', async () => {
    const id = `ignored-${randomUUID()}`;
    const url = `${CALLBACK_URL}?relay_id=${id}`;
    const form = { MessageSid: `SM${'b'.repeat(32)}`, MessageStatus: 'queued' };
    expect(await postCallback(url, form, twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, form))).toBe(204);
    const control = `control-${randomUUID()}`;
    const controlUrl = `${CALLBACK_URL}?relay_id=${control}`;
    const sent = { ...form, MessageStatus: 'sent' };
    expect(await postCallback(controlUrl, sent, twilio.getExpectedTwilioSignature(AUTH_TOKEN, controlUrl, sent))).toBe(204);
    await waitFor('the control event', async () => (eventsFor(control).length === 1 ? true : undefined));
    expect(eventsFor(id)).toEqual([]);
  });

  test('a signed callback without our id, or with fields that are not Twilio\'s, is a 400', async () => {
    const bare = { MessageSid: `SM${'c'.repeat(32)}`, MessageStatus: 'delivered' };
    expect(await postCallback(CALLBACK_URL, bare, twilio.getExpectedTwilioSignature(AUTH_TOKEN, CALLBACK_URL, bare))).toBe(400);
    const url = `${CALLBACK_URL}?relay_id=x-1`;
    const odd = { MessageSid: '../../etc/passwd', MessageStatus: 'delivered' };
    expect(await postCallback(url, odd, twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, odd))).toBe(400);
  });

  test('a body that is not a form is a 415, an oversized one a 413, and the app keeps serving', async () => {
    const json = await fetch(`${CALLBACK_URL}?relay_id=x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    const huge = await fetch(`${CALLBACK_URL}?relay_id=x`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `Body=${'x'.repeat(64 * 1024)}` });
    expect(huge.status).toBe(413);
    expect((await fetch(`${APP}/readyz`)).status).toBe(200);
  });

  test('while the broker cannot take the event the app answers 503, the sandbox retries, and the event arrives once it can', async () => {
    // Without the status exchange the broker refuses the publish (404 closes the channel): no confirm, so no 204.
    expect((await management('DELETE', '/api/exchanges/relay/relay.status')).status).toBe(204);
    let sid: string | undefined;
    let id = '';
    try {
      id = await sendSms('+14155550124');
      sid = await sandboxSid(id);
      await waitFor('a refused callback at the sandbox', async () => {
        const { callbacks } = (await (await fetch(`${SANDBOX}/status-callbacks`)).json()) as { callbacks: Array<{ sid: string; attempts: number; lastAnswer?: string }> };
        return callbacks.find((callback) => callback.sid === sid && callback.attempts >= 2 && callback.lastAnswer === 'HTTP 503');
      });
      expect(eventsFor(id)).toEqual([]);
    } finally {
      await importDefinitions();
      await consumer?.channel.bindQueue(eventQueue, STATUS_EXCHANGE, '#');
    }
    await waitFor('both events once the exchange is back', async () => {
      const events = eventsFor(id);
      return events.length >= 2 ? events : undefined;
    }, 20_000);
    expect(eventsFor(id).map((event) => [event.status, event.providerMessageId])).toEqual([['sent', sid], ['delivered', sid]]);
    const after = (await (await fetch(`${SANDBOX}/status-callbacks`)).json()) as { callbacks: Array<{ sid: string; outcome: string; attempts: number }> };
    expect(after.callbacks.filter((callback) => callback.sid === sid).map((callback) => callback.outcome)).toEqual(['acknowledged', 'acknowledged']);
    expect(after.callbacks.find((callback) => callback.sid === sid)?.attempts).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
