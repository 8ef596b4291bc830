import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import twilio from 'twilio';
import { purgeAllQueues } from '../support/broker';
import { testApiKey } from '../support/api-keys';
import { servicePids, startApiPair, stopAll, type RunningProcess } from '../support/processes';
import { APP, APP_OPS, httpStatus } from '../support/stack';

/**
 * Property: whatever body and headers a client sends to a /v1 route, the app answers 202 or a 4xx, within the
 * request timeout, and no process of the stack dies or restarts. Each run sends GROUP requests at once, so hostile
 * and valid bodies share group-commit batches; RUNS × GROUP requests per route go to the real app (two PM2
 * instances and app-limits) on the private broker. A failure prints fast-check's seed and the shrunk requests.
 */
const RUNS = 110;
const GROUP = 10;
const ROUTES = ['/v1/sms', '/v1/email', '/v1/notifications'] as const;
type Route = (typeof ROUTES)[number];

let stack: RunningProcess;
let pidsAtStart: string[];
const sent = new Map<Route, number>();

beforeAll(async () => {
  await purgeAllQueues();
  ({ stack, pids: pidsAtStart } = await startApiPair({ LOG_LEVEL: 'fatal' }));
}, 90_000);

afterAll(async () => {
  await stopAll();
  await purgeAllQueues();
});

// --- bodies -----------------------------------------------------------------------------------------------------
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }), // any code point, lone surrogates included
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.constantFrom('\r\nBcc: victim@example.com', '\u0000', '\u2028\u2029', '\ud800', '\udfff\ud800', '%0d%0a', '${jndi:x}', '<script>', '../../etc/passwd', ''),
  fc.string({ minLength: 1000, maxLength: 5000 }),
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 4 }), nasty, fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2, -1e-320));
const PROTO_KEYS = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toJSON', 'hasOwnProperty', 'valueOf');

const validBody: Record<Route, fc.Arbitrary<Record<string, unknown>>> = {
  '/v1/sms': fc.record({ to: fc.integer({ min: 0, max: 9999 }).map((n) => `+1415555${String(n).padStart(4, '0')}`), body: fc.string({ minLength: 1, maxLength: 200 }) }),
  '/v1/email': fc.record({ to: fc.emailAddress(), subject: fc.string({ minLength: 1, maxLength: 100 }), text: fc.string({ minLength: 1, maxLength: 200 }) }),
  '/v1/notifications': fc.record({ recipient: fc.string({ minLength: 1, maxLength: 50 }), title: fc.string({ minLength: 1, maxLength: 50 }), body: fc.string({ minLength: 1, maxLength: 200 }), data: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }) }),
};

