import { gzipSync } from 'node:zlib';
import { purgeAllQueues } from '../support/broker';
import { addTestKey, testKeysFile } from '../support/api-keys';
import { servicePids, startApiPair, stopAll, type RunningProcess } from '../support/processes';
import { APP, APP_OPS, authHeader, httpStatus, postJson } from '../support/stack';
import { waitFor } from '../support/wait';
import { readKeyFile, revokeKey } from '../../services/app/auth/api-keys';

// The app alone (two PM2 instances and app-limits) against the private broker: auth, limits, SMS destination
// checks and hostile input. Deliveries are the pipeline test's business.
let stack: RunningProcess;
let pidsAtStart: string[];
const RECIPIENT_MAX = 3;

beforeAll(async () => {
  await purgeAllQueues();
  // info: the reload log lines are read by the SIGHUP test.
  ({ stack, pids: pidsAtStart } = await startApiPair({ SMS_RECIPIENT_MAX: String(RECIPIENT_MAX), LOG_LEVEL: 'info' }));
}, 90_000);

afterAll(async () => {
  await stopAll();
  await purgeAllQueues();
});

const sms = (to = '+14155550100') => ({ to, body: 'security test' });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A key added to the running stack's key file, once the app answers with it (file watch: about a second). */
async function liveKey(spec: Parameters<typeof addTestKey>[0]): Promise<string> {
  const key = addTestKey(spec);
  // A 404 from an unknown /v1 route means the key passed authentication without counting against its rate; ask a
  // few times without keep-alive so both instances answer.
  await waitFor(`key ${spec.name} to be loaded`, async () => {
    const statuses = await Promise.all(Array.from({ length: 4 }, () => postJson('/v1/fax', {}, { ...bearer(key), connection: 'close' }).then((r) => r.status)));
    return statuses.every((status) => status === 404) ? true : undefined;
  });
  return key;
}

