/**
 * Static checks of the 3-node broker override (docker-compose.cluster.yml merged with docker-compose.yml, as
 * `docker-compose config` renders it with .env.example): the nodes, their peer-discovery list, cookie, data
 * volumes, the clients' AMQP_URL lists and Prometheus' targets must name the same three brokers. No engine needed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { parseBrokerUrls } from '../../services/shared/messaging/broker-urls';

const ROOT = path.resolve(__dirname, '../..');
const NODES = ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'];
const CLIENTS: Record<string, string> = { app: 'relay-app', 'sms-worker': 'relay-sms-worker', 'email-worker': 'relay-email-worker', 'notif-worker': 'relay-notif-worker' };

interface Service {
  hostname?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string | null>;
  /** docker-compose v1 renders `source:target[:mode]` strings; the compose plugin renders objects. */
  volumes?: Array<string | { source: string; target: string }>;
  healthcheck?: { test: string[] };
}

const rendered = spawnSync('docker-compose', ['--env-file', '.env.example', '-f', 'docker-compose.yml', '-f', 'docker-compose.cluster.yml', 'config'], {
  cwd: ROOT,
  encoding: 'utf8',
});
const available = rendered.error === undefined && rendered.status === 0;
const services: Record<string, Service> = available ? (parse(rendered.stdout) as { services: Record<string, Service> }).services : {};

function mount(service: Service, target: string): string | undefined {
  for (const volume of service.volumes ?? []) {
    const [source, at] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
    if (at === target) return source;
  }
  return undefined;
}

function confValues(file: string, prefix: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.split('=')[1]!.trim());
}

(available ? describe : describe.skip)('docker-compose.cluster.yml (merged with docker-compose.yml)', () => {
  test('three broker nodes, each with the cluster config, its own hostname and its own data volume', () => {
    for (const node of NODES) {
      expect(services[node]?.hostname).toBe(node);
      expect(mount(services[node]!, '/etc/rabbitmq/rabbitmq.conf')).toBe(path.join(ROOT, 'rabbitmq/rabbitmq.cluster.conf'));
      expect(mount(services[node]!, '/etc/rabbitmq/definitions.json')).toBe(path.join(ROOT, '.run/compose/rabbitmq/definitions.json'));
    }
    const data = NODES.map((node) => mount(services[node]!, '/var/lib/rabbitmq'));
    expect(new Set(data).size).toBe(3);
  });

  test('peer discovery lists exactly the three nodes (rabbit@<hostname>)', () => {
    const listed = confValues(path.join(ROOT, 'rabbitmq/rabbitmq.cluster.conf'), 'cluster_formation.classic_config.nodes.');
    expect(listed.sort()).toEqual(NODES.map((node) => `rabbit@${node}`).sort());
  });

  test('the nodes share one Erlang cookie from the generated secret file, which is in no variable or command line', () => {
    const secrets = fs.readFileSync(path.join(ROOT, 'scripts/compose-secrets.sh'), 'utf8');
    expect(secrets).toContain('write_secret "$dir/secrets/erlang-cookie" 600');
    for (const node of NODES) {
      const service = services[node]!;
      expect(mount(service, '/run/secrets/erlang-cookie')).toBe(path.join(ROOT, '.run/compose/secrets/erlang-cookie'));
      // Copied owner-only into the rabbitmq user's HOME before the image's own entrypoint starts the server.
      // `config` prints a literal $ escaped as $$, as it is written in the file.
      const script = service.entrypoint?.[2] ?? '';
      expect(service.entrypoint?.slice(0, 2)).toEqual(['sh', '-c']);
      expect(script).toMatch(/^install -m 600 \/run\/secrets\/erlang-cookie \/var\/lib\/rabbitmq\/\.erlang\.cookie && exec docker-entrypoint\.sh "\$\$@"$/);
      expect(service.command).toEqual(['rabbitmq-server']);
      expect(JSON.stringify([service.environment ?? {}, service.healthcheck?.test])).not.toMatch(/cookie/i);
    }
  });

  test.each(Object.entries(CLIENTS))("%s's AMQP_URL lists the three nodes as its own user, vhost relay", (service, user) => {
    const urls = parseBrokerUrls(services[service]!.environment!.AMQP_URL!).map((url) => new URL(url));
    expect(urls.map((url) => url.host).sort()).toEqual(NODES.map((node) => `${node}:5672`).sort());
    // No password in the URL: AMQP_PASSWORD_FILE (the main file's mount) supplies it.
    for (const url of urls) expect([url.username, url.password, url.pathname]).toEqual([user, '', '/relay']);
  });

  test('Prometheus runs the cluster config, which scrapes every node in both broker jobs', () => {
    const flag = services.prometheus!.command!.find((arg) => arg.startsWith('--config.file='))!;
    const file = path.join(ROOT, 'prometheus', path.basename(flag.split('=')[1]!));
    const config = parse(fs.readFileSync(file, 'utf8')) as { scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }> }> };
    for (const job of ['rabbitmq', 'rabbitmq-detailed']) {
      const targets = config.scrape_configs.find((scrape) => scrape.job_name === job)!.static_configs!.flatMap((group) => group.targets);
      expect(targets.sort()).toEqual(NODES.map((node) => `${node}:15692`).sort());
    }
  });
});
