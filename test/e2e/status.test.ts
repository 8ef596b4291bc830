import { purgeAllQueues } from '../support/broker';
import { addTestKey } from '../support/api-keys';
import { postgresCtl } from '../support/database';
import { startPm2, stopAll, type RunningProcess } from '../support/processes';
import { APP, authHeader, clearSandbox, postJson, READY_URLS, STATUS_SERVICE_READY_URL, waitDelivered, waitReady } from '../support/stack';
import { waitFor } from '../support/wait';

// The delivery status end to end, on the native stack with the status service: what the API answered 202 to can
// be followed to `sent` (SMS) or `delivered` (a webhook receiver's 2xx), and a status database outage neither
// stops delivery nor loses a status.
let stack: RunningProcess;

beforeAll(async () => {
  await purgeAllQueues();
  stack = startPm2(['sandbox', 'app', 'sms-worker', 'email-worker', 'notif-worker', 'status-service'], { RETRY_DELAYS: '1s' });
  await waitReady([...Object.values(READY_URLS), STATUS_SERVICE_READY_URL]);
}, 90_000);

afterAll(async () => {
  await postgresCtl('resume');
  await stopAll();
  void stack;
});

beforeEach(async () => {
  await clearSandbox();
});

async function getJson(path: string, key?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${APP}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : authHeader(), signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

function statusOf(id: string, wanted: string, timeoutMs = 15_000) {
  return waitFor(`message ${id} ${wanted}`, async () => {
    const response = await getJson(`/v1/messages/${id}`);
    return response.status === 200 && response.body.status === wanted ? response.body : undefined;
  }, timeoutMs);
}

test('an SMS sent through the API shows queued then sent, with the attempt', async () => {
  const sent = await postJson('/v1/sms', { to: '+14155550100', body: 'status please' });
  expect(sent.status).toBe(202);
  // The sandbox's Twilio callbacks follow within a few hundred ms (a second `sent`, then `delivered`), and the
  // worker's own `sent` may be recorded with or after the callback's: wait for the worker's event, whatever the
  // status has reached by then.
  const message = await waitFor(`message ${sent.body.id} sent by the worker`, async () => {
    const response = await getJson(`/v1/messages/${sent.body.id}`);
    return response.status === 200 && response.body.attempts === 1 && response.body.events.some((event: { status: string }) => event.status === 'sent') ? response.body : undefined;
  });
  expect(message).toMatchObject({ id: sent.body.id, channel: 'sms', attempts: 1 });
  const statuses = message.events.map((event: { status: string }) => event.status);
  expect(statuses[0]).toBe('queued');
  expect(statuses.slice(1).every((status: string) => status === 'sent' || status === 'delivered')).toBe(true);
  const listed = await getJson('/v1/messages?channel=sms&limit=5');
  expect(listed.body.messages.map((m: { id: string }) => m.id)).toContain(sent.body.id);
  // Another key, whatever its channels, does not see it.
  const stranger = addTestKey({ name: 'status-stranger', channels: ['email'] });
  await waitFor('the new key loaded', async () => ((await getJson('/v1/messages', stranger)).status === 200 ? true : undefined));
  expect((await getJson(`/v1/messages/${sent.body.id}`, stranger)).status).toBe(404);
});

test('a notification shows delivered once the webhook receiver answered 2xx', async () => {
  const sent = await postJson('/v1/notifications', { recipient: 'user-7', title: 'Hi', body: 'status' });
  expect(sent.status).toBe(202);
  const message = await statusOf(sent.body.id, 'delivered');
  expect(message.events.map((event: { status: string }) => event.status)).toEqual(['queued', 'delivered']);
});

test('with the status database away, sending and delivery go on, reads answer 503, and the status catches up', async () => {
  await postgresCtl('stop');
  try {
    const sent = await postJson('/v1/email', { to: 'ada@example.com', subject: 'during the outage', text: 'still delivered' });
    expect(sent.status).toBe(202);
    await waitDelivered(sent.body.id, 'email');
    const read = await getJson(`/v1/messages/${sent.body.id}`);
    expect(read.status).toBe(503);
    expect(read.body).toEqual({ error: 'status_unavailable' });
    expect(read.headers.get('retry-after')).toEqual(expect.any(String));
    await postgresCtl('resume');
    const message = await statusOf(sent.body.id, 'sent', 30_000);
    expect(message.events.map((event: { status: string }) => event.status)).toEqual(['queued', 'sent']);
  } finally {
    await postgresCtl('resume');
  }
}, 60_000);
