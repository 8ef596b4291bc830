import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Express } from 'express';
import twilio from 'twilio';
import { API_ROUTES, expressPath } from '../../services/app/api/routes';
import { DOCS_ASSETS_PATH } from '../../services/app/http/api-docs-routes';
import { createApp, type AppDeps } from '../../services/app/server';
import { addTestKey, securityEnv, testApiKey } from '../support/api-keys';
import { amqpUrl, purgeAllQueues } from '../support/broker';
import { closedPort } from '../support/local-servers';
import { testLogger } from '../support/messaging';
import { OpenApiChecker, validateDocument, type Answer } from '../support/openapi-check';
import { startService, stopAll } from '../support/processes';
import { waitReady } from '../support/stack';
import { waitFor } from '../support/wait';

// The compiled app, three times, on ports of their own (so this file runs beside a native stack): `main` on the
// private broker with in-process rate limits; `noBroker` whose broker is a closed port (503 broker_unavailable);
// `noLimiter` with RATE_LIMIT_STORE=pm2 and a LIMITS_SOCKET nothing listens on, as when app-limits is down or
// restarting (503 rate_limiter_unavailable). Each request below provokes one answer; each answer is checked against
// the /openapi.json the app serves, and every status the description lists must be produced by some request here.
const PORTS = { main: 18410, noBroker: 18412, noLimiter: 18414 } as const;
type Target = keyof typeof PORTS;
const base = (target: Target) => `http://127.0.0.1:${PORTS[target]}`;
const appEnv = (target: Target) => ({
  ...securityEnv(),
  PORT: String(PORTS[target]),
  OPS_PORT: String(PORTS[target] + 1),
  HOST: '127.0.0.1',
  OPS_HOST: '127.0.0.1',
  AMQP_URL: amqpUrl('relay-app'),
  SMS_RECIPIENT_MAX: '1',
  LOG_LEVEL: 'fatal',
});

const keys = { main: '', emailOnly: '', smsOnly: '', tiny: '', perRecipient: '' };

beforeAll(async () => {
  await purgeAllQueues();
  keys.main = testApiKey();
  keys.emailOnly = addTestKey({ name: 'openapi-email-only', channels: ['email'], rate: 1000, burst: 1000 });
  keys.smsOnly = addTestKey({ name: 'openapi-sms-only', channels: ['sms'], rate: 1000, burst: 1000 });
  // One message per 1000 s: the first request passes, every later one is over the key's rate.
  keys.tiny = addTestKey({ name: 'openapi-tiny', channels: ['sms', 'email', 'notif'], rate: 0.001, burst: 1 });
  keys.perRecipient = addTestKey({ name: 'openapi-per-recipient', channels: ['sms'], rate: 1000, burst: 1000, recipientLimit: true });
  // Its start waits up to 10 s for the counter that never answers (RateLimits.warmUp): started first.
  startService('app', { ...appEnv('noLimiter'), RATE_LIMIT_STORE: 'pm2', LIMITS_SOCKET: path.join(os.tmpdir(), `relay-openapi-no-limits-${process.pid}.sock`) });
  startService('app', appEnv('main'));
  // Its status database is a closed port too (503 status_unavailable).
  startService('app', {
    ...appEnv('noBroker'),
    AMQP_URL: `amqp://relay-app:relay-app@127.0.0.1:${await closedPort()}/relay`,
    READY_TIMEOUT_MS: '200',
    DATABASE_URL: `postgres://relay@127.0.0.1:${await closedPort()}/relay`,
  });
  // The status service records the `queued` of the message whose status the GET cases read.
  const statusMetricsPort = await closedPort();
  startService('status-service', { AMQP_URL: amqpUrl('relay-status'), METRICS_PORT: String(statusMetricsPort), LOG_LEVEL: 'fatal' });
  await waitReady([`${base('main')}/readyz`, `${base('noBroker')}/healthz`, `${base('noLimiter')}/readyz`, `http://127.0.0.1:${statusMetricsPort}/readyz`], 60_000);
}, 90_000);

