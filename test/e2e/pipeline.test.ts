import { adminChannel, drainQueue, purgeAllQueues } from '../support/broker';
import { startPm2, stopAll, type RunningProcess } from '../support/processes';
import { APP, APP_OPS, authHeader, clearSandbox, postJson, READY_URLS, sandboxMessages, waitDelivered, waitReady } from '../support/stack';
import { waitFor } from '../support/wait';

// The whole native stack under pm2-runtime, as `make dev` runs it, with two API instances and short retry delays.
let stack: RunningProcess;

beforeAll(async () => {
  await purgeAllQueues();
  stack = startPm2(['sandbox', 'app', 'sms-worker', 'email-worker', 'notif-worker'], { API_INSTANCES: '2', RETRY_DELAYS: '1s,1s' });
  await waitReady(Object.values(READY_URLS));
}, 90_000);

afterAll(async () => {
  await stopAll();
});

beforeEach(async () => {
  await clearSandbox();
});

describe('accepted messages reach their provider', () => {
  test('an SMS is answered 202 with an id and arrives at the Twilio sandbox through the twilio SDK', async () => {
    const response = await postJson('/v1/sms', { to: '+14155550100', body: 'hello from the pipeline' });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id: expect.any(String), status: 'queued' });
    const arrived = await waitDelivered(response.body.id, 'sms', 2000);
    expect(arrived).toMatchObject({ to: '+14155550100', content: { body: 'hello from the pipeline', sid: expect.stringMatching(/^SM[0-9a-f]{32}$/) } });
  });

  test('an e-mail arrives at the SMTP sandbox through nodemailer', async () => {
    const response = await postJson('/v1/email', { to: 'ada@example.com', subject: 'Welcome', text: 'plain', html: '<p>rich</p>' });
    expect(response.status).toBe(202);
    const arrived = await waitDelivered(response.body.id, 'email', 2000);
    expect(arrived).toMatchObject({ to: 'ada@example.com', content: { subject: 'Welcome', html: '<p>rich</p>' } });
  });

  test('a notification arrives at the webhook receiver, which verified its signature', async () => {
    const response = await postJson('/v1/notifications', { recipient: 'user-42', title: 'Hi', body: 'there', data: { orderId: 7 } });
    expect(response.status).toBe(202);
    const arrived = await waitDelivered(response.body.id, 'notif', 2000);
    expect(arrived).toMatchObject({ to: 'user-42', content: { title: 'Hi', body: 'there', data: { orderId: 7 } } });
  });

  test('the request id given by the caller is echoed and travels with the message', async () => {
    const response = await postJson('/v1/sms', { to: '+14155550101', body: 'traced' }, { 'x-request-id': 'trace-abc-123' });
    expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
    await waitDelivered(response.body.id, 'sms', 2000);
  });

  test('a burst of concurrent requests is accepted and every message is delivered exactly by id', async () => {
    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, i) => postJson('/v1/notifications', { recipient: `user-${i}`, title: 'burst', body: String(i) })),
    );
    expect(responses.every((response) => response.status === 202)).toBe(true);
    const ids = new Set(responses.map((response) => response.body.id as string));
    expect(ids.size).toBe(300);
    await waitFor('all 300 notifications at the sandbox', async () => {
      const seen = new Set((await sandboxMessages('notif')).map((m) => m.id));
      return [...ids].every((id) => seen.has(id)) ? true : undefined;
    });
  });
});

