import { purgeAllQueues } from '../support/broker';
import { closedPort } from '../support/local-servers';
import { addTestKey, securityEnv, testApiKey } from '../support/api-keys';
import { startPm2, startService, stopAll } from '../support/processes';
import { APP, APP_OPS, clearSandbox, postJson, READY_URLS, sandboxMessages, waitDelivered, waitReady } from '../support/stack';
import { waitFor } from '../support/wait';

// POST /v1/batch against the native stack under pm2-runtime (one API instance, so one /metrics tells all), plus two
// lone API processes: one whose publisher holds a single unconfirmed message, one whose broker is unreachable.
const TIGHT_APP = 'http://127.0.0.1:18081';
const BROKERLESS_APP = 'http://127.0.0.1:18082';

beforeAll(async () => {
  await purgeAllQueues();
  startPm2(['sandbox', 'app', 'sms-worker', 'email-worker', 'notif-worker'], { API_INSTANCES: '1' });
  // Each lone app has its own ops port (the PM2 stack's app has 9100) and reads the test key file.
  startService('app', { ...securityEnv(), PORT: '18081', OPS_PORT: '19181', PUBLISH_MAX_IN_FLIGHT: '1' });
  startService('app', { ...securityEnv(), PORT: '18082', OPS_PORT: '19182', AMQP_URL: `amqp://relay-app@127.0.0.1:${await closedPort()}/relay` });
  await waitReady([...Object.values(READY_URLS), `${TIGHT_APP}/readyz`, `${BROKERLESS_APP}/healthz`]);
}, 90_000);

afterAll(async () => {
  await stopAll();
});

beforeEach(async () => {
  await clearSandbox();
});