describe('API keys', () => {
  test('a request without a key is a 401 with WWW-Authenticate: Bearer, and nothing is read', async () => {
    const response = await postJson('/v1/sms', sms(), { authorization: '' });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'unauthorized' });
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
  });

  test.each([
    ['an unknown key', 'Bearer rk_notakeythatexistsnotakeythatexistsnotakeyth'],
    ['another scheme', 'Basic cmVsYXk6cmVsYXk='],
    ['an empty bearer', 'Bearer '],
    ['a token with a tab in it', 'Bearer rk_abc\tdef'],
  ])('%s is a 401', async (_name, authorization) => {
    const response = await postJson('/v1/email', { to: 'a@example.com', subject: 's', text: 't' }, { authorization });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'unauthorized' });
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
  });

  test('a key not allowed the channel is a 403; the same key is accepted on its own channel', async () => {
    const key = await liveKey({ name: 'email-only', channels: ['email'], rate: 1000, burst: 1000 });
    const refused = await postJson('/v1/sms', sms(), bearer(key));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'forbidden' });
    expect((await postJson('/v1/email', { to: 'a@example.com', subject: 's', text: 't' }, bearer(key))).status).toBe(202);
  });

  test('only the hash of a key is stored', async () => {
    const key = await liveKey({ name: 'stored', channels: ['sms'], rate: 1000, burst: 1000 });
    const text = JSON.stringify(readKeyFile(testKeysFile()));
    expect(text).not.toContain(key);
    expect(readKeyFile(testKeysFile()).keys.find((k) => k.name === 'stored')?.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('keys are added and revoked while requests are in flight, and none of those requests is lost', async () => {
    const inFlight = Promise.all(Array.from({ length: 200 }, (_, i) => postJson('/v1/notifications', { recipient: `u-${i}`, title: 't', body: 'b' })));
    const added = addTestKey({ name: 'added-under-load', channels: ['notif'], rate: 1000, burst: 1000 });
    const statuses = (await inFlight).map((response) => response.status);
    expect(statuses.filter((status) => status !== 202)).toEqual([]);
    await waitFor('the added key to work', async () => ((await postJson('/v1/notifications', { recipient: 'u', title: 't', body: 'b' }, { ...bearer(added), connection: 'close' })).status === 202 ? true : undefined));
    expect(revokeKey(testKeysFile(), 'added-under-load')).toBe(true);
    await waitFor('the revoked key to be refused by every instance', async () => {
      const answers = await Promise.all(Array.from({ length: 4 }, () => postJson('/v1/notifications', { recipient: 'u', title: 't', body: 'b' }, { ...bearer(added), connection: 'close' })));
      return answers.every((r) => r.status === 401) ? true : undefined;
    });
  });
});

describe('reloading keys on SIGHUP', () => {
  test('SIGHUP makes each instance reload the key file and keeps it running', async () => {
    const instances = servicePids(stack).filter((entry) => entry.endsWith('app/main.js')).map((entry) => Number(entry.split(' ')[0]));
    expect(instances).toHaveLength(2);
    const reloads = (pid: number) => stack.output().split('\n').filter((line) => line.includes('API keys loaded') && line.includes(`"pid":${pid},`)).length;
    const before = instances.map(reloads);
    for (const pid of instances) process.kill(pid, 'SIGHUP');
    await waitFor('both instances to log a reload', async () => (instances.every((pid, i) => reloads(pid) > before[i]!) ? true : undefined));
    expect(servicePids(stack)).toEqual(pidsAtStart);
    expect((await postJson('/v1/sms', sms())).status).toBe(202);
  });
});

describe('rate limits hold across the PM2 cluster', () => {
  test("a key's limit is one count for both instances: 10 of 30 requests pass, not 10 per instance", async () => {
    // burst 10 over a window of 1000 s: whatever the timing, the window holds exactly 10 messages.
    const key = await liveKey({ name: 'limited', channels: ['sms', 'email'], rate: 0.01, burst: 10 });
    const before = await instanceStatuses();
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => postJson('/v1/email', { to: `r${i}@example.com`, subject: 's', text: 't' }, { ...bearer(key), connection: 'close' })));
    const after = await instanceStatuses();
    const statuses = responses.map((r) => r.status);
    // The probe in liveKey went to /v1/fax (404): not counted, it never reached the key's rate.
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    // Both instances answered some of them: a per-instance limit would have let up to 20 through.
    const served = ['0', '1'].filter((instance) => (after.get(instance) ?? 0) > (before.get(instance) ?? 0));
    expect(served).toEqual(['0', '1']);

    const accepted = responses.find((r) => r.status === 202)!;
    expect(accepted.headers.get('ratelimit-limit')).toBe('10');
    expect(Number(accepted.headers.get('ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.body).toEqual({ error: 'rate_limited', scope: 'key' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-limit')).toBe('10');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
  });

  test('SMS to one recipient are limited across keys and instances; other recipients are not affected', async () => {
    const key = await liveKey({ name: 'counted', channels: ['sms'], rate: 1000, burst: 1000, recipientLimit: true });
    const to = '+14155550142';
    const responses = await Promise.all(Array.from({ length: RECIPIENT_MAX + 3 }, () => postJson('/v1/sms', sms(to), { ...bearer(key), connection: 'close' })));
    expect(responses.filter((r) => r.status === 202)).toHaveLength(RECIPIENT_MAX);
    const refused = responses.filter((r) => r.status === 429);
    expect(refused).toHaveLength(3);
    expect(refused[0]!.body).toEqual({ error: 'rate_limited', scope: 'recipient' });
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await postJson('/v1/sms', sms('+14155550143'), bearer(key))).status).toBe(202);
  });
});