/** JSON text nested `depth` levels deep, up to ~90 kB: the class that took an instance down. */
const deepText = fc.tuple(fc.integer({ min: 1, max: 45_000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) =>
  open === '[' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(Math.min(depth, 16_000))}1${'}'.repeat(Math.min(depth, 16_000))}`,
);

function bodyFor(route: Route): fc.Arbitrary<Buffer> {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null');
  return fc.oneof(
    validBody[route].map(json),
    // one field replaced by anything
    fc.tuple(validBody[route], fc.string({ maxLength: 12 }), anyJson).map(([body, key, value]) => json({ ...body, [Object.keys(body)[key.length % Object.keys(body).length]!]: value })),
    // every field replaced by nasty strings
    fc.tuple(validBody[route], nasty).map(([body, value]) => json(Object.fromEntries(Object.keys(body).map((k) => [k, value])))),
    // prototype-pollution and odd keys, at the top and inside data
    fc.tuple(validBody[route], PROTO_KEYS, anyJson).map(([body, key, value]) => {
      const text = JSON.stringify(body);
      const inner = `{${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}}`;
      return Buffer.from(`${text.slice(0, -1)},${JSON.stringify(key)}:${inner},"data":${inner}}`);
    }),
    // deep nesting in data, or as the whole body
    fc.tuple(validBody[route], deepText).map(([body, deep]) => Buffer.from(`${JSON.stringify(body).slice(0, -1)},"data":{"x":${deep}}}`)),
    deepText.map((deep) => Buffer.from(deep)),
    // huge numbers and number-like text
    fc.tuple(validBody[route], fc.constantFrom('1e999999', '-1e999999', '123456789012345678901234567890', '0x10', 'NaN', '1.7976931348623157e309')).map(([body, n]) => Buffer.from(`${JSON.stringify(body).slice(0, -1)},"data":{"n":${n}}}`)),
    // not JSON at all: random bytes (invalid UTF-8), truncated JSON, other top-level values, duplicate keys
    fc.uint8Array({ maxLength: 2000 }).map((bytes) => Buffer.from(bytes)),
    validBody[route].chain((body) => fc.nat({ max: JSON.stringify(body).length }).map((cut) => Buffer.from(JSON.stringify(body).slice(0, cut)))),
    fc.constantFrom('null', '[]', '"x"', '1', 'true', '{"a":1,"a":2}', '', ' ', '\ufeff{}').map((text) => Buffer.from(text)),
    fc.tuple(validBody[route], fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([body, bytes]) => {
      const text = Buffer.from(JSON.stringify(body));
      return Buffer.concat([text.subarray(0, text.length - 2), Buffer.from(bytes), text.subarray(text.length - 2)]);
    }),
    // near and over the 100 kB limit
    fc.integer({ min: 90_000, max: 140_000 }).map((size) => json({ to: 'x'.repeat(size) })),
  );
}

// --- headers ----------------------------------------------------------------------------------------------------
/** Header values fetch can send (no CR, LF, NUL): printable ASCII and Latin-1. */
const headerValue = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength: 300 });
const GZIP_BOMB = gzipSync(Buffer.alloc(20_000_000)); // 20 MB of zeros in about 20 kB

interface Hostile {
  headers: Record<string, string>;
  body: Buffer;
}

function requestFor(route: Route): fc.Arbitrary<Hostile> {
  return fc
    .record({
      body: bodyFor(route),
      contentType: fc.oneof(
        { weight: 6, arbitrary: fc.constant('application/json') },
        { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-16', 'application/json; charset=latin1', 'application/json; charset=utf-8; x=y', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json;;;', 'application/vnd.api+json') },
        { weight: 1, arbitrary: headerValue },
      ),
      encoding: fc.option(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'gzip, gzip', 'x-bomb', 'GZIP'), { freq: 6 }),
      bomb: fc.boolean(),
      auth: fc.oneof({ weight: 8, arbitrary: fc.constant('valid') }, { weight: 1, arbitrary: fc.constant('missing') }, { weight: 1, arbitrary: headerValue.map((v) => `Bearer ${v}`) }),
      requestId: fc.option(headerValue, { freq: 3 }),
      extra: fc.dictionary(fc.constantFrom('x-forwarded-for', 'accept', 'accept-charset', 'x-http-method-override', 'transfer-encoding-x', 'cookie', 'origin', 'x-a'), headerValue, { maxKeys: 3 }),
    })
    .map(({ body, contentType, encoding, bomb, auth, requestId, extra }) => {
      const headers: Record<string, string> = { ...extra, 'content-type': contentType };
      if (auth === 'valid') headers.authorization = `Bearer ${testApiKey()}`;
      else if (auth !== 'missing') headers.authorization = auth;
      if (requestId !== null) headers['x-request-id'] = requestId;
      let payload = body;
      if (encoding !== null) {
        headers['content-encoding'] = encoding;
        payload = bomb && encoding.toLowerCase().includes('gzip') ? GZIP_BOMB : gzipSync(body);
      }
      // A failing case prints its headers and the start of its body, not 90 kB of bytes.
      const summary = () => `${JSON.stringify(headers)} ${payload.length} bytes: ${JSON.stringify(payload.subarray(0, 160).toString('latin1'))}`;
      return { headers, body: payload, [fc.toStringMethod]: summary };
    });
}

async function send(route: Route, request: Hostile): Promise<number> {
  const response = await fetch(`${APP}${route}`, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(15_000) });
  await response.arrayBuffer();
  return response.status;
}

// --- Twilio status callbacks (public, form-encoded, authenticated by X-Twilio-Signature) ------------------------
const CALLBACK_PATH = '/v1/callbacks/twilio';
/** The app under test checks signatures with its default token and public URL (services/app/app-config.ts). */
const SANDBOX_TOKEN = 'sandbox-token';
const twilioField = fc.constantFrom('MessageSid', 'MessageStatus', 'ErrorCode', 'AccountSid', 'To', 'From', 'SmsSid', '__proto__', 'constructor', 'toString');
const twilioValue = fc.oneof(nasty, fc.constantFrom('delivered', 'sent', 'undelivered', 'failed', 'queued', `SM${'a'.repeat(32)}`, '30003', '-1', '1e999'));

function callbackRequest(): fc.Arbitrary<{ url: string; headers: Record<string, string>; body: Buffer }> {
  return fc
    .record({
      relayId: fc.option(fc.oneof(fc.uuid(), nasty), { freq: 5 }),
      fields: fc.dictionary(twilioField, twilioValue, { maxKeys: 8 }),
      raw: fc.option(fc.oneof(fc.uint8Array({ maxLength: 2000 }).map((bytes) => Buffer.from(bytes)), fc.integer({ min: 10_000, max: 40_000 }).map((n) => Buffer.from(`Body=${'x'.repeat(n)}`)), fc.constant(Buffer.from('a=1&a=2&MessageStatus=sent&MessageStatus=delivered'))), { freq: 4 }),
      signature: fc.oneof({ weight: 4, arbitrary: fc.constant('valid') }, { weight: 1, arbitrary: fc.constant('missing') }, { weight: 1, arbitrary: headerValue }),
      contentType: fc.oneof({ weight: 6, arbitrary: fc.constant('application/x-www-form-urlencoded') }, { weight: 1, arbitrary: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded; charset=utf-16', 'multipart/form-data; boundary=x') }, { weight: 1, arbitrary: headerValue }),
    })
    .map(({ relayId, fields, raw, signature, contentType }) => {
      // URLSearchParams, not encodeURIComponent: it encodes lone surrogates (as U+FFFD) instead of throwing.
      const query = relayId === null ? '' : `?${new URLSearchParams({ relay_id: relayId }).toString()}`;
      const url = `${APP}${CALLBACK_PATH}${query}`;
      const params = Object.fromEntries(Object.entries(fields));
      const headers: Record<string, string> = { 'content-type': contentType };
      if (signature === 'valid') headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(SANDBOX_TOKEN, `http://127.0.0.1:8080${CALLBACK_PATH}${query}`, params);
      else if (signature !== 'missing') headers['x-twilio-signature'] = signature;
      const body = raw ?? Buffer.from(new URLSearchParams(params).toString());
      return { url, headers, body, [fc.toStringMethod]: () => `${url} ${JSON.stringify(headers)} ${JSON.stringify(body.subarray(0, 160).toString('latin1'))}` };
    });
}

