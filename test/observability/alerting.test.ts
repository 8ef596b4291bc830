/**
 * The proof that an alert reaches a receiver: a real sms-worker, a real Prometheus evaluating the project's rule
 * files (prometheus/rules) against it, a real Alertmanager routing with alertmanager/alertmanager.dev.yml, and the
 * sandbox's alert sink as the receiver. The worker is SIGKILLed; `up == 0` makes RelayServiceDown pending, firing
 * after its `for: 1m`, and Alertmanager notifies the sandbox after the route's group_wait (10 s). So this file
 * takes about 80 s, nearly all of it the rule's own `for:`.
 *
 * Everything listens on free loopback ports (the worker needs the private broker on 5673, as every worker test).
 * Both configs are the committed dev ones, rendered into a temporary folder with only what must differ: the
 * addresses of this test's processes, rule_files made absolute, the one scrape job the test runs, and 1 s scrape
 * and evaluation intervals so `up` turns 0 within a second of the kill (the `for:` is the rule's own). Each
 * rendering refuses to run if the committed address it replaces ever changes.
 */
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { amqpUrl, purgeAllQueues, ROOT } from '../support/broker';
import { closedPort } from '../support/local-servers';
import { startProcess, startService, stopAll, type RunningProcess } from '../support/processes';
import { waitReady } from '../support/stack';
import { waitFor } from '../support/wait';

const WORKER_JOB = 'sms-worker';
const ALERT = 'RelayServiceDown';

interface Ports { sandbox: number; smtp: number; worker: number; alertmanager: number; prometheus: number }

/** alertmanager.dev.yml with its webhook pointed at this test's sandbox instead of the native 127.0.0.1:8025. */
function renderAlertmanagerConfig(dir: string, ports: Ports): string {
  const config = parse(readFileSync(join(ROOT, 'alertmanager/alertmanager.dev.yml'), 'utf8'));
  const receiver = config.receivers.find((r: { name: string }) => r.name === config.route.receiver);
  const webhook = receiver?.webhook_configs?.[0];
  if (webhook?.url !== 'http://127.0.0.1:8025/webhooks/alerts') {
    throw new Error(`alertmanager.dev.yml's receiver URL changed (${String(webhook?.url)}): update this test`);
  }
  webhook.url = `http://127.0.0.1:${ports.sandbox}/webhooks/alerts`;
  const file = join(dir, 'alertmanager.yml');
  writeFileSync(file, stringify(config));
  return file;
}

/** prometheus.dev.yml scraping only this test's worker, alerting this test's Alertmanager, every second. */
function renderPrometheusConfig(dir: string, ports: Ports): string {
  const config = parse(readFileSync(join(ROOT, 'prometheus/prometheus.dev.yml'), 'utf8'));
  const alertmanagers = config.alerting?.alertmanagers?.flatMap((a: { static_configs: Array<{ targets: string[] }> }) => a.static_configs.flatMap((c) => c.targets));
  if (JSON.stringify(alertmanagers) !== JSON.stringify(['127.0.0.1:9093'])) {
    throw new Error(`prometheus.dev.yml's alerting targets changed (${JSON.stringify(alertmanagers)}): update this test`);
  }
  config.alerting.alertmanagers = [{ static_configs: [{ targets: [`127.0.0.1:${ports.alertmanager}`] }] }];
  const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === WORKER_JOB);
  if (!job) throw new Error(`prometheus.dev.yml has no ${WORKER_JOB} job: update this test`);
  job.static_configs = [{ targets: [`127.0.0.1:${ports.worker}`] }];
  config.scrape_configs = [job];
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
  config.rule_files = config.rule_files.map((file: string) => resolve(ROOT, 'prometheus', file));
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, stringify(config));
  return file;
}

/** Debian's package calls the binary prometheus-alertmanager; upstream's tarball, alertmanager. */
function alertmanagerBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    for (const name of ['prometheus-alertmanager', 'alertmanager']) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  throw new Error('no Alertmanager binary on PATH: apt-get install prometheus-alertmanager');
}

interface Notification {
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string }>;
}

const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).json()) as T;