afterAll(async () => {
  await stopAll();
  await purgeAllQueues();
});

interface Case {
  target?: Target;
  /** Which key: none sends no Authorization header; a string is sent as the header itself. */
  key?: keyof typeof keys | 'none' | { authorization: string };
  method?: 'GET' | 'POST';
  /** `{sent}` stands for the id of a message this test sent and the status service recorded. */
  path: string;
  /** The path template of the description, when `path` is not one (ids, query strings). */
  template?: string;
  body?: unknown;
  headers?: Record<string, string>;
  expect: number;
}

async function send(request: Case): Promise<Answer> {
  const key = request.key ?? 'main';
  const authorization = key === 'none' ? {} : typeof key === 'object' ? key : { authorization: `Bearer ${keys[key]}` };
  const method = request.method ?? 'POST';
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) || typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  const response = await fetch(`${base(request.target ?? 'main')}${request.path.replace('{sent}', sentId)}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...authorization, ...request.headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const contentType = response.headers.get('content-type') ?? '';
  const text = await response.text();
  return { method, path: request.template ?? request.path, status: response.status, headers: response.headers, contentType, body: contentType.startsWith('application/json') ? JSON.parse(text) : text };
}

const sms = { to: '+14155550100', body: 'openapi test' };
const email = { to: 'someone@example.com', subject: 'openapi test', text: 'hello' };
const notification = { recipient: 'device-1', title: 'openapi test', body: 'hello', data: { a: [1, 2] } };
const valid: Record<string, unknown> = { '/v1/sms': sms, '/v1/email': email, '/v1/notifications': notification, '/v1/batch': { messages: [{ channel: 'sms', ...sms }, { channel: 'notif', ...notification }] } };
const invalid: Record<string, unknown> = { '/v1/sms': { to: '555', body: '' }, '/v1/email': { to: 'x', subject: 'a\r\nBcc: b' }, '/v1/notifications': { recipient: 'r', title: 't', body: 'b', data: [] }, '/v1/batch': { messages: [{ channel: 'fax' }] } };
const bigger = (limit: number) => JSON.stringify({ to: '+14155550100', body: 'x'.repeat(limit) });
/** A key that is only allowed another channel than the route's. */
const otherChannelKey = (route: string) => (route === '/v1/sms' ? 'emailOnly' : 'smsOnly');
const batchOf = (channel: string, fields: object) => ({ messages: [{ channel, ...fields }] });

// Twilio's status callback, signed as Twilio signs it (the app's PUBLIC_BASE_URL default and the sandbox token).
const CALLBACK = '/v1/callbacks/twilio';
const FORM = 'application/x-www-form-urlencoded';
const callbackPath = `${CALLBACK}?relay_id=00000000-0000-4000-8000-000000000001`;
const callbackForm = { AccountSid: 'ACsandbox0000000000000000000000000', MessageSid: 'SM0123456789abcdef0123456789abcdef', MessageStatus: 'delivered', To: '+14155550100' };
const callbackBody = new URLSearchParams(callbackForm).toString();
const signed = (pathAndQuery: string, form: Record<string, string>) => ({
  'content-type': FORM,
  'x-twilio-signature': twilio.getExpectedTwilioSignature('sandbox-token', `http://127.0.0.1:8080${pathAndQuery}`, form),
});