/** Sum over instances of one unlabelled-by-type app series, e.g. `publish_batch_size_count`. */
async function appSeries(name: string): Promise<number> {
  const text = await (await fetch(`${APP_OPS}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** POST /v1/batch to one of the lone API processes. */
async function postBatchTo(base: string, messages: unknown[]): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${base}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${testApiKey()}` }, body: JSON.stringify({ messages }), signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

describe('POST /v1/batch', () => {
  test('a mixed batch is answered once with the ids in order, and every item reaches its own provider', async () => {
    const messages = [
      { channel: 'sms', to: '+14155550100', body: 'batch sms 0' },
      { channel: 'email', to: 'ada@example.com', subject: 'batch email 1', text: 'plain', html: '<p>rich</p>' },
      { channel: 'notif', recipient: 'user-42', title: 'batch notif 2', body: 'there', data: { orderId: 7 } },
      { channel: 'sms', to: '+14155550101', body: 'batch sms 3' },
    ];
    const response = await postJson('/v1/batch', { messages });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ ids: [expect.any(String), expect.any(String), expect.any(String), expect.any(String)], status: 'queued' });
    const [sms0, email1, notif2, sms3] = response.body.ids as string[];
    expect(new Set(response.body.ids).size).toBe(4);
    expect(await waitDelivered(sms0!, 'sms')).toMatchObject({ to: '+14155550100', content: { body: 'batch sms 0' } });
    expect(await waitDelivered(email1!, 'email')).toMatchObject({ to: 'ada@example.com', content: { subject: 'batch email 1', html: '<p>rich</p>' } });
    expect(await waitDelivered(notif2!, 'notif')).toMatchObject({ to: 'user-42', content: { title: 'batch notif 2', data: { orderId: 7 } } });
    expect(await waitDelivered(sms3!, 'sms')).toMatchObject({ to: '+14155550101', content: { body: 'batch sms 3' } });
  });

  test('the items of each channel are made durable as one group commit: one AMQP message and confirm per channel', async () => {
    const [countBefore, sumBefore] = [await appSeries('publish_batch_size_count'), await appSeries('publish_batch_size_sum')];
    const messages = Array.from({ length: 90 }, (_, i) =>
      [
        { channel: 'sms', to: '+14155550100', body: `gc ${i}` },
        { channel: 'email', to: 'gc@example.com', subject: `gc ${i}`, text: 't' },
        { channel: 'notif', recipient: `gc-${i}`, title: 'gc', body: String(i) },
      ][i % 3],
    );
    const response = await postJson('/v1/batch', { messages });
    expect(response.status).toBe(202);
    expect(response.body.ids).toHaveLength(90);
    expect(await appSeries('publish_batch_size_count')).toBe(countBefore + 3);
    expect(await appSeries('publish_batch_size_sum')).toBe(sumBefore + 90);
    await waitFor('all 90 items at the sandbox', async () => {
      const seen = new Set((await sandboxMessages()).map((message) => message.id));
      return (response.body.ids as string[]).every((id) => seen.has(id)) ? true : undefined;
    });
  });

  test('one invalid item rejects the whole batch, names every bad item by index, and nothing is published', async () => {
    const publishedBefore = await appSeries('messages_published_total');
    const response = await postJson('/v1/batch', {
      messages: [
        { channel: 'sms', to: '+14155550100', body: 'must not arrive' },
        { channel: 'email', to: 'not-an-address', subject: 's', text: 't' },
        { channel: 'notif', recipient: 'user-1', title: 'must not arrive', body: 'b' },
        { channel: 'sms', to: '0415 555 0100', body: 'x' },
        { channel: 'fax', to: '+14155550100' },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: 'validation_failed',
      details: [
        { field: 'messages[1].to', message: expect.any(String) },
        { field: 'messages[3].to', message: expect.any(String) },
        { field: 'messages[4].channel', message: 'must be sms, email or notif' },
      ],
    });
    expect(await appSeries('messages_published_total')).toBe(publishedBefore);
    // A valid batch sent afterwards arrives alone: nothing of the refused one is on its way.
    const fence = await postJson('/v1/batch', { messages: [{ channel: 'sms', to: '+14155550100', body: 'fence' }, { channel: 'notif', recipient: 'fence', title: 'fence', body: 'b' }] });
    await waitDelivered(fence.body.ids[0], 'sms');
    await waitDelivered(fence.body.ids[1], 'notif');
    expect((await sandboxMessages()).map((message) => message.id).sort()).toEqual([...fence.body.ids].sort());
  });

  test.each([
    ['more than 100 messages', { messages: Array.from({ length: 101 }, () => ({ channel: 'sms', to: '+14155550100', body: 'x' })) }, 'messages'],
    ['an empty batch', { messages: [] }, 'messages'],
    ['no messages array', [{ channel: 'sms', to: '+14155550100', body: 'x' }], '(body)'],
  ])('%s is a 400', async (_name, body, field) => {
    const response = await postJson('/v1/batch', body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'validation_failed', details: [{ field, message: expect.any(String) }] });
  });

  test('when the broker cannot be reached, the batch is a 503 with Retry-After and nothing is accepted', async () => {
    const response = await postBatchTo(BROKERLESS_APP, [{ channel: 'sms', to: '+14155550100', body: 'x' }, { channel: 'email', to: 'a@example.com', subject: 's', text: 't' }]);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.body).toEqual({ error: 'broker_unavailable', reason: 'disconnected' });
  });

  test('when only some items can be made durable, the 503 lists the queued ones so the client resends only the rest', async () => {
    // PUBLISH_MAX_IN_FLIGHT=1: the SMS takes the only slot, the e-mail finds the buffer full.
    const response = await postBatchTo(TIGHT_APP, [{ channel: 'sms', to: '+14155550100', body: 'partly durable' }, { channel: 'email', to: 'a@example.com', subject: 's', text: 't' }]);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.body).toEqual({ error: 'broker_unavailable', reason: 'buffer_full', queued: [{ index: 0, id: expect.any(String) }] });
    expect(await waitDelivered(response.body.queued[0].id, 'sms')).toMatchObject({ content: { body: 'partly durable' } });
  });

  test('a batch is held to the key: 401 without one, 403 when the channel of one item is not allowed, 429 when its items exceed the rate', async () => {
    const items = [{ channel: 'sms', to: '+14155550100', body: 'k' }, { channel: 'email', to: 'a@example.com', subject: 's', text: 't' }];
    const anonymous = await fetch(`${APP}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: items }) });
    expect(anonymous.status).toBe(401);
    const key = addTestKey({ name: 'batch-sms-only', channels: ['sms'], rate: 1, burst: 3, recipientLimit: false });
    const bearer = { authorization: `Bearer ${key}`, connection: 'close' };
    // A 404 from an unknown /v1 route: the key passed authentication (the key file is reloaded within a second).
    await waitFor('the sms-only key to be loaded', async () => ((await postJson('/v1/fax', {}, bearer)).status === 404 ? true : undefined));
    const forbidden = await postJson('/v1/batch', { messages: items }, bearer);
    expect(forbidden.status).toBe(403);
    const tooMany = await postJson('/v1/batch', { messages: Array.from({ length: 4 }, (_, i) => ({ channel: 'sms', to: '+14155550100', body: `n${i}` })) }, bearer);
    expect(tooMany.status).toBe(429);
    expect(tooMany.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await sandboxMessages()).toEqual([]);
  });
});
