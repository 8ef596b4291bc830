import { brokerCtl, purgeAllQueues } from '../support/broker';
import { startPm2, stopAll, type RunningProcess } from '../support/processes';
import { APP, clearSandbox, httpStatus, postJson, READY_URLS, sandboxMessages, waitDelivered, waitReady } from '../support/stack';
import { waitFor } from '../support/wait';

let stack: RunningProcess;

beforeAll(async () => {
  await purgeAllQueues();
  stack = startPm2(['sandbox', 'app', 'sms-worker', 'email-worker', 'notif-worker'], { API_INSTANCES: '2' });
  await waitReady(Object.values(READY_URLS));
  await clearSandbox();
}, 90_000);

afterAll(async () => {
  await stopAll();
  await brokerCtl('resume');
}, 180_000);

describe('when the broker stops and comes back', () => {
  const acceptedBefore: string[] = [];

  test('messages accepted before the outage are durable', async () => {
    for (let i = 0; i < 20; i += 1) {
      const response = await postJson('/v1/email', { to: `before-${i}@example.com`, subject: 'before', text: 'outage' });
      expect(response.status).toBe(202);
      acceptedBefore.push(response.body.id);
    }
  });

  test('with the broker down the API answers 503 with Retry-After within a second, and /readyz says not ready', async () => {
    await brokerCtl('stop');
    await waitFor('/readyz to report not ready', async () => ((await httpStatus(`${APP}/readyz`)) === 503 ? true : undefined), 15_000);
    for (let i = 0; i < 5; i += 1) {
      const started = Date.now();
      const response = await postJson('/v1/sms', { to: '+14155550100', body: 'during outage' }, { connection: 'close' });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ error: 'broker_unavailable' });
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await httpStatus(`${APP}/healthz`)).toBe(200);
    expect(await httpStatus(READY_URLS['sms-worker'])).toBe(503);
  }, 60_000);

  test('once the broker is back, requests succeed again without restarting anything', async () => {
    const pidsBefore = stack.pid;
    await brokerCtl('resume');
    await waitReady(Object.values(READY_URLS), 60_000);
    const response = await postJson('/v1/sms', { to: '+14155550100', body: 'after outage' });
    expect(response.status).toBe(202);
    await waitDelivered(response.body.id, 'sms', 5000);
    expect(stack.pid).toBe(pidsBefore);
    // PM2 prints "App [name:n] exited with code ..." whenever it has to restart a process.
    expect(stack.output()).not.toMatch(/exited with code/);
  }, 180_000);

  test('every message accepted before the outage is delivered', async () => {
    await waitFor('all pre-outage e-mails delivered', async () => {
      const seen = new Set((await sandboxMessages('email')).map((m) => m.id));
      return acceptedBefore.every((id) => seen.has(id)) ? true : undefined;
    }, 30_000);
  }, 60_000);
});