let tmp: string;
let ports: Ports;
let worker: RunningProcess;
let alertmanager: RunningProcess;
let prometheus: RunningProcess;
const sandboxUrl = () => `http://127.0.0.1:${ports.sandbox}`;
const prometheusUrl = () => `http://127.0.0.1:${ports.prometheus}`;
const alertmanagerUrl = () => `http://127.0.0.1:${ports.alertmanager}`;
const notifications = async () => (await getJson<{ notifications: Notification[] }>(`${sandboxUrl()}/alerts`)).notifications;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relay-alerting-'));
  ports = { sandbox: await closedPort(), smtp: await closedPort(), worker: await closedPort(), alertmanager: await closedPort(), prometheus: await closedPort() };
  await waitFor('the broker on 127.0.0.1:5673', async () => (await purgeAllQueues(), true), 30_000, 1000);

  startService('sandbox', { SANDBOX_HTTP_PORT: String(ports.sandbox), SANDBOX_SMTP_PORT: String(ports.smtp), SANDBOX_HOST: '127.0.0.1' });
  worker = startService(WORKER_JOB, { AMQP_URL: amqpUrl('relay-sms-worker'), METRICS_PORT: String(ports.worker), TWILIO_API_URL: sandboxUrl() });
  alertmanager = startProcess(alertmanagerBinary(), [
    `--config.file=${renderAlertmanagerConfig(tmp, ports)}`,
    `--storage.path=${join(tmp, 'alertmanager')}`,
    `--web.listen-address=127.0.0.1:${ports.alertmanager}`,
    '--cluster.listen-address=', // one instance: no gossip port
    '--log.level=warn',
  ]);
  prometheus = startProcess('prometheus', [
    `--config.file=${renderPrometheusConfig(tmp, ports)}`,
    `--storage.tsdb.path=${join(tmp, 'prometheus')}`,
    `--web.listen-address=127.0.0.1:${ports.prometheus}`,
    '--log.level=warn',
  ]);
  await waitReady([`${sandboxUrl()}/healthz`, `http://127.0.0.1:${ports.worker}/readyz`, `${alertmanagerUrl()}/-/ready`, `${prometheusUrl()}/-/ready`], 30_000).catch((error) => {
    throw new Error(`${String(error)}\nalertmanager output:\n${alertmanager.output()}\nprometheus output:\n${prometheus.output()}`);
  });
}, 60_000);

afterAll(async () => {
  await stopAll();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('alerting: Prometheus rules → Alertmanager → receiver', () => {
  test('Prometheus scrapes the worker, loaded the real rules and found the Alertmanager; nothing has been sent yet', async () => {
    await waitFor(`the ${WORKER_JOB} target up`, async () => {
      const targets = (await getJson<{ data: { activeTargets: Array<{ labels: { job: string }; health: string }> } }>(`${prometheusUrl()}/api/v1/targets`)).data.activeTargets;
      return targets.some((t) => t.labels.job === WORKER_JOB && t.health === 'up') ? true : undefined;
    }, 20_000, 250);
    const rules = await getJson<{ data: { groups: Array<{ rules: Array<{ name: string }> }> } }>(`${prometheusUrl()}/api/v1/rules?type=alert`);
    expect(rules.data.groups.flatMap((g) => g.rules).map((r) => r.name)).toContain(ALERT);
    await waitFor('Prometheus to discover the Alertmanager', async () => {
      const answer = await getJson<{ data: { activeAlertmanagers: Array<{ url: string }> } }>(`${prometheusUrl()}/api/v1/alertmanagers`);
      return answer.data.activeAlertmanagers.some((a) => a.url.startsWith(`${alertmanagerUrl()}/`)) ? true : undefined;
    }, 20_000, 250);
    expect(await notifications()).toEqual([]);
  });

  test(`a worker killed with SIGKILL fires ${ALERT}, and Alertmanager delivers it to the sandbox's webhook`, async () => {
    await worker.stop('SIGKILL');

    // Prometheus sees the target down and the rule pending (its `for:` is running) ...
    await waitFor(`${ALERT} pending or firing in Prometheus`, async () => {
      const alerts = (await getJson<{ data: { alerts: Array<{ labels: Record<string, string>; state: string }> } }>(`${prometheusUrl()}/api/v1/alerts`)).data.alerts;
      return alerts.some((a) => a.labels.alertname === ALERT && a.labels.job === WORKER_JOB) ? true : undefined;
    }, 15_000, 250);

    // ... then, after `for: 1m` and the route's group_wait, the receiver gets the notification.
    const firing = await waitFor(`a firing ${ALERT} notification at the sandbox`, async () =>
      (await notifications()).find((n) => n.status === 'firing' && n.alerts.some((a) => a.labels.alertname === ALERT)), 120_000, 1000);
    expect(firing.receiver).toBe('sandbox');
    expect(firing.groupLabels).toEqual({ alertname: ALERT, severity: 'critical' });
    expect(firing.alerts).toHaveLength(1);
    expect(firing.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: ALERT, severity: 'critical', job: WORKER_JOB, instance: `127.0.0.1:${ports.worker}` },
      annotations: { summary: `${WORKER_JOB} target 127.0.0.1:${ports.worker} is down` },
    });

    // Alertmanager itself lists the alert as active, not silenced or inhibited.
    const active = await getJson<Array<{ labels: Record<string, string>; status: { state: string } }>>(`${alertmanagerUrl()}/api/v2/alerts?filter=alertname%3D%22${ALERT}%22`);
    expect(active.map((a) => [a.labels.job, a.status.state])).toEqual([[WORKER_JOB, 'active']]);
  }, 150_000);
});
