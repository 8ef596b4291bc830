import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brokerAccess } from '../../services/shared/config/broker-access';
import { ConfigError, loadConfig } from '../../services/shared/config/load-config';
import { workerConfigSchema } from '../../services/shared/worker/worker-config';
import { appConfigSchema } from '../../services/app/app-config';
import { limitsConfigSchema } from '../../services/app/limits/limits-config';
import { backoffDelayMs, RetrySchedule } from '../../services/shared/messaging/backoff';

const worker = workerConfigSchema({ amqpUser: 'relay-sms-worker', metricsPort: 9101 });

describe('config is validated at boot and names the bad variable', () => {
  test('defaults give a working native setup', () => {
    expect(loadConfig(worker, {})).toMatchObject({
      AMQP_URL: 'amqp://relay-sms-worker@127.0.0.1:5673/relay',
      METRICS_PORT: 9101,
      PREFETCH: 50,
      RETRY_DELAYS: ['1s', '5s', '30s', '2m'],
    });
    expect(loadConfig(appConfigSchema, {})).toMatchObject({ PORT: 8080, PUBLISH_MAX_IN_FLIGHT: 10_000, PUBLISH_TIMEOUT_MS: 5000 });
  });

  test('the app and app-limits find the same limits socket: by default in the temp folder, named after PORT', () => {
    expect(loadConfig(appConfigSchema, {}).LIMITS_SOCKET).toBe(path.join(os.tmpdir(), 'relay-app-limits-8080.sock'));
    for (const env of [{}, { PORT: '18080' }, { PORT: '18080', LIMITS_SOCKET: '' }, { LIMITS_SOCKET: '/run/relay/limits.sock' }]) {
      expect(loadConfig(limitsConfigSchema, env).LIMITS_SOCKET).toBe(loadConfig(appConfigSchema, env).LIMITS_SOCKET);
    }
    expect(() => loadConfig(limitsConfigSchema, { LIMITS_SOCKET: `/${'x'.repeat(120)}` })).toThrow(/LIMITS_SOCKET/);
  });

  test('a retry delay without a delay queue is refused, naming RETRY_DELAYS and the tiers that exist', () => {
    expect(() => loadConfig(worker, { RETRY_DELAYS: '1s,3s' })).toThrow(ConfigError);
    expect(() => loadConfig(worker, { RETRY_DELAYS: '1s,3s' })).toThrow(/RETRY_DELAYS: unknown delay tier "3s"; available: 1s, 5s, 30s, 2m/);
  });

  test('AMQP_URL may list several broker nodes; a list with a bad item is refused, naming AMQP_URL', () => {
    const nodes = 'amqp://relay-app:secret@10.0.0.1:5672/relay,10.0.0.2:5672,10.0.0.3:5672';
    expect(loadConfig(appConfigSchema, { AMQP_URL: nodes }).AMQP_URL).toBe(nodes);
    expect(() => loadConfig(appConfigSchema, { AMQP_URL: 'amqp://relay-app:secret@h1/relay,h2:port' })).toThrow(/AMQP_URL: broker URL list item 2 "h2:port"/);
    expect(() => loadConfig(worker, { AMQP_URL: 'http://relay-app:secret@h1/relay' })).toThrow('AMQP_URL: broker URL http://relay-app:***@h1/relay must start with amqp:// or amqps://');
  });

  test('a non-numeric prefetch or port is refused, naming the variable', () => {
    expect(() => loadConfig(worker, { PREFETCH: 'lots' })).toThrow(/PREFETCH/);
    expect(() => loadConfig(appConfigSchema, { PORT: '99999' })).toThrow(/PORT/);
  });
});

describe('reconnect backoff', () => {
  test('grows exponentially to its cap, with jitter in the upper half', () => {
    expect(backoffDelayMs(0, 250, 10_000, () => 0)).toBe(125);
    expect(backoffDelayMs(0, 250, 10_000, () => 1)).toBe(250);
    expect(backoffDelayMs(3, 250, 10_000, () => 1)).toBe(2000);
    expect(backoffDelayMs(20, 250, 10_000, () => 0.5)).toBe(7500);
  });
});