describe('bad input gets a documented 4xx and never reaches the broker', () => {
  const cases: Array<[string, string, unknown, number, string]> = [
    ['a missing field', '/v1/sms', { to: '+14155550100' }, 400, 'body'],
    ['a wrong type', '/v1/sms', { to: 14155550100, body: 'x' }, 400, 'to'],
    ['a number that is not E.164', '/v1/sms', { to: '0415 555 0100', body: 'x' }, 400, 'to'],
    ['an SMS body over 1600 characters', '/v1/sms', { to: '+14155550100', body: 'x'.repeat(1601) }, 400, 'body'],
    ['an invalid e-mail address', '/v1/email', { to: 'not-an-address', subject: 's', text: 't' }, 400, 'to'],
    ['an e-mail with neither text nor html', '/v1/email', { to: 'a@example.com', subject: 's' }, 400, 'text'],
    ['an unknown field', '/v1/notifications', { recipient: 'u', title: 't', body: 'b', extra: 1 }, 400, '(body)'],
    ['notification data that is not an object', '/v1/notifications', { recipient: 'u', title: 't', body: 'b', data: [1] }, 400, 'data'],
    ['a body that is not JSON', '/v1/sms', '{"to": ', 400, '(body)'],
  ];

  test.each(cases)('%s is a 400 naming the field', async (_name, path, body, status, field) => {
    const response = await postJson(path, body);
    expect(response.status).toBe(status);
    expect(response.body.error).toBe('validation_failed');
    expect(response.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  test('a body that is not declared as JSON is a 415', async () => {
    const response = await fetch(`${APP}/v1/sms`, { method: 'POST', headers: { 'content-type': 'text/plain', ...authHeader() }, body: 'to=+14155550100' });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: 'unsupported_media_type' });
  });

  test('a huge body is a 413 and the app keeps serving', async () => {
    const response = await postJson('/v1/email', { to: 'a@example.com', subject: 's', text: 'x'.repeat(2_000_000) });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ error: 'payload_too_large' });
    expect((await fetch(`${APP}/healthz`)).status).toBe(200);
  });

  test('an unknown route is a JSON 404', async () => {
    const response = await postJson('/v1/fax', { to: 'x' });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: 'not_found' });
  });

  test('none of the rejected requests produced a message', async () => {
    expect(await sandboxMessages()).toHaveLength(0);
  });
});

describe('failures are retried by the broker or dead-lettered with their reason', () => {
  test('a transient failure is retried after the configured delay and then delivered', async () => {
    const started = Date.now();
    const response = await postJson('/v1/sms', { to: '+15005550003', body: `flaky ${started}` });
    expect(response.status).toBe(202);
    const arrived = await waitDelivered(response.body.id, 'sms', 10_000);
    // RETRY_DELAYS=1s,1s: the first attempt failed, the retry waited in relay.retry.1s for a second.
    expect(Date.parse(arrived.receivedAt) - started).toBeGreaterThanOrEqual(1000);
  });

  test('a permanent failure goes to the dead-letter queue at once, with reason, attempts and last error', async () => {
    const response = await postJson('/v1/sms', { to: '+15005550001', body: 'invalid number' });
    expect(response.status).toBe(202);
    const dead = await waitFor('the message in relay.sms.dead', async () => {
      const messages = await drainQueue('relay.sms.dead');
      return messages.find((m) => m.properties.messageId === response.body.id);
    });
    expect(dead.properties.headers).toMatchObject({ 'x-dead-reason': 'permanent', 'x-attempt': 1, 'x-last-error': 'twilio HTTP 400 code 21211' });
  });

  test('a message that keeps failing transiently is dead-lettered after the last attempt', async () => {
    const response = await postJson('/v1/notifications', { recipient: 'fail-transient', title: 't', body: 'b' });
    const dead = await waitFor('the message in relay.notif.dead', async () => {
      const messages = await drainQueue('relay.notif.dead');
      return messages.find((m) => m.properties.messageId === response.body.id);
    }, 15_000);
    expect(dead.properties.headers).toMatchObject({ 'x-dead-reason': 'attempts_exhausted', 'x-attempt': 3, 'x-last-error': 'webhook HTTP 503' });
  });

  test('a poison message (not a valid envelope) is dead-lettered at once, never requeued in a loop', async () => {
    const admin = await adminChannel();
    try {
      admin.channel.publish('relay.messages', 'email', Buffer.from('{"id": "poison-1", "type": "email"'), { persistent: true, messageId: 'poison-1' });
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await admin.close();
    }
    const dead = await waitFor('the poison message in relay.email.dead', async () => {
      const messages = await drainQueue('relay.email.dead');
      return messages.find((m) => m.properties.messageId === 'poison-1');
    });
    expect(dead.properties.headers).toMatchObject({ 'x-dead-reason': 'poison', 'x-attempt': 0 });
    expect(String(dead.properties.headers?.['x-last-error'])).toMatch(/not JSON/);
  });
});

