import * as amqp from 'amqplib';
import { createEnvelope, encodeEnvelope } from '../../services/shared/envelope/envelope';
import { MESSAGES_EXCHANGE } from '../../services/shared/messaging/topology';
import { SANDBOX_TWILIO_BACKUP } from '../../services/sandbox/sandbox-app';
import { amqpUrl, purgeAllQueues, queueDepth } from '../support/broker';
import { startService, stopAll, type RunningProcess } from '../support/processes';
import { sandboxMessages, waitReady, type SandboxMessage } from '../support/stack';
import { waitFor } from '../support/wait';

// Two sms-worker replicas with two providers each (the sandbox's two Twilio accounts) against the real broker,
// under a steady stream of messages: the primary is switched down, then up. Everything on ports of this test's own
// (18300-18399), so it needs neither the app nor the native stack's fixed ports.
const SANDBOX = 'http://127.0.0.1:18301';
const METRICS_PORTS = [18311, 18312, 18313];
const THRESHOLD = 5;

const workerEnv = (metricsPort: number): NodeJS.ProcessEnv => ({
  AMQP_URL: amqpUrl('relay-sms-worker'),
  METRICS_PORT: String(metricsPort),
  LOG_LEVEL: 'info',
  SMS_PROVIDERS: 'primary,backup',
  TWILIO_API_URL: SANDBOX,
  TWILIO_BACKUP_ACCOUNT_SID: SANDBOX_TWILIO_BACKUP.accountSid,
  TWILIO_BACKUP_AUTH_TOKEN: SANDBOX_TWILIO_BACKUP.authToken,
  CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
  CIRCUIT_OPEN_MS: '3000',
  RETRY_DELAYS: '1s',
});