const sendRoutes = ['/v1/sms', '/v1/email', '/v1/notifications', '/v1/batch'];
const cases: Array<[string, Case]> = [
  ...sendRoutes.flatMap((route): Array<[string, Case]> => [
    [`${route} accepted`, { path: route, body: valid[route], expect: 202 }],
    [`${route} invalid fields`, { path: route, body: invalid[route], expect: 400 }],
    [`${route} not JSON`, { path: route, body: '{"to":', expect: 400 }],
    [`${route} without a key`, { path: route, key: 'none', body: valid[route], expect: 401 }],
    [`${route} with an unknown key`, { path: route, key: { authorization: 'Bearer rk_unknown' }, body: valid[route], expect: 401 }],
    [`${route} another channel's key`, { path: route, key: otherChannelKey(route), body: route === '/v1/batch' ? batchOf('email', email) : valid[route], expect: 403 }],
    [`${route} too large`, { path: route, body: bigger(route === '/v1/batch' ? 1_100_000 : 110_000), expect: 413 }],
    [`${route} as text/plain`, { path: route, body: JSON.stringify(valid[route]), headers: { 'content-type': 'text/plain' }, expect: 415 }],
    [`${route} gzipped`, { path: route, body: gzipSync(JSON.stringify(valid[route])), headers: { 'content-encoding': 'gzip' }, expect: 415 }],
    [`${route} in latin1`, { path: route, body: JSON.stringify(valid[route]), headers: { 'content-type': 'application/json; charset=iso-8859-1' }, expect: 415 }],
    [`${route} over the key's rate`, { path: route, key: 'tiny', body: valid[route], expect: 429 }],
    [`${route} with the broker away`, { target: 'noBroker', path: route, body: valid[route], expect: 503 }],
    [`${route} with the rate-limit counter away`, { target: 'noLimiter', path: route, body: valid[route], expect: 503 }],
  ]),
  ['/v1/sms with an Idempotency-Key', { path: '/v1/sms', body: sms, headers: { 'idempotency-key': 'openapi-1' }, expect: 202 }],
  ['/v1/sms with a bad Idempotency-Key', { path: '/v1/sms', body: sms, headers: { 'idempotency-key': 'é' }, expect: 400 }],
  ['/v1/sms to a refused destination', { path: '/v1/sms', body: { ...sms, to: '+8613800138000' }, expect: 400 }],
  ['/v1/batch to a refused destination', { path: '/v1/batch', body: batchOf('sms', { ...sms, to: '+8613800138000' }), expect: 400 }],
  ['/v1/sms first to a recipient', { path: '/v1/sms', key: 'perRecipient', body: { ...sms, to: '+14155550199' }, expect: 202 }],
  ['/v1/sms again to the recipient', { path: '/v1/sms', key: 'perRecipient', body: { ...sms, to: '+14155550199' }, expect: 429 }],
  ['/v1/batch again to the recipient', { path: '/v1/batch', key: 'perRecipient', body: batchOf('sms', { ...sms, to: '+14155550199' }), expect: 429 }],
  ['/v1/messages/{id} of a message the key sent', { method: 'GET', path: '/v1/messages/{sent}', template: '/v1/messages/{id}', expect: 200 }],
  ['/v1/messages/{id} of another key', { method: 'GET', path: '/v1/messages/{sent}', template: '/v1/messages/{id}', key: 'smsOnly', expect: 404 }],
  ['/v1/messages/{id} unknown', { method: 'GET', path: '/v1/messages/00000000-0000-4000-8000-000000000000', template: '/v1/messages/{id}', expect: 404 }],
  ['/v1/messages/{id} without a key', { method: 'GET', path: '/v1/messages/{sent}', template: '/v1/messages/{id}', key: 'none', expect: 401 }],
  ['/v1/messages/{id} with the database away', { target: 'noBroker', method: 'GET', path: '/v1/messages/{sent}', template: '/v1/messages/{id}', expect: 503 }],
  ['/v1/messages', { method: 'GET', path: '/v1/messages?limit=2&channel=sms', template: '/v1/messages', expect: 200 }],
  ['/v1/messages with a bad limit', { method: 'GET', path: '/v1/messages?limit=0', template: '/v1/messages', expect: 400 }],
  ['/v1/messages without a key', { method: 'GET', path: '/v1/messages', key: 'none', expect: 401 }],
  ['/v1/messages with the database away', { target: 'noBroker', method: 'GET', path: '/v1/messages', expect: 503 }],
  ['/v1/callbacks/twilio signed', { path: callbackPath, template: CALLBACK, key: 'none', body: callbackBody, headers: signed(callbackPath, callbackForm), expect: 204 }],
  ['/v1/callbacks/twilio signed, the broker away', { target: 'noBroker', path: callbackPath, template: CALLBACK, key: 'none', body: callbackBody, headers: signed(callbackPath, callbackForm), expect: 503 }],
  ['/v1/callbacks/twilio badly signed', { path: callbackPath, template: CALLBACK, key: 'none', body: callbackBody, headers: { ...signed(callbackPath, callbackForm), 'x-twilio-signature': 'forged' }, expect: 403 }],
  ['/v1/callbacks/twilio without our id', { path: CALLBACK, key: 'none', body: callbackBody, headers: signed(CALLBACK, callbackForm), expect: 400 }],
  ['/v1/callbacks/twilio too large', { path: callbackPath, template: CALLBACK, key: 'none', body: `${callbackBody}&Body=${'x'.repeat(20_000)}`, headers: { 'content-type': FORM }, expect: 413 }],
  ['/v1/callbacks/twilio as JSON', { path: callbackPath, template: CALLBACK, key: 'none', body: callbackForm, expect: 415 }],
  ['/healthz', { method: 'GET', path: '/healthz', key: 'none', expect: 200 }],
  ['/readyz', { method: 'GET', path: '/readyz', key: 'none', expect: 200 }],
  ['/readyz with the broker away', { target: 'noBroker', method: 'GET', path: '/readyz', key: 'none', expect: 503 }],
  ['/openapi.json', { method: 'GET', path: '/openapi.json', key: 'none', expect: 200 }],
  ['/docs', { method: 'GET', path: '/docs', key: 'none', expect: 200 }],
];