describe('group commit', () => {
  test('concurrent requests share AMQP messages, yet each item is delivered, retried or dead-lettered on its own', async () => {
    const admin = await adminChannel();
    const acceptedAt = new Date().toISOString();
    const good = { id: 'batch-good-1', type: 'sms', acceptedAt, payload: { to: '+14155550100', body: 'from a batch' } };
    const flaky = { id: 'batch-flaky-1', type: 'sms', acceptedAt, payload: { to: '+15005550003', body: 'flaky in a batch' } };
    const invalid = { id: 'batch-bad-1', type: 'sms', acceptedAt, payload: { to: 'not a number', body: 'x' } };
    try {
      admin.channel.publish('relay.messages', 'sms', Buffer.from(JSON.stringify([good, flaky, invalid])), {
        persistent: true,
        messageId: 'batch-1',
        contentType: 'application/vnd.relay.batch+json',
      });
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await admin.close();
    }
    await waitDelivered('batch-good-1', 'sms', 5000);
    await waitDelivered('batch-flaky-1', 'sms', 10_000);
    const dead = await waitFor('the invalid item in relay.sms.dead', async () => (await drainQueue('relay.sms.dead')).find((m) => m.properties.messageId === 'batch-bad-1'));
    expect(dead.properties.headers).toMatchObject({ 'x-dead-reason': 'poison' });
    expect(JSON.parse(dead.content.toString())).toEqual(invalid);
    expect((await sandboxMessages('sms')).filter((m) => m.id === 'batch-good-1')).toHaveLength(1);
  });
});

describe('metrics', () => {
  test('one scrape of /metrics on the ops port returns the series of every PM2 instance, kept apart by app_instance', async () => {
    // Keep-alive off: each request may land on either instance.
    await Promise.all(Array.from({ length: 40 }, () => postJson('/v1/sms', { to: '+14155550100', body: 'count me' }, { connection: 'close' })));
    const text = await (await fetch(`${APP_OPS}/metrics`)).text();
    const series = text.split('\n').filter((line) => line.startsWith('messages_published_total{type="sms",outcome="confirmed"'));
    const instances = new Set(series.map((line) => /app_instance="(\d+)"/.exec(line)?.[1]));
    expect(instances).toEqual(new Set(['0', '1']));
    const total = series.reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    expect(total).toBeGreaterThanOrEqual(40);
    // Any instance answers with all of them.
    const again = await (await fetch(`${APP_OPS}/metrics`, { headers: { connection: 'close' } })).text();
    expect(new Set([...again.matchAll(/app_instance="(\d+)"/g)].map((m) => m[1]))).toEqual(new Set(['0', '1']));
    // The public port does not show them.
    expect((await fetch(`${APP}/metrics`)).status).toBe(404);
  });

  test('workers export processed counts by outcome and end-to-end latency', async () => {
    const text = await (await fetch(READY_URLS['sms-worker'].replace('/readyz', '/metrics'))).text();
    expect(text).toMatch(/messages_processed_total\{type="sms",outcome="delivered"\} [1-9]/);
    expect(text).toMatch(/message_end_to_end_seconds_count\{type="sms"\} [1-9]/);
    expect(text).toMatch(/nodejs_eventloop_lag_seconds/);
  });
});