describe('one retry at a time (publisher reopen, consumer re-subscribe)', () => {
  test('schedule runs the retry after a backoff delay, counts the streak, and reset ends it', async () => {
    const retry = new RetrySchedule(10, 40);
    let runs = 0;
    const first = retry.schedule(() => { runs += 1; });
    expect(first).toBeGreaterThanOrEqual(5);
    expect(first).toBeLessThanOrEqual(10);
    expect(retry.pending).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, first + 20));
    expect(runs).toBe(1);
    expect(retry.pending).toBe(false);
    expect(retry.attempts).toBe(1);
    const second = retry.schedule(() => { runs += 1; });
    expect(second).toBeGreaterThanOrEqual(10);
    expect(second).toBeLessThanOrEqual(20);
    retry.reset();
    await new Promise((resolve) => setTimeout(resolve, second + 20));
    expect(runs).toBe(1); // the cancelled retry never ran
    expect(retry.attempts).toBe(0);
    expect(retry.pending).toBe(false);
  });
});

describe('broker access: the password and TLS files named by env, read at boot', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'broker-access-'));
    fs.writeFileSync(path.join(dir, 'password'), 'p@ss/word\n');
    fs.writeFileSync(path.join(dir, 'ca.pem'), 'CA');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('AMQP_PASSWORD_FILE fills in the password of every node of the list, URL-encoded', () => {
    const access = brokerAccess({ AMQP_URL: 'amqp://relay-app@h1:5672/relay,h2:5672', AMQP_PASSWORD_FILE: path.join(dir, 'password') });
    expect(access.url).toBe('amqp://relay-app:p%40ss%2Fword@h1:5672/relay,amqp://relay-app:p%40ss%2Fword@h2:5672/relay');
    expect(access.socketOptions).toEqual({});
  });

  test('a password in the URL is kept; a URL with none and no file is refused at boot, naming AMQP_PASSWORD_FILE', () => {
    expect(brokerAccess({ AMQP_URL: 'amqp://u:inline@h1/relay', AMQP_PASSWORD_FILE: path.join(dir, 'password') }).url).toBe('amqp://u:inline@h1/relay');
    expect(() => brokerAccess(loadConfig(worker, {}))).toThrow(/AMQP_URL amqp:\/\/relay-sms-worker@127\.0\.0\.1:5673\/relay carries no user and password: set AMQP_PASSWORD_FILE/);
  });

  test('a missing file is refused with the variable and the path', () => {
    expect(() => brokerAccess({ AMQP_URL: 'amqp://u@h/relay', AMQP_PASSWORD_FILE: path.join(dir, 'nope') })).toThrow(ConfigError);
    expect(() => brokerAccess({ AMQP_URL: 'amqps://u:p@h/relay', AMQP_TLS_CA_FILE: path.join(dir, 'missing-ca.pem') }))
      .toThrow(`AMQP_TLS_CA_FILE: cannot read ${path.join(dir, 'missing-ca.pem')} (ENOENT)`);
  });

  test('TLS settings need amqps:// URLs, and a client certificate needs its key', () => {
    expect(() => brokerAccess({ AMQP_URL: 'amqps://u:p@h1/relay,amqp://u:p@h2/relay', AMQP_TLS_CA_FILE: path.join(dir, 'ca.pem') }))
      .toThrow('AMQP_TLS_CA_FILE set but AMQP_URL amqp://u:***@h2/relay is not amqps://');
    expect(() => brokerAccess({ AMQP_URL: 'amqps://u:p@h1/relay', AMQP_TLS_CERT_FILE: path.join(dir, 'ca.pem') })).toThrow(/AMQP_TLS_CERT_FILE and AMQP_TLS_KEY_FILE go together/);
    expect(brokerAccess({ AMQP_URL: 'amqps://u:p@h1/relay', AMQP_TLS_CA_FILE: path.join(dir, 'ca.pem'), AMQP_TLS_SERVERNAME: 'rabbitmq' }).socketOptions)
      .toEqual({ ca: 'CA', servername: 'rabbitmq' });
  });

  test('empty TLS variables (compose passes ${VAR:-}) count as unset', () => {
    expect(loadConfig(appConfigSchema, { AMQP_URL: 'amqp://u:p@h/relay', AMQP_TLS_CA_FILE: '' }).AMQP_TLS_CA_FILE).toBeUndefined();
  });
});
