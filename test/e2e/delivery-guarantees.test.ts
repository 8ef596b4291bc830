import { testApiKey } from '../support/api-keys';
import { purgeAllQueues } from '../support/broker';
import { pm2Cli, pm2Pids, startPm2, stopAll } from '../support/processes';
import { APP, clearSandbox, postJson, READY_URLS, sandboxMessages, waitDelivered, waitReady } from '../support/stack';
import { sleep, waitFor } from '../support/wait';

let stack: ReturnType<typeof startPm2>;

beforeAll(async () => {
  await purgeAllQueues();
  stack = startPm2(['sandbox', 'app', 'sms-worker', 'email-worker', 'notif-worker'], { API_INSTANCES: '2' });
  await waitReady(Object.values(READY_URLS));
}, 90_000);

afterAll(async () => {
  await stopAll();
});

beforeEach(async () => {
  await clearSandbox();
});

interface LoadResult {
  /** One id per logical request that was finally accepted. */
  accepted: string[];
  /** Answers other than 202 (never retried): a 503 from an instance that is not ready, a 500. */
  httpErrors: string[];
  /** Network errors (a kept-alive socket closed under a request) that the client retried with the same key. */
  retried: string[];
  /** Logical requests that still failed after 5 tries. */
  failures: string[];
}

/**
 * Open-loop load: `rate` POST /v1/sms per second for `seconds` over the client's kept-alive connections (fetch),
 * while `during()` runs (started after one second). Like a careful client, each request carries an
 * Idempotency-Key and is retried with the same key when its connection is closed under it (the keep-alive race
 * RFC 9112 §9.3.1 describes); an HTTP error answer is never retried, so it counts.
 */
async function steadyLoad(rate: number, seconds: number, during: () => Promise<void>): Promise<LoadResult> {
  const result: LoadResult = { accepted: [], httpErrors: [], retried: [], failures: [] };
  const run = `${Date.now()}`;
  const requests: Promise<void>[] = [];
  const send = async (i: number) => {
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      try {
        const response = await fetch(`${APP}/v1/sms`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${testApiKey()}`, 'idempotency-key': `load-${run}-${i}` },
          body: JSON.stringify({ to: '+14155550100', body: `load ${i}` }),
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await response.json()) as { id?: string };
        if (response.status === 202 && body.id) result.accepted.push(body.id);
        else result.httpErrors.push(`HTTP ${response.status} ${JSON.stringify(body)}`);
        return;
      } catch (error) {
        result.retried.push(`${(error as Error).message} ${String((error as { cause?: unknown }).cause ?? '')}`);
        await sleep(100 * attempt);
      }
    }
    result.failures.push(`request ${i} failed 5 times`);
  };
  const started = Date.now();
  const action = sleep(1000).then(during);
  for (let i = 0; i < rate * seconds; i += 1) {
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    requests.push(send(i));
  }
  await Promise.all([...requests, action]);
  return result;
}

async function allDelivered(ids: string[], timeoutMs: number): Promise<void> {
  await waitFor(`${ids.length} messages delivered`, async () => {
    const seen = new Set((await sandboxMessages('sms')).map((m) => m.id));
    return ids.every((id) => seen.has(id)) ? true : undefined;
  }, timeoutMs, 500);
}

test('`pm2 reload app` under a steady 200 requests/s answers no request with an error, loses none, and delivers every accepted message', async () => {
  const before = await pm2Pids(stack.pm2Home, 'app');
  const result = await steadyLoad(200, 8, async () => {
    await pm2Cli(stack.pm2Home, ['reload', 'app']);
  });
  const after = await pm2Pids(stack.pm2Home, 'app');
  expect(after).toHaveLength(2);
  expect(after.filter((pid) => before.includes(pid))).toEqual([]); // both instances were replaced
  // A new instance takes traffic only once it can make messages durable, and a draining one answers what reaches
  // it: no 503 and no error answer at all. Retried network errors are logged for the record (see failure-modes.md).
  expect(result.httpErrors).toEqual([]);
  expect(result.failures).toEqual([]);
  expect(new Set(result.accepted).size).toBe(1600);
  if (result.retried.length > 0) {
    const byReason = new Map<string, number>();
    for (const reason of result.retried) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    console.log(`reload: ${result.retried.length} request(s) retried after a network error: ${JSON.stringify(Object.fromEntries(byReason))}`);
  }
  await allDelivered(result.accepted, 60_000);
}, 120_000);

test('restarting the sms worker under load loses no message', async () => {
  const result = await steadyLoad(200, 5, async () => {
    await pm2Cli(stack.pm2Home, ['restart', 'sms-worker']);
  });
  expect(result.httpErrors).toEqual([]);
  expect(result.failures).toEqual([]);
  await allDelivered(result.accepted, 60_000);
}, 120_000);

describe('Idempotency-Key', () => {
  test('the same key yields the same id and 202 queued again, from any instance, and the message is sent once', async () => {
    const key = `order-${Date.now()}`;
    const body = { to: '+14155550100', body: 'idempotent' };
    // Connection: close makes each request a new connection, which PM2's cluster master spreads over both instances.
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await postJson('/v1/sms', body, { 'idempotency-key': key, connection: 'close' }));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
    const id = answers[0]?.body.id;
    expect(answers.map((a) => a.body)).toEqual(answers.map(() => ({ id, status: 'queued' })));
    const other = await postJson('/v1/sms', body, { 'idempotency-key': `${key}-other` });
    expect(other.body.id).not.toBe(id);

    await waitDelivered(other.body.id, 'sms');
    await waitDelivered(id, 'sms');
    // The copies reach the same worker process, which remembers the ids it delivered recently.
    await sleep(1000);
    expect((await sandboxMessages('sms')).filter((m) => m.id === id)).toHaveLength(1);
  }, 30_000);

  test('a key longer than 255 characters is refused with 400 naming the header', async () => {
    const response = await postJson('/v1/sms', { to: '+14155550100', body: 'x' }, { 'idempotency-key': 'k'.repeat(256) });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'validation_failed', details: [{ field: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' }] });
  });
});
