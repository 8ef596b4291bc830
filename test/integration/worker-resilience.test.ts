import * as amqp from 'amqplib';
import { createEnvelope, encodeEnvelope } from '../../services/shared/envelope/envelope';
import { amqpUrl, importDefinitions, management, purgeAllQueues, queueDepth } from '../support/broker';
import { closedPort } from '../support/local-servers';
import { startService, stopAll, type RunningProcess } from '../support/processes';
import { configureFaults, httpStatus, sandboxMessages, waitReady } from '../support/stack';
import { sleep, waitFor } from '../support/wait';

// The real sms-worker and sandbox, on free ports of their own (no fixed port, so no stack lock needed).
let sandbox: string;
let metrics: string;
let worker: RunningProcess;

beforeAll(async () => {
  await purgeAllQueues();
  const [httpPort, smtpPort, metricsPort] = [await closedPort(), await closedPort(), await closedPort()];
  sandbox = `http://127.0.0.1:${httpPort}`;
  metrics = `http://127.0.0.1:${metricsPort}`;
  startService('sandbox', { SANDBOX_HTTP_PORT: String(httpPort), SANDBOX_SMTP_PORT: String(smtpPort), SANDBOX_HOST: '127.0.0.1' });
  await waitReady([`${sandbox}/healthz`], 30_000);
  worker = startService('sms-worker', {
    AMQP_URL: amqpUrl('relay-sms-worker'),
    METRICS_PORT: String(metricsPort),
    TWILIO_API_URL: sandbox,
    RETRY_DELAYS: '1s',
    CREDENTIALS_PAUSE_MIN_MS: '1000',
    CREDENTIALS_PAUSE_MAX_MS: '4000',
    LOG_LEVEL: 'info',
  });
  await waitReady([`${metrics}/readyz`], 30_000);
}, 60_000);

afterAll(async () => {
  await stopAll();
  await importDefinitions(); // in case a test failed with relay.sms deleted
});

/** Publishes SMS envelopes to relay.messages as the app does (one per message), confirmed. */
async function acceptSms(count: number, tag: string): Promise<string[]> {
  const connection = await amqp.connect(amqpUrl('relay-app'));
  try {
    const channel = await connection.createConfirmChannel();
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const envelope = createEnvelope('sms', { to: '+14155550100', body: `${tag} ${i}` });
      channel.publish('relay.messages', 'sms', encodeEnvelope(envelope), { persistent: true, messageId: envelope.id, contentType: 'application/json' });
      ids.push(envelope.id);
    }
    await channel.waitForConfirms();
    return ids;
  } finally {
    await connection.close();
  }
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${metrics}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

async function delivered(ids: string[]): Promise<boolean> {
  const seen = new Set((await sandboxMessages('sms', sandbox)).map((m) => m.id));
  return ids.every((id) => seen.has(id));
}

test('when its queue is deleted the worker reports not ready, and consumes again once the definitions are re-imported', async () => {
  expect((await management('DELETE', '/api/queues/relay/relay.sms')).status).toBeLessThan(300);
  await waitFor('/readyz 503 after the queue was deleted', async () => ((await httpStatus(`${metrics}/readyz`)) === 503 ? true : undefined), 10_000);
  expect(await metric('worker_consuming')).toBe(0);

  await importDefinitions();
  await waitFor('/readyz 200 again', async () => ((await httpStatus(`${metrics}/readyz`)) === 200 ? true : undefined), 30_000);
  const ids = await acceptSms(3, 'after re-creation');
  await waitFor('the messages published after the re-creation delivered', async () => ((await delivered(ids)) ? true : undefined), 15_000);
  expect(await metric('worker_consuming')).toBe(1);
  expect(worker.output()).toMatch(/consumer cancelled by the broker/);
}, 60_000);

test('when the provider refuses our credentials the worker pauses, burns no attempt, dead-letters nothing, and delivers everything once they work again', async () => {
  await configureFaults({ rejectCredentials: true }, sandbox);
  const ids = await acceptSms(5, 'credentials');
  await waitFor('/readyz 503 while paused', async () => ((await httpStatus(`${metrics}/readyz`)) === 503 ? true : undefined), 10_000);
  expect(await metric('provider_credentials_rejected')).toBe(1);
  // Several pauses (1 s, 2 s, 4 s) and probes; with RETRY_DELAYS=1s an attempt used per probe would exhaust them.
  await sleep(6000);
  expect(await metric('messages_deferred_total')).toBeGreaterThanOrEqual(5);
  expect(await queueDepth('relay.sms.dead')).toBe(0);
  expect(await delivered(ids.slice(0, 1))).toBe(false);

  await configureFaults({ rejectCredentials: false }, sandbox);
  await waitFor('every message delivered once the credentials work', async () => ((await delivered(ids)) ? true : undefined), 30_000);
  await waitFor('/readyz 200 again', async () => ((await httpStatus(`${metrics}/readyz`)) === 200 ? true : undefined), 10_000);
  expect(await metric('provider_credentials_rejected')).toBe(0);
  expect(await queueDepth('relay.sms.dead')).toBe(0);
  expect(await metric('messages_processed_total{type="sms",outcome="dead_lettered"}')).toBeNaN();
}, 60_000);
