import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { amqpUrl, purgeAllQueues, queueDepth, ROOT } from '../support/broker';
import { startPm2, startService, stopAll } from '../support/processes';
import { clearSandbox, configureFaults, postJson, READY_URLS, sandboxMessages, waitReady } from '../support/stack';
import { sleep, waitFor } from '../support/wait';

const run = promisify(execFile);
const SMS_METRICS = READY_URLS['sms-worker'].replace('/readyz', '/metrics');

// The sandbox and the app under PM2; the sms worker started on its own so the tests can signal it.
beforeAll(async () => {
  await purgeAllQueues();
  startPm2(['sandbox', 'app'], { API_INSTANCES: '1' });
  await waitReady([READY_URLS.app, READY_URLS.sandbox]);
}, 90_000);

afterAll(async () => {
  await stopAll();
});

beforeEach(async () => {
  await clearSandbox();
});

async function acceptSms(count: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await postJson('/v1/sms', { to: '+14155550100', body: `${tag} ${i}` });
    expect(response.status).toBe(202);
    ids.push(response.body.id);
  }
  return ids;
}

async function smsInFlight(): Promise<number> {
  const text = await (await fetch(SMS_METRICS)).text();
  return Number(/^messages_in_flight\{type="sms"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

async function deliveredIds(): Promise<string[]> {
  return (await sandboxMessages('sms')).map((m) => m.id ?? '');
}

test('a SIGTERM-ed worker finishes and acks the messages it holds before it exits', async () => {
  await configureFaults({ delayMs: 1500 });
  const ids = await acceptSms(10, 'drain');
  const worker = startService('sms-worker', { PREFETCH: '10', LOG_LEVEL: 'info' });
  await waitFor('the worker to hold all 10 messages', async () => ((await smsInFlight()) === 10 ? true : undefined), 20_000);
  const signalled = Date.now();
  const exitCode = await worker.stop('SIGTERM', 15_000);
  expect(exitCode).toBe(0);
  expect(Date.now() - signalled).toBeLessThan(10_000);
  // Delivered by the draining worker itself, exactly once each, and nothing left behind for a redelivery.
  expect((await deliveredIds()).sort()).toEqual([...ids].sort());
  expect(await queueDepth('relay.sms')).toBe(0);
  expect(worker.output()).toMatch(/drained; exiting/);
}, 60_000);

test("a SIGKILL-ed worker's unacknowledged messages are redelivered to the next worker", async () => {
  await configureFaults({ delayMs: 3000 });
  const ids = await acceptSms(10, 'killed');
  const doomed = startService('sms-worker', { PREFETCH: '10' });
  await waitFor('the worker to hold all 10 messages', async () => ((await smsInFlight()) === 10 ? true : undefined), 20_000);
  await doomed.stop('SIGKILL');
  await configureFaults({ delayMs: 0 });
  // The sandbox may still finish requests the dead worker had sent (at-least-once); what matters is that the
  // broker hands every unacked message to the next worker.
  const successor = startService('sms-worker', { PREFETCH: '10' });
  await waitFor('every message delivered after the kill', async () => {
    const delivered = new Set(await deliveredIds());
    return ids.every((id) => delivered.has(id)) ? true : undefined;
  }, 30_000);
  await waitFor('relay.sms to be empty', async () => ((await queueDepth('relay.sms')) === 0 ? true : undefined));
  await successor.stop('SIGTERM');
}, 60_000);

test('dead letters are replayed with `make replay-dead` and delivered once the provider accepts them', async () => {
  const worker = startService('sms-worker', { RETRY_DELAYS: '1s' });
  await waitReady([READY_URLS['sms-worker']]);
  await configureFaults({ permanentRate: 1 });
  const ids = await acceptSms(5, 'replay');
  await waitFor('5 dead letters', async () => ((await queueDepth('relay.sms.dead')) === 5 ? true : undefined), 15_000);
  expect(await deliveredIds()).toEqual([]);

  await configureFaults({ permanentRate: 0 });
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'dist/tools/replay-dead.js'), '--queue', 'sms'], {
    env: { ...process.env, AMQP_URL: amqpUrl('relay-ops') },
  });
  expect(stdout).toMatch(/replayed 5 message\(s\) from relay\.sms\.dead/);
  await waitFor('the replayed messages delivered', async () => {
    const delivered = new Set(await deliveredIds());
    return ids.every((id) => delivered.has(id)) ? true : undefined;
  });
  expect(await queueDepth('relay.sms.dead')).toBe(0);
  await sleep(200);
  await worker.stop('SIGTERM');
}, 60_000);

test('replay refuses an unknown queue with a usage message', async () => {
  await expect(run(process.execPath, [path.join(ROOT, 'dist/tools/replay-dead.js'), '--queue', 'fax'])).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringMatching(/usage: make replay-dead QUEUE=<sms\|email\|notif>/),
  });
});
