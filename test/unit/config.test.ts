import { ConfigError, loadConfig } from '../../services/shared/config/load-config';
import { workerConfigSchema } from '../../services/shared/worker/worker-config';
import { appConfigSchema } from '../../services/app/app-config';
import { backoffDelayMs, RetrySchedule } from '../../services/shared/messaging/backoff';

const worker = workerConfigSchema({ amqpUser: 'relay-sms-worker', metricsPort: 9101 });

describe('config is validated at boot and names the bad variable', () => {
  test('defaults give a working native setup', () => {
    expect(loadConfig(worker, {})).toMatchObject({
      AMQP_URL: 'amqp://relay-sms-worker:relay-sms-worker@127.0.0.1:5673/relay',
      METRICS_PORT: 9101,
      PREFETCH: 50,
      RETRY_DELAYS: ['1s', '5s', '30s', '2m'],
    });
    expect(loadConfig(appConfigSchema, {})).toMatchObject({ PORT: 8080, PUBLISH_MAX_IN_FLIGHT: 10_000, PUBLISH_TIMEOUT_MS: 5000 });
  });

  test('a retry delay without a delay queue is refused, naming RETRY_DELAYS and the tiers that exist', () => {
    expect(() => loadConfig(worker, { RETRY_DELAYS: '1s,3s' })).toThrow(ConfigError);
    expect(() => loadConfig(worker, { RETRY_DELAYS: '1s,3s' })).toThrow(/RETRY_DELAYS: unknown delay tier "3s"; available: 1s, 5s, 30s, 2m/);
  });

  test('AMQP_URL may list several broker nodes; a list with a bad item is refused, naming AMQP_URL', () => {
    const nodes = 'amqp://relay-app:relay-app@10.0.0.1:5672/relay,10.0.0.2:5672,10.0.0.3:5672';
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
