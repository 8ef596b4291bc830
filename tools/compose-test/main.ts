/**
 * `make compose-test`, the part that talks to the running containers (scripts/compose-test.sh starts the engine,
 * builds the images and calls this). Each step proves one thing against the real docker-compose.yml and prints
 * what it measured; any failure exits non-zero. The last line is the summary.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { driveLoad, type LoadResult } from '../chaos/load';
import { APP_URL, resetSandbox, SANDBOX_URL, type Channel } from '../chaos/stack-http';
import { waitFor } from '../lib/wait-for';
import { compose, containers, ENGINE, inspect, make, PROJECT, run, waitHealthy } from './compose-cli';
import { waitAllDelivered } from './delivery';
import { PROMETHEUS_URL, query, waitQuery } from './prometheus';

const ROOT = path.resolve(__dirname, path.basename(path.resolve(__dirname, '../..')) === 'dist' ? '../../..' : '../..');
const SERVICES = (process.env.SERVICES ?? 'rabbitmq app sms-worker email-worker notif-worker sandbox prometheus alertmanager postgres status-service status-webhooks').split(/\s+/);
/** Every service that consumes a queue: stopped while messages must stay queued, or while a test reads the queues. */
const CONSUMERS = ['sms-worker', 'email-worker', 'notif-worker', 'status-service', 'status-webhooks'];
const BURST = Number(process.env.COMPOSE_TEST_BURST ?? 3000);
const STOP_GRACE_S = 30; // docker-compose.yml stop_grace_period of the app
const summary: string[] = [];
/** The development key `make up` wrote (scripts/compose-secrets.sh); read once the first `make up` ran. */
let apiKey = '';
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

async function step(title: string, body: () => Promise<string>): Promise<void> {
  const started = Date.now();
  process.stdout.write(`compose-test: ${title} ...\n`);
  const detail = await body();
  process.stdout.write(`compose-test: ok  ${title}: ${detail} (${seconds(started)} s)\n`);
}