/** A replica's value of one series (0 when absent). */
async function metric(port: number, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
const primaryCircuit = (port: number) => metric(port, 'provider_circuit_state{type="sms",provider="twilio-primary"}');
const primaryFailures = (port: number) => metric(port, 'provider_requests_total{type="sms",provider="twilio-primary",outcome="transient"}');

async function switchPrimary(state: 'up' | 'down'): Promise<void> {
  const response = await fetch(`${SANDBOX}/faults/providers/twilio-primary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state }) });
  expect(response.status).toBe(200);
}

/** Publishes SMS envelopes to relay.messages as the app does (persistent, confirmed), a few every 50 ms, tagged by phase. */
class Load {
  readonly phases = new Map<string, string[]>();
  phase = 'before';
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(private readonly channel: amqp.ConfirmChannel) {}

  start(): void {
    this.timer = setInterval(() => {
      const ids = this.phases.get(this.phase) ?? [];
      this.phases.set(this.phase, ids);
      for (let index = 0; index < 5; index += 1) {
        const envelope = createEnvelope('sms', { to: '+14155550100', body: `failover ${this.phase} ${ids.length}` });
        ids.push(envelope.id);
        this.channel.publish(MESSAGES_EXCHANGE, 'sms', encodeEnvelope(envelope), { persistent: true, messageId: envelope.id, contentType: 'application/json', timestamp: Math.floor(Date.now() / 1000) });
      }
      this.pending = this.channel.waitForConfirms();
    }, 50);
  }

  async stop(): Promise<string[]> {
    clearInterval(this.timer);
    await this.pending;
    return [...this.phases.values()].flat();
  }
}

let connection: amqp.ChannelModel;
let load: Load;
const replicas: RunningProcess[] = [];

beforeAll(async () => {
  await purgeAllQueues();
  startService('sandbox', { SANDBOX_HTTP_PORT: '18301', SANDBOX_SMTP_PORT: '18302', SANDBOX_HOST: '127.0.0.1' });
  replicas.push(startService('sms-worker', workerEnv(METRICS_PORTS[0] as number)), startService('sms-worker', workerEnv(METRICS_PORTS[1] as number)));
  await waitReady([`${SANDBOX}/healthz`, ...METRICS_PORTS.slice(0, 2).map((port) => `http://127.0.0.1:${port}/readyz`)]);
  connection = await amqp.connect(amqpUrl('relay-app'));
  load = new Load(await connection.createConfirmChannel());
}, 60_000);

afterAll(async () => {
  await load?.stop().catch(() => undefined); // a failed test leaves the stream running
  await connection?.close().catch(() => undefined);
  await stopAll();
});

test('with the primary down under load every SMS goes through the backup, both replicas hold one circuit state, a late replica learns it, and traffic returns to the primary after recovery; nothing is lost', async () => {
  const [first, second, late] = METRICS_PORTS as [number, number, number];
  load.start();
  await waitFor('traffic through the primary', async () => ((await sandboxMessages('sms', SANDBOX)).length >= 50 ? true : undefined), 20_000);

  load.phase = 'failing';
  await switchPrimary('down');
  await waitFor('both replicas to open the primary circuit', async () => ((await primaryCircuit(first)) === 2 && (await primaryCircuit(second)) === 2 ? true : undefined), 20_000);

  // A replica started during the outage asks the others and opens its circuit without failing calls of its own.
  load.phase = 'open';
  await replicas[1]?.stop('SIGTERM', 15_000);
  replicas[1] = startService('sms-worker', workerEnv(late));
  await waitReady([`http://127.0.0.1:${late}/readyz`]);
  await waitFor('the late replica to learn the open circuit', async () => ((await primaryCircuit(late)) === 2 ? true : undefined), 10_000);
  expect(await primaryFailures(late)).toBeLessThan(THRESHOLD);
  expect(replicas[1]?.output()).toMatch(/circuit state from another replica/);
  await waitFor('the late replica to deliver through the backup', async () => ((await metric(late, 'provider_requests_total{type="sms",provider="twilio-backup",outcome="delivered"}')) > 0 ? true : undefined), 10_000);

  // Whatever was published during the outage is delivered before the primary comes back (the stream goes on).
  load.phase = 'recovering';
  const outage = [...(load.phases.get('failing') ?? []), ...(load.phases.get('open') ?? [])];
  await waitFor('every message of the outage at the sandbox', async () => {
    const delivered = new Set((await sandboxMessages('sms', SANDBOX)).map((message) => message.id));
    return outage.every((id) => delivered.has(id)) ? true : undefined;
  }, 20_000);
  await switchPrimary('up');
  await waitFor('both replicas to close the primary circuit', async () => ((await primaryCircuit(first)) === 0 && (await primaryCircuit(late)) === 0 ? true : undefined), 20_000);
  load.phase = 'recovered';
  await waitFor('traffic through the primary again', async () => ((load.phases.get('recovered')?.length ?? 0) >= 100 ? true : undefined), 20_000);
  const published = await load.stop();

  // Nothing lost: every message published is at the sandbox, and no queue holds anything.
  let byId = new Map<string, SandboxMessage>();
  await waitFor('every published message at the sandbox', async () => {
    byId = new Map((await sandboxMessages('sms', SANDBOX)).map((message) => [message.id ?? '', message]));
    return published.every((id) => byId.has(id)) ? true : undefined;
  }, 30_000);
  for (const queue of ['relay.sms', 'relay.sms.dead', 'relay.retry.1s']) expect(await queueDepth(queue)).toBe(0);

  const via = (phase: string) => new Set((load.phases.get(phase) ?? []).map((id) => byId.get(id)?.personality));
  // While both circuits were open every message went to the backup; after recovery every one to the primary.
  expect(via('open')).toEqual(new Set(['twilio-backup']));
  expect(via('recovered')).toEqual(new Set(['twilio-primary']));
  // The switch happened within each attempt: no message needed the delay queues.
  for (const port of [first, late]) expect(await metric(port, 'messages_processed_total{type="sms",outcome="retried"}')).toBe(0);
}, 120_000);