describe('hostile bodies and headers (fast-check, against the running app)', () => {
  test('POST /v1/callbacks/twilio answers every generated callback with 204 or a 4xx', async () => {
    let count = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(callbackRequest(), { minLength: GROUP, maxLength: GROUP }), async (requests) => {
        const statuses = await Promise.all(
          requests.map(async (request) => {
            const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(15_000) });
            await response.arrayBuffer();
            return response.status;
          }),
        );
        count += requests.length;
        for (const status of statuses) expect(status === 204 || (status >= 400 && status < 500)).toBe(true);
      }),
      { numRuns: 60, endOnFailure: true },
    );
    expect(count).toBeGreaterThanOrEqual(600);
  }, 120_000);

  test.each(ROUTES)('POST %s answers every generated request with 202 or a 4xx', async (route) => {
    await fc.assert(
      fc.asyncProperty(fc.array(requestFor(route), { minLength: GROUP, maxLength: GROUP }), async (requests) => {
        const statuses = await Promise.all(requests.map((request) => send(route, request)));
        sent.set(route, (sent.get(route) ?? 0) + requests.length);
        for (const status of statuses) expect(status === 202 || (status >= 400 && status < 500)).toBe(true);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(sent.get(route)).toBeGreaterThanOrEqual(1000);
  }, 120_000);

  test('afterwards every process has the PID it started with and /healthz answers 200', async () => {
    expect(servicePids(stack)).toEqual(pidsAtStart);
    expect(stack.output()).not.toMatch(/exited with code/);
    expect(await httpStatus(`${APP}/healthz`)).toBe(200);
    expect(await httpStatus(`${APP_OPS}/healthz`)).toBe(200);
    expect(await httpStatus(`${APP_OPS}/readyz`)).toBe(200);
  });
});
