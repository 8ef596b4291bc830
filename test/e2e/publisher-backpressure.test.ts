import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { purgeAllQueues } from '../support/broker';
import { startPm2, stopAll } from '../support/processes';
import { APP, httpStatus, postJson, READY_URLS, waitReady } from '../support/stack';
import { waitFor } from '../support/wait';

const run = promisify(execFile);
const NODE = `relay-${process.env.RELAY_AMQP_PORT ?? 5673}@localhost`;

/** Sets the private node's memory watermark: 0 raises a memory alarm, which blocks every publisher. */
async function memoryWatermark(value: number): Promise<void> {
  await run('rabbitmqctl', ['-n', NODE, 'set_vm_memory_high_watermark', String(value)], { timeout: 30_000 });
}

// One API instance with room for a single unconfirmed publish, so the bound is easy to reach.
beforeAll(async () => {
  await purgeAllQueues();
  startPm2(['app'], { API_INSTANCES: '1', PUBLISH_MAX_IN_FLIGHT: '1' });
  await waitReady([READY_URLS.app]);
}, 90_000);

afterAll(async () => {
  await memoryWatermark(0.4);
  await stopAll();
  await purgeAllQueues();
});

test('when the bounded in-flight buffer is full, extra requests get 503 at once instead of queueing in memory', async () => {
  const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => postJson('/v1/sms', { to: '+14155550100', body: `burst ${i}` })));
  const statuses = responses.map((response) => response.status);
  const full = responses.filter((response) => response.status === 503);
  expect(statuses.every((status) => status === 202 || status === 503)).toBe(true);
  expect(statuses.filter((status) => status === 202).length).toBeGreaterThan(0);
  expect(full.length).toBeGreaterThan(0);
  expect(full[0]?.body).toEqual({ error: 'broker_unavailable', reason: 'buffer_full' });
  expect(full[0]?.headers.get('retry-after')).toBe('2');
});

test('when the broker raises a resource alarm and blocks publishers, the API answers 503 and /readyz says not ready', async () => {
  await memoryWatermark(0);
  try {
    // The broker tells connections they are blocked once they publish; the first request may wait for it.
    await postJson('/v1/sms', { to: '+14155550100', body: 'trigger the block notice' }).catch(() => undefined);
    await waitFor('/readyz to report not ready', async () => ((await httpStatus(`${APP}/readyz`)) === 503 ? true : undefined), 15_000);
    const started = Date.now();
    const response = await postJson('/v1/email', { to: 'a@example.com', subject: 's', text: 't' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(response.status).toBe(503);
    expect(response.body).toEqual({ error: 'broker_unavailable', reason: 'blocked' });
  } finally {
    await memoryWatermark(0.4);
  }
  await waitFor('/readyz to recover', async () => ((await httpStatus(`${APP}/readyz`)) === 200 ? true : undefined), 15_000);
  expect((await postJson('/v1/email', { to: 'a@example.com', subject: 's', text: 't' })).status).toBe(202);
}, 60_000);