async function postOne(channel: Channel): Promise<string> {
  const route = { sms: '/v1/sms', email: '/v1/email', notif: '/v1/notifications' }[channel];
  const body = { sms: { to: '+14155550100', body: 'compose' }, email: { to: 'a@example.com', subject: 'compose', text: 'hi' }, notif: { recipient: 'user-42', title: 'compose', body: 'hi' } }[channel];
  const response = await fetch(`${APP_URL}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const answer = (await response.json()) as { id?: string; status?: string };
  if (response.status !== 202 || !answer.id || answer.status !== 'queued') throw new Error(`${route} answered ${response.status} ${JSON.stringify(answer)}`);
  return answer.id;
}

/** Delivered-count per sms-worker replica, as the compose Prometheus scraped it (keyed by target instance). */
async function smsDeliveredByReplica(): Promise<Map<string, number>> {
  const samples = await query('sum by (instance) (messages_processed_total{job="sms-worker",outcome="delivered"})');
  return new Map(samples.map((s) => [s.metric.instance!, s.value]));
}

/**
 * Stops every worker container and waits until none runs: a replica SIGKILLed earlier may be brought back by its
 * restart policy after `compose stop` looked at it, so stragglers are stopped by id.
 */
async function stopWorkers(): Promise<void> {
  // The status consumers too: the permissions test reads relay.status and relay.status.webhooks itself.
  const workers = CONSUMERS;
  await compose('stop', ...workers);
  await waitFor('every worker stopped', async () => {
    const running = (await Promise.all(workers.map((w) => containers(w)))).flat();
    if (running.length === 0) return true;
    for (const c of running) await run(ENGINE, ['stop', c.id]);
    throw new Error(`still running: ${running.map((c) => c.name).join(' ')}`);
  }, 60_000, 1000);
}

/** The Alertmanagers the compose Prometheus has discovered, once there is one. */
function waitForAlertmanager(timeoutMs: number): Promise<string> {
  return waitFor('an Alertmanager discovered by Prometheus', async () => {
    const response = await fetch(`${PROMETHEUS_URL}/api/v1/alertmanagers`);
    const body = (await response.json()) as { data?: { activeAlertmanagers?: Array<{ url: string }> } };
    const urls = body.data?.activeAlertmanagers?.map((a) => a.url) ?? [];
    return urls.length ? urls.join(', ') : undefined;
  }, timeoutMs, 1000);
}

/** A load run must have every request answered 202 in the end (503s and network errors are retried). */
function assertAllAccepted(load: LoadResult, total: number): void {
  if (load.accepted.size === total) return;
  throw new Error(`only ${load.accepted.size} of ${total} requests accepted: unexpected ${JSON.stringify(Object.fromEntries(load.unexpected))}, `
    + `gave up ${load.gaveUp}, 503s ${load.unavailable503}, network errors ${load.networkErrors}`);
}

async function main(): Promise<void> {
  const runStarted = Date.now();
  let upSeconds = '';
  const totals = { accepted: 0, delivered: 0, duplicates: 0 };
  const add = (c: { accepted: number; delivered: number; duplicates: number }) => {
    totals.accepted += c.accepted; totals.delivered += c.delivered; totals.duplicates += c.duplicates;
  };

  await step('make up: every service healthy through its own healthcheck', async () => {
    const t = Date.now();
    await make('up', { SERVICES: SERVICES.join(' ') });
    const states = await waitHealthy(SERVICES, 180_000);
    upSeconds = seconds(t);
    apiKey = fs.readFileSync(path.join(ROOT, '.run/compose/dev-api-key'), 'utf8').trim();
    // Prometheus found the Alertmanager it sends alerts to (prometheus.yml `alerting:`).
    const managers = await waitForAlertmanager(60_000);
    return `${states.size} containers healthy ${upSeconds} s after make up (${[...new Set([...states.values()].map((s) => s.split(':')[0]))].join(', ')}); Prometheus sends alerts to ${managers}; not run here: grafana, k6 (no image obtainable)`;
  });

  await step('hardened containers: read-only root, no capabilities, no new privileges, limits, instances = CPUs', async () => {
    const app = (await containers('app'))[0]!;
    const notes: string[] = [];
    for (const c of await containers()) {
      if (!['app', 'sms-worker', 'email-worker', 'notif-worker', 'sandbox', 'status-service', 'status-webhooks'].includes(c.service)) continue;
      const [readOnly, memory, pids] = (await inspect(c.id, '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}')).split(' ');
      if (readOnly !== 'true' || !(Number(memory) > 0) || !(Number(pids) > 0)) throw new Error(`${c.name}: read-only ${readOnly}, memory ${memory}, pids ${pids}`);
      // The bounding set is what cap_drop empties; NoNewPrivs is no-new-privileges. Writing the code must fail.
      const status = await run(ENGINE, ['exec', c.id, 'sh', '-c', 'grep -E "^(CapBnd|NoNewPrivs)" /proc/self/status; touch /app/x 2>/dev/null && echo writable || echo read-only']);
      if (!/CapBnd:\s+0{16}/.test(status) || !/NoNewPrivs:\s+1/.test(status) || !/read-only/.test(status)) throw new Error(`${c.name} not hardened: ${status}`);
      notes.push(c.service);
    }
    const cpus = Number(process.env.APP_CPUS ?? 2);
    const instances = await waitQuery('count(count by (app_instance) (process_start_time_seconds{job="app"}))', (s) => (s[0]?.value ?? 0) > 0, 90_000);
    if (instances[0]!.value !== cpus) throw new Error(`the app runs ${instances[0]!.value} PM2 instances with a limit of ${cpus} CPUs`);
    const cpuLimit = await inspect(app.id, '{{.HostConfig.NanoCpus}} {{.HostConfig.CpuQuota}}');
    return `${notes.length} Node containers (${[...new Set(notes)].join(', ')}): CapBnd 0, NoNewPrivs 1, root read-only, memory and pids limited; app: ${instances[0]!.value} PM2 instances for ${cpus} CPUs (limit ${cpuLimit})`;
  });

  await step('postgres: hardened, and a login with the generated password from the compose network', async () => {
    const postgres = (await containers('postgres'))[0]!;
    // Started as its own user with no capability: the bounding set is empty, the image's programs not writable.
    const status = await run(ENGINE, ['exec', postgres.id, 'sh', '-c', 'id -un; grep -E "^(CapBnd|NoNewPrivs)" /proc/self/status; touch "$(command -v postgres)" 2>/dev/null && echo writable || echo refused']);
    if (!/^postgres\n/.test(status) || !/CapBnd:\s+0{16}/.test(status) || !/NoNewPrivs:\s+1/.test(status) || !/refused/.test(status)) throw new Error(`postgres not hardened: ${status}`);
    // A one-off container on the stack's network (where the app is), with psql from the same image, logs in over TCP.
    const password = fs.readFileSync(path.join(ROOT, '.run/compose/secrets/postgres-password'), 'utf8').trim();
    const network = `${PROJECT}_relay`;
    const image = await inspect(postgres.id, '{{.Config.Image}}');
    const psql = (secret: string) => run(ENGINE, ['run', '--rm', '--network', network, '-e', `PGPASSWORD=${secret}`, '--entrypoint', 'psql', image,
      '-h', 'postgres', '-U', 'relay', '-d', 'relay', '-tAc', 'select current_user, current_database(), version()']);
    const login = (await psql(password)).trim();
    if (!/^relay\|relay\|PostgreSQL /.test(login)) throw new Error(`unexpected answer: ${login}`);
    const refused = await psql(`${password}x`).then(() => 'accepted', (error: Error) => error.message);
    if (!/password authentication failed/.test(refused)) throw new Error(`a wrong password was not refused: ${refused.slice(0, 300)}`);
    return `user postgres, CapBnd 0, NoNewPrivs 1, its binary not writable; from ${network}: ${login.split('|').slice(0, 2).join('@')} (${login.split('|')[2]!.split(' ').slice(0, 2).join(' ')}), a wrong password refused`;
  });

  await step('each channel end to end through the published app port', async () => {
    await resetSandbox();
    const ids = await Promise.all((['sms', 'email', 'notif'] as Channel[]).map(postOne));
    const count = await waitAllDelivered(ids, 30_000);
    add(count);
    return `sms, email, notif: 202 -> at the sandbox (${ids.join(', ')})`;
  });

  await step('delivery status: GET /v1/messages/{id} goes queued -> sent -> delivered, and the status webhook gets each change', async () => {
    // The sandbox's Twilio callbacks reach the app inside the network (app:8080); the status service writes
    // PostgreSQL; the dev key's status webhook points at the sandbox, which verifies its signature.
    const id = await postOne('sms');
    const message = await waitFor(`the status of ${id} delivered`, async () => {
      const response = await fetch(`${APP_URL}/v1/messages/${id}`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(10_000) });
      if (response.status !== 200) return undefined;
      const body = (await response.json()) as { status: string; events: Array<{ status: string }> };
      return body.status === 'delivered' ? body : undefined;
    }, 60_000, 500);
    const changes = await waitFor(`the status webhooks of ${id}`, async () => {
      const { webhooks } = (await (await fetch(`${SANDBOX_URL}/status-webhooks`, { signal: AbortSignal.timeout(10_000) })).json()) as { webhooks: Array<{ body: { data?: { id?: string; status?: string } } }> };
      const mine = webhooks.filter((webhook) => webhook.body.data?.id === id).map((webhook) => webhook.body.data?.status);
      return mine.includes('delivered') ? mine : undefined;
    }, 60_000, 500);
    return `${id}: ${message.events.map((event) => event.status).join(' -> ')}; status webhooks received: ${changes.join(', ')}`;
  });

  await step('the broker loaded the definitions: no guest, no committed password, each user only its own job', async () => {
    // The native permissions and credentials tests, unchanged, against the containerised broker (AMQP published on
    // loopback by the test override only), with the passwords `make up` generated (.run/compose/secrets). They
    // publish test messages into the work queues and read them back, so the workers are stopped meanwhile, as
    // they are when they run natively.
    await stopWorkers();
    const suites = ['test/integration/permissions.test.ts', 'test/integration/broker-credentials.test.ts'];
    const result = spawnSync('npx', ['jest', '--ci', ...suites], {
      cwd: ROOT,
      env: {
        ...process.env,
        RELAY_AMQP_PORT: process.env.COMPOSE_TEST_AMQP_PORT ?? '29682',
        RELAY_MGMT_PORT: process.env.RABBITMQ_MANAGEMENT_PORT ?? '15672',
        RELAY_SECRETS_DIR: path.join(ROOT, '.run/compose/secrets'),
      },
      encoding: 'utf8',
      timeout: 180_000,
    });
    const tests = /Tests:\s+(.*)/.exec(result.stderr ?? '')?.[1] ?? '?';
    if (result.status !== 0) throw new Error(`${suites.join(', ')} failed against the compose broker:\n${(result.stderr ?? '').slice(-3000)}`);
    await compose('start', ...CONSUMERS);
    await waitHealthy(SERVICES, 120_000);
    return `${suites.join(', ')}: ${tests}`;
  });

  let replicas = 0;
  await step('make scale SERVICE=sms-worker N=3: three targets in Prometheus, a burst shared by all', async () => {
    const appBefore = (await containers('app'))[0]!.id;
    await make('scale', { SERVICE: 'sms-worker', N: 3 });
    await waitHealthy(SERVICES, 120_000);
    if ((await containers('app'))[0]!.id !== appBefore) throw new Error('make scale recreated the app container');
    const up = await waitQuery('up{job="sms-worker"} == 1', (s) => s.length === 3, 150_000);
    replicas = up.length;
    const before = await smsDeliveredByReplica();
    const load = await driveLoad({ apiKey, total: BURST, concurrency: 32, flakyShare: 0, permanentShare: 0, retryForMs: 60_000, channels: ['sms'] });
    assertAllAccepted(load, BURST);
    const count = await waitAllDelivered(load.accepted.keys(), 180_000);
    add(count);
    // Every replica delivered some: the per-target counters, once Prometheus has scraped the whole burst.
    const after = await waitQuery('sum by (instance) (messages_processed_total{job="sms-worker",outcome="delivered"})',
      (s) => s.reduce((sum, x) => sum + x.value - (before.get(x.metric.instance!) ?? 0), 0) >= count.accepted, 90_000);
    const shares = after.map((s) => `${s.metric.instance}=${s.value - (before.get(s.metric.instance!) ?? 0)}`);
    if (after.length !== 3 || after.some((s) => s.value - (before.get(s.metric.instance!) ?? 0) <= 0)) throw new Error(`not every replica delivered: ${shares.join(' ')}`);
    return `3 sms-worker targets up (dns_sd_configs); ${count.accepted} sms accepted, ${count.delivered} delivered, per replica ${shares.join(' ')}; app container not recreated`;
  });

  await step('one sms-worker replica SIGKILLed in the middle of a burst: nothing lost', async () => {
    const victim = (await containers('sms-worker'))[0]!;
    let killedAt = 0;
    let killing: Promise<string> | undefined;
    const load = driveLoad({
      apiKey, total: BURST, concurrency: 32, flakyShare: 0, permanentShare: 0, retryForMs: 60_000, channels: ['sms'],
      onProgress: (settled) => {
        if (settled === Math.floor(BURST / 3)) {
          killedAt = Date.now();
          killing = run(ENGINE, ['kill', '--signal', 'KILL', victim.id]);
        }
      },
    });
    const result = await load;
    assertAllAccepted(result, BURST);
    await killing;
    if (!killedAt) throw new Error('the kill never happened');
    const count = await waitAllDelivered(result.accepted.keys(), 180_000);
    add(count);
    return `killed ${victim.name} after ${Math.floor(BURST / 3)} requests; accepted ${count.accepted}, delivered ${count.delivered}, duplicates ${count.duplicates}, lost 0`;
  });

  await step('the app stopped under load drains within stop_grace_period; no 202 lost', async () => {
    const app = (await containers('app'))[0]!;
    let stopSeconds = -1;
    let stopping: Promise<void> | undefined;
    const load = driveLoad({
      apiKey, total: 2000, concurrency: 16, flakyShare: 0, permanentShare: 0, retryForMs: 120_000,
      onProgress: (settled) => {
        if (settled !== 500) return;
        stopping = (async () => {
          const t = Date.now();
          await compose('stop', 'app');
          stopSeconds = (Date.now() - t) / 1000;
          await compose('start', 'app');
        })();
      },
    });
    const result = await load;
    assertAllAccepted(result, 2000);
    await stopping;
    const exitCode = await inspect(app.id, '{{.State.ExitCode}}').catch(() => '?');
    if (stopSeconds < 0 || stopSeconds >= STOP_GRACE_S) throw new Error(`stop took ${stopSeconds} s (grace period ${STOP_GRACE_S} s)`);
    if (exitCode === '137') throw new Error('the app was SIGKILLed: its drain did not finish within the grace period');
    await waitHealthy(SERVICES, 120_000);
    const count = await waitAllDelivered(result.accepted.keys(), 180_000);
    add(count);
    return `stop took ${stopSeconds.toFixed(1)} s (< ${STOP_GRACE_S} s), exit code ${exitCode}; accepted ${count.accepted} (503s retried: ${result.unavailable503}, network errors retried: ${result.networkErrors}), delivered ${count.delivered}, duplicates ${count.duplicates}, lost 0`;
  });

  await step('messages queued before make down are delivered after the next make up', async () => {
    await stopWorkers();
    const load = await driveLoad({ apiKey, total: 300, concurrency: 16, flakyShare: 0, permanentShare: 0, retryForMs: 30_000 });
    assertAllAccepted(load, 300);
    const queued = await waitQuery('sum(rabbitmq_detailed_queue_messages{vhost="relay",queue=~"relay\\\\.(sms|email|notif)"})', (s) => (s[0]?.value ?? 0) > 0, 60_000);
    await make('down');
    const left = await containers(undefined, true);
    if (left.length) throw new Error(`make down left containers: ${left.map((c) => c.name).join(' ')}`);
    await make('up', { SERVICES: SERVICES.join(' ') });
    await waitHealthy(SERVICES, 180_000);
    const count = await waitAllDelivered(load.accepted.keys(), 120_000);
    add(count);
    return `${load.accepted.size} accepted with the workers stopped (in the work queues: ${queued[0]!.value} AMQP messages, group commit packs several requests in one); make down left 0 containers; after make up: delivered ${count.delivered}, lost 0`;
  });

  const lost = totals.accepted - totals.delivered;
  summary.push(`up ${upSeconds} s`, `sms-worker replicas ${replicas}`, `accepted ${totals.accepted}`, `delivered ${totals.delivered}`,
    `duplicates ${totals.duplicates}`, `lost ${lost}`, `total ${seconds(runStarted)} s`, 'not run: grafana, k6');
  if (lost !== 0) throw new Error(`lost ${lost}`);
  process.stdout.write(`compose-test: PASS ${summary.join(', ')}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`compose-test: FAIL ${error.message}\n`);
  process.exitCode = 1;
});