/** http_requests_total answered on /v1/email per app instance, from the ops listener. */
async function instanceStatuses(): Promise<Map<string, number>> {
  const text = await (await fetch(`${APP_OPS}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^http_requests_total\{[^}]*route="\/v1\/email"[^}]*app_instance="(\d+)"[^}]*\} (\d+)/gm)) {
    counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return counts;
}

describe('SMS destinations (SMS pumping)', () => {
  test.each([
    ['a US premium-rate number', '+19005550100', 'number_type_not_allowed'],
    ['a US toll-free number', '+18005550100', 'number_type_not_allowed'],
    ['a UK fixed line', '+442071838750', 'number_type_not_allowed'],
    ['a UK premium-rate number', '+448712345678', 'number_type_not_allowed'],
    ['a mobile in a country not enabled', '+23270123456', 'country_not_allowed'],
    ['a number no plan has', '+882123456789', 'number_invalid'],
  ])('%s is a 400 naming why', async (_name, to, code) => {
    const response = await postJson('/v1/sms', sms(to));
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'validation_failed', details: [{ field: 'to', code }] });
  });

  test.each([
    ['a US number (fixed line or mobile: the plan cannot tell)', '+14155550100'],
    ['a French mobile', '+33612345678'],
    ['the sandbox test range, allowed by SMS_ALLOW_NUMBER_PREFIXES', '+15005550001'],
  ])('%s is accepted', async (_name, to) => {
    expect((await postJson('/v1/sms', sms(to))).status).toBe(202);
  });
});

describe('hostile input', () => {
  const deep = (depth: number) => JSON.parse(`{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`) as unknown;

  test('deeply nested data (the body that used to crash an instance) is a 400 alone; its group-commit batch is accepted', async () => {
    const hostile = `{"recipient":"u","title":"t","body":"b","data":{"a":${'['.repeat(45_000)}${']'.repeat(45_000)}}}`;
    expect(hostile.length).toBeLessThan(100_000);
    const responses = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => postJson('/v1/notifications', { recipient: `batch-${i}`, title: 't', body: 'b', data: { i } })),
      postJson('/v1/notifications', hostile),
      ...Array.from({ length: 20 }, (_, i) => postJson('/v1/notifications', { recipient: `batch-b-${i}`, title: 't', body: 'b' })),
    ]);
    const statuses = responses.map((r) => r.status);
    expect(statuses[20]).toBe(400);
    expect(responses[20]!.body).toMatchObject({ details: [{ field: 'data', code: 'too_deep' }] });
    expect(statuses.filter((s) => s === 202)).toHaveLength(40);
  });

  test.each([
    ['nested deeper than 8 levels', { recipient: 'u', title: 't', body: 'b', data: deep(9) }, 'too_deep'],
    ['a __proto__ key', JSON.parse('{"recipient":"u","title":"t","body":"b","data":{"x":{"__proto__":{"admin":true}}}}'), 'forbidden_key'],
    ['a constructor key', { recipient: 'u', title: 't', body: 'b', data: { constructor: { prototype: 1 } } }, 'forbidden_key'],
    ['too many values', { recipient: 'u', title: 't', body: 'b', data: { list: Array.from({ length: 3000 }, () => 0) } }, 'too_many_values'],
    ['more than 16 kB', { recipient: 'u', title: 't', body: 'b', data: { text: 'x'.repeat(20_000) } }, 'too_large'],
  ])('notification data %s is a 400 naming why', async (_name, body, code) => {
    const response = await postJson('/v1/notifications', body);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'validation_failed', details: [{ field: 'data', code }] });
  });

  test.each([['CR LF', 'Hi\r\nBcc: victim@example.com'], ['LF', 'Hi\nBcc: x@example.com'], ['NUL', 'Hi\u0000']])(
    'an e-mail subject with %s (header injection) is a 400',
    async (_name, subject) => {
      const response = await postJson('/v1/email', { to: 'a@example.com', subject, text: 't' });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ details: [{ field: 'subject', code: 'header_injection' }] });
    },
  );

  test('an address with CR LF is a 400', async () => {
    expect((await postJson('/v1/email', { to: 'a@example.com\r\nBcc: b@example.com', subject: 's', text: 't' })).status).toBe(400);
  });

  test.each(['gzip', 'deflate', 'br', 'x-unknown'])('a body with Content-Encoding %s is a 415', async (encoding) => {
    const body = gzipSync(JSON.stringify(sms()));
    const response = await fetch(`${APP}/v1/sms`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding, ...authHeader() }, body });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: 'unsupported_media_type' });
  });

  test('a charset other than UTF-8 is a 415; invalid UTF-8 is decoded with replacement characters, never a crash', async () => {
    const latin = await fetch(`${APP}/v1/sms`, { method: 'POST', headers: { 'content-type': 'application/json; charset=latin1', ...authHeader() }, body: JSON.stringify(sms()) });
    expect(latin.status).toBe(415);
    const invalid = Buffer.concat([Buffer.from('{"to":"+14155550100","body":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]);
    const response = await fetch(`${APP}/v1/sms`, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeader() }, body: invalid });
    expect(response.status).toBe(202);
  });

  test('no process was restarted by any of the above', () => {
    expect(servicePids(stack)).toEqual(pidsAtStart);
    expect(stack.output()).not.toMatch(/exited with code/);
  });
});

describe('ops listener', () => {
  test('/metrics is served on OPS_PORT only; /healthz and /readyz answer on both ports', async () => {
    expect(await httpStatus(`${APP_OPS}/metrics`)).toBe(200);
    expect(await httpStatus(`${APP}/metrics`)).toBe(404);
    for (const base of [APP, APP_OPS]) {
      expect(await httpStatus(`${base}/healthz`)).toBe(200);
      expect(await httpStatus(`${base}/readyz`)).toBe(200);
    }
  });
});