let sentId = '';
let checker: OpenApiChecker;
let document: any;
const produced = new Set<string>();

describe('the OpenAPI description', () => {
  beforeAll(async () => {
    const response = await fetch(`${base('main')}/openapi.json`);
    document = await response.json();
    checker = new OpenApiChecker(document);
    // The tiny key's one message: every later request with it is over its rate.
    expect((await send({ path: '/v1/sms', key: 'tiny', body: sms, expect: 202 })).status).toBe(202);
    const sent = await send({ path: '/v1/sms', body: sms, expect: 202 });
    sentId = (sent.body as { id: string }).id;
    await waitFor(`the status of ${sentId} recorded`, async () => ((await send({ method: 'GET', path: '/v1/messages/{sent}', expect: 200 })).status === 200 ? true : undefined), 20_000, 200);
  });

  test('is served without an API key and is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0');
    const report = await validateDocument(document);
    expect(report.errors ?? []).toEqual([]);
    expect(report.valid).toBe(true);
  });

  test.each(cases)('%s: the real answer is the described one', async (_name, request) => {
    const answer = await send(request);
    expect(answer.status).toBe(request.expect);
    produced.add(`${answer.method} ${answer.path} ${answer.status}`);
    expect(checker.problems(answer)).toEqual([]);
    if (answer.status === 202) expect(checker.requestProblems(answer.method, answer.path, request.body)).toEqual([]);
  });

  test('every status it lists for every route was produced by a real request above, and nothing else', () => {
    expect([...produced].sort()).toEqual(checker.described().sort());
  });

  test('every route the app mounts is described (the reference page assets aside)', () => {
    // The app is only built, never sent a request: its routes are read from Express's router.
    const app = createApp({ logger: testLogger, twilioCallbacks: { authTokens: ['t'], publicBaseUrl: 'http://127.0.0.1:8080', publish: async () => undefined } } as unknown as AppDeps);
    const mounted = mountedRoutes(app).filter((route) => !route.endsWith(` ${DOCS_ASSETS_PATH}`));
    const described = Object.values(API_ROUTES).map((route) => `${route.method.toUpperCase()} ${expressPath(route)}`);
    expect(mounted.sort()).toEqual(described.sort());
  });
});

/** `METHOD path` of every route in an Express 5 app, routers included. */
function mountedRoutes(app: Express): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) return Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${layer.route?.path}`);
      return layer.handle?.stack ? walk(layer.handle.stack) : [];
    });
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
}
