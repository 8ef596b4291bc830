/**
 * Static checks of docker-compose.yml against the repository (no Docker engine needed): what the compose file
 * mounts, runs, probes and scrapes must exist and agree with docs/architecture.md, the ecosystem files,
 * rabbitmq/rabbitmq.compose.conf and prometheus/prometheus.yml.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { webhookConfigSchema } from '../../services/notif-worker/webhook-provider';
import { loadConfig } from '../../services/shared/config/load-config';

const ROOT = path.resolve(__dirname, '../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const ENV_EXAMPLE = path.join(ROOT, '.env.example');
const RABBITMQ_CONF = path.join(ROOT, 'rabbitmq/rabbitmq.compose.conf');
const PROMETHEUS_CONFIG = path.join(ROOT, 'prometheus/prometheus.yml');
const ALERTMANAGER_CONFIG = path.join(ROOT, 'alertmanager/alertmanager.yml');
const ALERTMANAGER_DEV_CONFIG = path.join(ROOT, 'alertmanager/alertmanager.dev.yml');
const ARCHITECTURE = path.join(ROOT, 'docs/architecture.md');

const WORKERS = ['sms-worker', 'email-worker', 'notif-worker'];
const NODE_SERVICES = ['app', ...WORKERS, 'sandbox', 'status-service', 'status-webhooks'];

/**
 * Variables each service needs set in its container. docs/architecture.md gives every variable a native
 * default, but those point at 127.0.0.1 and the native ports (5673, 8025, 2525, 9101-9103), which are wrong
 * inside the compose network; the shared secrets must also be the same on both ends.
 */
const REQUIRED_ENV: Record<string, string[]> = {
  app: ['AMQP_URL', 'AMQP_PASSWORD_FILE', 'PORT'],
  'sms-worker': ['AMQP_URL', 'AMQP_PASSWORD_FILE', 'METRICS_PORT', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM', 'TWILIO_API_URL'],
  'email-worker': ['AMQP_URL', 'AMQP_PASSWORD_FILE', 'METRICS_PORT', 'SMTP_URL'],
  'notif-worker': ['AMQP_URL', 'AMQP_PASSWORD_FILE', 'METRICS_PORT', 'NOTIF_WEBHOOK_URL', 'NOTIF_WEBHOOK_SECRET'],
  sandbox: ['SANDBOX_HTTP_PORT', 'SANDBOX_SMTP_PORT', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'NOTIF_WEBHOOK_SECRET'],
  'status-service': ['AMQP_URL', 'AMQP_PASSWORD_FILE', 'METRICS_PORT', 'DATABASE_URL', 'DATABASE_PASSWORD_FILE'],
  postgres: ['POSTGRES_USER', 'POSTGRES_DB'],
  grafana: ['GF_SECURITY_ADMIN_USER', 'GF_SECURITY_ADMIN_PASSWORD__FILE'],
  k6: ['BASE_URL', 'PROMETHEUS_URL', 'K6_PROMETHEUS_RW_SERVER_URL', 'K6_PROMETHEUS_RW_TREND_STATS'],
};

/** The variable holding the port a Node service answers /healthz on (docs/architecture.md, "Processes"). */
const HEALTH_PORT_VAR: Record<string, string> = {
  app: 'PORT',
  'sms-worker': 'METRICS_PORT',
  'email-worker': 'METRICS_PORT',
  'notif-worker': 'METRICS_PORT',
  sandbox: 'SANDBOX_HTTP_PORT',
  'status-service': 'METRICS_PORT',
  'status-webhooks': 'METRICS_PORT',
};

/** Scrape jobs docs/architecture.md names. */
const PROMETHEUS_JOBS = ['app', 'sms-worker', 'email-worker', 'notif-worker', 'status-service', 'status-webhooks', 'rabbitmq', 'rabbitmq-detailed', 'prometheus'];

type Env = Record<string, string | undefined>;
interface Healthcheck { test?: string[] | string; disable?: boolean }
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  container_name?: string;
  stop_grace_period?: string;
  environment?: Record<string, string | number | null> | string[];
  ports?: Array<string | { published?: string | number; host_ip?: string; target: number }>;
  volumes?: Array<string | { type: string; source?: string; target: string; read_only?: boolean }>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  profiles?: string[];
}
interface Compose { version?: string; networks?: object; volumes?: object; services: Record<string, Service> }

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR, $$. */
function interpolate(text: string, env: Env): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])((?:[^}])*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name: string | undefined, colon: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$';
      if (bare) return env[bare] ?? '';
      const value = env[name!];
      const missing = colon ? value === undefined || value === '' : value === undefined;
      if (op === '-') return missing ? (arg ?? '') : value!;
      if (op === '?') {
        if (missing) throw new Error(`compose requires \${${name}}: ${arg}`);
        return value!;
      }
      return value ?? '';
    },
  );
}

function interpolateDeep<T>(value: T, env: Env): T {
  if (typeof value === 'string') return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((item) => interpolateDeep(item, env)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)])) as T;
  }
  return value;
}

const composeText = fs.readFileSync(COMPOSE_FILE, 'utf8');
/** The compose file without its comment lines, for scanning `${VAR}` references. */
const composeBody = composeText.split('\n').filter((line) => !line.trim().startsWith('#')).join('\n');
/** The compose file as `docker compose` sees it with the given .env (default: none at all). */
function loadCompose(env: Env = {}): Compose {
  return interpolateDeep(parse(composeText, { merge: true }) as Compose, env);
}

function readEnvFile(file: string): Env {
  const env: Env = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!.trim();
  }
  return env;
}

function environmentOf(service: Service): Record<string, string | undefined> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const at = entry.indexOf('=');
      return at < 0 ? [entry, undefined] : [entry.slice(0, at), entry.slice(at + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? undefined : String(v)]));
}

function commandOf(service: Service): string[] {
  const command = service.command ?? [];
  return Array.isArray(command) ? command : command.split(/\s+/).filter(Boolean);
}

function healthTest(service: Service): string[] {
  const test = service.healthcheck?.test ?? [];
  return Array.isArray(test) ? test : ['CMD-SHELL', test];
}

/** Seconds in a compose duration such as 30s, 1m30s, 500ms. */
function durationSeconds(text: string): number {
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)) {
    seconds += Number(amount) * ({ h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 } as Record<string, number>)[unit!]!;
  }
  return seconds;
}

function parseConf(file: string): Record<string, string> {
  const conf: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([a-z0-9_.]+)\s*=\s*(.+?)\s*$/.exec(line);
    if (match && !line.trim().startsWith('#')) conf[match[1]!] = match[2]!;
  }
  return conf;
}

function portOf(listen: string): number {
  return Number(listen.split(':').pop());
}

const compose = loadCompose();
const services = compose.services;
const builtServices = Object.entries(services).filter(([, s]) => s.build !== undefined);
const longRunning = Object.entries(services).filter(([, s]) => !s.profiles?.length);
const rabbitConf = parseConf(RABBITMQ_CONF);

/** Ports each compose service listens on inside the network, from its own configuration. */
function listeningPorts(name: string): number[] {
  const service = services[name];
  if (!service) return [];
  const env = environmentOf(service);
  if (name === 'rabbitmq') {
    return [
      portOf(rabbitConf['listeners.tcp.default'] ?? '5672'),
      Number(rabbitConf['management.tcp.port'] ?? 15672),
      Number(rabbitConf['prometheus.tcp.port'] ?? 15692),
    ];
  }
  if (name === 'prometheus' || name === 'alertmanager') {
    const flag = commandOf(service).find((arg) => arg.startsWith('--web.listen-address='));
    return [flag ? portOf(flag) : name === 'prometheus' ? 9090 : 9093];
  }
  if (name === 'grafana') return [Number(env.GF_SERVER_HTTP_PORT ?? 3000)];
  if (name === 'postgres') return [5432];
  if (name === 'sandbox') return [Number(env.SANDBOX_HTTP_PORT), Number(env.SANDBOX_SMTP_PORT)];
  if (name === 'app') return [Number(env.PORT), Number(env.OPS_PORT)];
  const portVar = HEALTH_PORT_VAR[name];
  return portVar ? [Number(env[portVar])] : [];
}

/** docs/architecture.md "Environment variables": which services read which variables. */
function documentedVariables(): Map<string, Set<string>> {
  const table = fs.readFileSync(ARCHITECTURE, 'utf8').split('## Environment variables')[1]?.split('\n## ')[0] ?? '';
  const byService = new Map<string, Set<string>>(NODE_SERVICES.map((s) => [s, new Set<string>()]));
  for (const row of table.split('\n').filter((line) => line.startsWith('| `'))) {
    const [varsCell = '', servicesCell = ''] = row.split('|').slice(1).map((cell) => cell.trim());
    const names = [...varsCell.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const readers = servicesCell.split(',').map((s) => s.replace(/\(.*\)/, '').trim())
      .flatMap((s) => (s === 'all' ? NODE_SERVICES : s === 'workers' ? WORKERS : [s]));
    for (const reader of readers) for (const n of names) byService.get(reader)?.add(n);
  }
  return byService;
}

describe('docker-compose.yml', () => {
  test('is a compose-spec file: no version key, networks and volumes declared before services', () => {
    const raw = parse(composeText, { merge: true }) as Record<string, unknown>;
    expect(raw.version).toBeUndefined();
    const keys = Object.keys(raw).filter((k) => !k.startsWith('x-'));
    expect(keys).toEqual(['networks', 'volumes', 'services']);
    expect(Object.keys(services).sort()).toEqual(
      ['alertmanager', 'app', 'email-worker', 'grafana', 'k6', 'notif-worker', 'postgres', 'prometheus', 'rabbitmq', 'sandbox', 'sms-worker', 'status-service', 'status-webhooks'],
    );
  });

  test("every service lists its keys in the file's one order (shared blocks merged in with <<)", () => {
    const order = ['image', 'build', 'command', 'init', 'restart', 'stop_grace_period', 'hostname', 'user', 'read_only', 'tmpfs',
      'cap_drop', 'security_opt', 'cpus', 'mem_limit', 'pids_limit', 'environment', 'ports', 'expose', 'volumes', 'networks',
      'depends_on', 'healthcheck', 'profiles'];
    const raw = parse(composeText) as { services: Record<string, Record<string, unknown>> };
    for (const [name, service] of Object.entries(raw.services)) {
      const keys = Object.keys(service).filter((k) => k !== '<<');
      expect(`${name}: ${keys.join(', ')}`).toBe(`${name}: ${[...keys].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(', ')}`);
      expect(keys.filter((k) => !order.includes(k))).toEqual([]);
    }
  });

  test('every bind-mounted host path exists in the repository, or is one scripts/compose-secrets.sh (make up) writes', () => {
    const missing: string[] = [];
    const secrets = fs.readFileSync(path.join(ROOT, 'scripts/compose-secrets.sh'), 'utf8');
    const makefile = fs.readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
    expect(/^up:.*\n\tscripts\/compose-secrets\.sh\n/m.test(makefile)).toBe(true);
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.type === 'bind' ? volume.source! : '';
        if (!source.startsWith('.') && !source.startsWith('/')) continue; // named volume
        if (source.startsWith('./.run/compose/')) {
          // git-ignored, generated before `docker compose up`: the script must name it.
          const relative = source.slice('./.run/compose/'.length);
          // The script names the file, or the folder it fills (one password file per broker user).
          const named = relative.split('/').some((_, i, parts) => secrets.includes(`$dir/${parts.slice(0, parts.length - i).join('/')}`));
          if (!named) missing.push(`${name}: ${source} (not written by compose-secrets.sh)`);
          continue;
        }
        if (!fs.existsSync(path.resolve(ROOT, source))) missing.push(`${name}: ${source}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('RabbitMQ loads the compose config, the plugins and the definitions where the image expects them', () => {
    const targets = Object.fromEntries((services.rabbitmq!.volumes as string[]).map((v) => [v.split(':')[1], v.split(':')[0]]));
    expect(targets['/etc/rabbitmq/rabbitmq.conf']).toBe('./rabbitmq/rabbitmq.compose.conf');
    expect(targets['/etc/rabbitmq/enabled_plugins']).toBe('./rabbitmq/enabled_plugins');
    // The committed definitions with each user's password hash: scripts/compose-secrets.sh renders them.
    expect(targets[rabbitConf['definitions.local.path']!]).toBe('./.run/compose/rabbitmq/definitions.json');
    expect(targets['/var/lib/rabbitmq']).toBe('rabbitmq-data');
    expect(listeningPorts('rabbitmq')).toEqual([5672, 15672, 15692]);
  });

  test.each(builtServices.map(([name]) => name))(
    '%s runs pm2-runtime on an ecosystem file that exists in the repository',
    (name) => {
      const [ecosystem, ...rest] = commandOf(services[name]!);
      expect(rest).toEqual([]);
      expect(ecosystem).toBe(`services/${name}/ecosystem.config.js`);
      if (!fs.existsSync(path.join(ROOT, ecosystem!))) {
        throw new Error(`${ecosystem} does not exist yet: the ${name} container would exit at start`);
      }
    },
  );

  test.each(builtServices.map(([name]) => name))(
    "%s's ecosystem file starts the compiled entry under dist/services/ and stops within stop_grace_period",
    (name) => {
      const file = path.join(ROOT, `services/${name}/ecosystem.config.js`);
      if (!fs.existsSync(file)) throw new Error(`services/${name}/ecosystem.config.js does not exist yet`);
      const loaded = require(file) as { apps?: unknown[] } | unknown[];
      const apps = (Array.isArray(loaded) ? loaded : loaded.apps ?? []) as Array<{
        script?: string; cwd?: string; kill_timeout?: number;
      }>;
      expect(apps.length).toBeGreaterThan(0);
      const scripts = apps.map((app) => {
        const base = app.cwd ? path.resolve(ROOT, app.cwd) : ROOT; // pm2-runtime runs in WORKDIR = repo root
        return path.relative(ROOT, path.resolve(base, app.script ?? ''));
      });
      for (const script of scripts) expect(script).toMatch(/^dist\/services\//);
      expect(scripts).toContain(`dist/services/${name}/main.js`);

      // PM2 sends SIGKILL kill_timeout ms (default 1600) after SIGINT; Docker sends SIGKILL after stop_grace_period.
      const grace = durationSeconds(services[name]!.stop_grace_period ?? '10s');
      for (const app of apps) expect((app.kill_timeout ?? 1600) / 1000 + 5).toBeLessThanOrEqual(grace);
    },
  );

  test('every long-running service has a healthcheck', () => {
    const without = longRunning.filter(([, s]) => !s.healthcheck || s.healthcheck.disable).map(([n]) => n);
    expect(without).toEqual([]);
  });

  test.each(NODE_SERVICES)("%s's healthcheck GETs /healthz on the port the service listens on", (name) => {
    const test = healthTest(services[name]!);
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    const url = new URL(/fetch\('([^']+)'\)/.exec(test[3] ?? '')?.[1] ?? 'http://missing');
    expect(url.pathname).toBe('/healthz');
    expect(['127.0.0.1', 'localhost']).toContain(url.hostname);
    expect(Number(url.port)).toBe(Number(environmentOf(services[name]!)[HEALTH_PORT_VAR[name]!]));
    expect(test[3]).toMatch(/process\.exit\(r\.ok\?0:1\)/);
    // podman 4.3's Docker API splits healthcheck arguments on spaces: a space would cut the script.
    expect(test[3]).not.toMatch(/\s/);
  });

  test.each(NODE_SERVICES)('%s serves the /healthz its healthcheck calls (source under services/)', (name) => {
    const sourcesIn = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }) as string[] : [])
      .map((f) => path.join(dir, f)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const own = sourcesIn(path.join(ROOT, 'services', name));
    if (!own.length) throw new Error(`services/${name}/ has no TypeScript sources yet`);
    // The route may live in the service or in a shared module (the workers' ops server).
    const sources = [...own, ...sourcesIn(path.join(ROOT, 'services/shared'))];
    expect(sources.some((f) => /['"`]\/healthz['"`]/.test(fs.readFileSync(f, 'utf8')))).toBe(true);
  });

  test('third-party healthchecks run a tool the image ships against the port and path the server answers', () => {
    expect(healthTest(services.rabbitmq!)).toEqual(['CMD', 'rabbitmq-diagnostics', '-q', expect.stringMatching(/^(ping|check_running|check_port_connectivity)$/)]);
    // Over TCP: on first start the image's setup server listens on the socket only, so a socket probe would pass early.
    expect(healthTest(services.postgres!)).toEqual(['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', 'relay', '-d', 'relay']);
    // prom/prometheus and prom/alertmanager are busybox-based, grafana/grafana Alpine-based: all have wget, no curl.
    const probes: Record<string, string> = { prometheus: '/-/ready', alertmanager: '/-/ready', grafana: '/api/health' };
    for (const [name, probePath] of Object.entries(probes)) {
      const test = healthTest(services[name]!);
      expect(test.slice(0, 2)).toEqual(['CMD', 'wget']);
      const url = new URL(test[test.length - 1]!);
      expect(url.pathname).toBe(probePath);
      expect(listeningPorts(name)).toContain(Number(url.port));
    }
  });

  test('depends_on waits for services that have a healthcheck to report healthy', () => {
    for (const [name, service] of Object.entries(services)) {
      const deps = service.depends_on ?? {};
      expect(Array.isArray(deps) ? `${name}: short depends_on syntax` : name).toBe(name);
      for (const [dep, spec] of Object.entries(deps as Record<string, { condition?: string }>)) {
        expect(`${name} -> ${dep}: ${spec.condition}`).toBe(`${name} -> ${dep}: service_healthy`);
        expect(services[dep]?.healthcheck).toBeDefined();
      }
    }
  });

  test.each(WORKERS)('%s has no container_name and no host ports, so `make scale` can add replicas', (name) => {
    expect(services[name]!.container_name).toBeUndefined();
    expect(services[name]!.ports).toBeUndefined();
  });

  test('only the app is published on every interface; management, Prometheus, Alertmanager, Grafana and the sandbox on 127.0.0.1', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) {
        const text = typeof port === 'string' ? port : `${port.host_ip ?? ''}:${port.published}:${port.target}`;
        if (name === 'app') expect(text).toBe('8080:8080');
        else expect(text).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
      }
    }
    expect(services.rabbitmq!.ports).toEqual(['127.0.0.1:15672:15672']);
    expect(services.prometheus!.ports).toEqual(['127.0.0.1:9090:9090']);
    expect(services.alertmanager!.ports).toEqual(['127.0.0.1:9093:9093']);
    expect(services.grafana!.ports).toEqual(['127.0.0.1:3000:3000']);
    expect(services.sandbox!.ports).toEqual(['127.0.0.1:8025:8025', '127.0.0.1:2525:2525']);
  });

  test('long-running services restart unless stopped; Node services outlast the 15 s PM2 kill_timeout', () => {
    for (const [name, service] of longRunning) {
      expect(`${name}: ${(service as { restart?: string }).restart}`).toBe(`${name}: unless-stopped`);
    }
    for (const name of NODE_SERVICES) expect(durationSeconds(services[name]!.stop_grace_period ?? '10s')).toBeGreaterThan(15);
  });

  test.each(Object.keys(REQUIRED_ENV))('%s gets the variables it needs in a container, even without a .env', (name) => {
    const env = environmentOf(services[name]!);
    const unset = REQUIRED_ENV[name]!.filter((v) => !env[v]);
    expect(unset).toEqual([]);
  });

  test.each(NODE_SERVICES)('%s only gets variables docs/architecture.md says it reads', (name) => {
    const documented = documentedVariables().get(name)!;
    const unknown = Object.keys(environmentOf(services[name]!)).filter((v) => !documented.has(v));
    expect(unknown).toEqual([]);
  });

  test.each(['app', ...WORKERS, 'status-service'])("%s's AMQP_URL logs in as its own user on the compose broker's AMQP port, vhost relay", (name) => {
    const url = new URL(environmentOf(services[name]!).AMQP_URL!);
    expect(url.protocol).toBe('amqp:');
    expect(url.hostname).toBe('rabbitmq');
    expect(Number(url.port)).toBe(listeningPorts('rabbitmq')[0]);
    expect(url.username).toBe(name === 'status-service' ? 'relay-status' : `relay-${name}`);
    expect(url.password).toBe('');
    expect(url.pathname).toBe('/relay');
  });

  test.each(['app', ...WORKERS])("%s reads its own user's generated broker password from a read-only mount", (name) => {
    const file = environmentOf(services[name]!).AMQP_PASSWORD_FILE!;
    expect(services[name]!.volumes).toContain(`./.run/compose/secrets/broker/relay-${name}:${file}:ro`);
  });

  test('by default the workers deliver to the sandbox, which accepts their Twilio credentials and webhook secret', () => {
    const sandbox = environmentOf(services.sandbox!);
    const sms = environmentOf(services['sms-worker']!);
    const email = environmentOf(services['email-worker']!);
    const notif = environmentOf(services['notif-worker']!);
    expect(new URL(sms.TWILIO_API_URL!).host).toBe(`sandbox:${sandbox.SANDBOX_HTTP_PORT}`);
    expect(new URL(email.SMTP_URL!).host).toBe(`sandbox:${sandbox.SANDBOX_SMTP_PORT}`);
    expect(new URL(notif.NOTIF_WEBHOOK_URL!).host).toBe(`sandbox:${sandbox.SANDBOX_HTTP_PORT}`);
    expect(sms.TWILIO_ACCOUNT_SID).toBe(sandbox.TWILIO_ACCOUNT_SID);
    expect(sms.TWILIO_AUTH_TOKEN).toBe(sandbox.TWILIO_AUTH_TOKEN);
    expect(notif.NOTIF_WEBHOOK_SECRET).toBe(sandbox.NOTIF_WEBHOOK_SECRET);
    // notif-worker and sandbox refuse anything but whsec_ secrets at boot.
    expect(loadConfig(webhookConfigSchema, { NOTIF_WEBHOOK_SECRET: notif.NOTIF_WEBHOOK_SECRET }).NOTIF_WEBHOOK_SECRET).toHaveLength(1);
  });

  test('an empty TWILIO_API_URL in .env switches sms-worker to real Twilio instead of falling back to the sandbox', () => {
    const real = loadCompose({ TWILIO_API_URL: '', TWILIO_ACCOUNT_SID: 'ACreal', TWILIO_AUTH_TOKEN: 'secret' });
    expect(environmentOf(real.services['sms-worker']!).TWILIO_API_URL).toBe('');
  });

  test('every ${VAR} has a default, so the stack starts without a .env', () => {
    const bare = [...composeBody.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? m[2]);
    expect(bare).toEqual([]);
  });

  test('.env.example documents every variable compose reads, with the default compose uses', () => {
    const example = readEnvFile(ENV_EXAMPLE);
    const documented = new Set(fs.readFileSync(ENV_EXAMPLE, 'utf8').split('\n')
      .map((line) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1]).filter(Boolean));
    for (const [, name, def] of composeBody.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}/g)) {
      expect(`${name}=${example[name!]}`).toBe(`${name}=${def}`);
    }
    for (const [name, value] of Object.entries(services.app!.environment as Record<string, unknown>)) {
      if (value === null) expect(documented).toContain(name); // passed through from .env when set
    }
    // The documented defaults give the same stack as no .env at all.
    expect(loadCompose(example)).toEqual(compose);
  });

  test('every image is pinned to a version tag (no latest, no bare name)', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build !== undefined) continue; // built here from the pinned node base image
      // `${RABBITMQ_IMAGE:-rabbitmq:4.1.4-management}`: the default is what a user gets; the variable lets an
      // engine without a registry substitute a local stand-in (make compose-test).
      const image = /^\$\{[A-Z_]+_IMAGE:-([^}]+)\}$/.exec(service.image ?? '')?.[1] ?? service.image ?? '';
      const tag = /^[^:@]+(?::([^@]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(image)?.[1] ?? '';
      // PostgreSQL is pinned to its major line (17-bookworm): the data volume's format is fixed per major, and a
      // minor release carries only fixes (https://www.postgresql.org/support/versioning/).
      const pin = name === 'postgres' ? /: \d+-bookworm$/ : /: v?\d+\.\d+\.\d+[\w.-]*$/;
      expect(`${name}: ${tag}`).toMatch(pin);
    }
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    // One supported Node LTS major everywhere: the Dockerfile, the compose build arg, package.json engines and
    // the native runtime (scripts/node-runtime.sh).
    const pinned = /ARG NODE_IMAGE=node:(24\.\d+\.\d+)-bookworm-slim\n/.exec(dockerfile)?.[1];
    expect(pinned).toBeDefined();
    expect(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')).toContain(`\${NODE_IMAGE:-node:${pinned}-bookworm-slim}`);
    expect(fs.readFileSync(path.join(ROOT, 'scripts/node-runtime.sh'), 'utf8')).toContain(`RELAY_NODE_VERSION:-${pinned}}`);
    expect(fs.readFileSync(path.join(ROOT, 'Makefile'), 'utf8')).toContain(`NODE_VERSION ?= ${pinned}\n`);
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node).toBe('>=24 <25');
  });

  test('postgres: user and database relay, the password from the generated file, data in a volume, ready over TCP', () => {
    const postgres = services.postgres!;
    const env = environmentOf(postgres);
    expect([env.POSTGRES_USER, env.POSTGRES_DB, env.POSTGRES_PASSWORD]).toEqual(['relay', 'relay', undefined]);
    const secrets = fs.readFileSync(path.join(ROOT, 'scripts/compose-secrets.sh'), 'utf8');
    expect(secrets).toContain('write_secret "$dir/secrets/postgres-password" 644');
    expect(postgres.volumes).toEqual([`./.run/compose/secrets/postgres-password:${env.POSTGRES_PASSWORD_FILE}:ro`, 'postgres-data:/var/lib/postgresql/data']);
    expect(healthTest(postgres)).toEqual(['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', 'relay', '-d', 'relay']);
    // Not published: only services on the compose network reach it.
    expect(postgres.ports).toBeUndefined();
  });

  test('postgres runs as its own user with no capability, no privilege gain and limits', () => {
    const postgres = services.postgres as Service & Record<string, unknown>;
    expect(postgres.user).toBe('postgres');
    expect([postgres.cap_drop, postgres.cap_add, postgres.security_opt]).toEqual([['ALL'], undefined, ['no-new-privileges:true']]);
    expect(postgres.mem_limit).toBeDefined();
    expect(postgres.pids_limit).toBeGreaterThan(0);
  });

  test('Prometheus uses the mounted prometheus.yml and accepts k6 remote writes', () => {
    const prometheus = services.prometheus!;
    expect(prometheus.volumes).toContain('./prometheus:/etc/prometheus:ro');
    expect(commandOf(prometheus)).toEqual(expect.arrayContaining([
      '--config.file=/etc/prometheus/prometheus.yml', '--web.enable-remote-write-receiver',
    ]));
  });

  test("Alertmanager uses the mounted alertmanager.yml, keeps its state in a volume, and notifies the sandbox's alert sink", () => {
    const alertmanager = services.alertmanager!;
    expect(alertmanager.volumes).toEqual(['./alertmanager:/etc/alertmanager:ro', 'alertmanager-data:/alertmanager']);
    expect(commandOf(alertmanager)).toEqual(expect.arrayContaining(['--config.file=/etc/alertmanager/alertmanager.yml', '--storage.path=/alertmanager']));
    // Nothing waits for it, and it waits for nothing: alerts are evaluated and shown by Prometheus either way.
    expect(alertmanager.depends_on).toBeUndefined();
    expect(Object.entries(services).filter(([, s]) => s.depends_on && 'alertmanager' in s.depends_on).map(([n]) => n)).toEqual([]);

    interface AlertmanagerConfig { route: { receiver: string }; receivers: Array<{ name: string; webhook_configs?: Array<{ url: string }> }> }
    const config = parse(fs.readFileSync(ALERTMANAGER_CONFIG, 'utf8')) as AlertmanagerConfig;
    const receiver = config.receivers.find((r) => r.name === config.route.receiver);
    const url = new URL(receiver?.webhook_configs?.[0]?.url ?? 'http://missing');
    expect(url.host).toBe(`sandbox:${environmentOf(services.sandbox!).SANDBOX_HTTP_PORT}`);
    expect(url.pathname).toBe('/webhooks/alerts');
    // alertmanager.dev.yml (make dev, the tests) is the same file with the native sandbox's address.
    const dev = parse(fs.readFileSync(ALERTMANAGER_DEV_CONFIG, 'utf8')) as AlertmanagerConfig;
    const devUrl = dev.receivers.find((r) => r.name === dev.route.receiver)?.webhook_configs?.[0]?.url;
    expect(devUrl).toBe('http://127.0.0.1:8025/webhooks/alerts');
    expect(JSON.parse(JSON.stringify(dev).replace(devUrl!, url.href))).toEqual(config);
  });

  test('Grafana is provisioned read-only from the repo, with a generated admin password and no default one', () => {
    const grafana = services.grafana!;
    const file = environmentOf(grafana).GF_SECURITY_ADMIN_PASSWORD__FILE!;
    expect(grafana.volumes).toEqual(expect.arrayContaining([
      './grafana/provisioning:/etc/grafana/provisioning:ro', './grafana/dashboards:/var/lib/grafana/dashboards:ro',
      `./.run/compose/secrets/grafana-admin-password:${file}:ro`,
    ]));
    expect(environmentOf(grafana).GF_SECURITY_ADMIN_PASSWORD).toBeUndefined();
  });

  test('k6 runs only in the loadtest profile, against the app, writing to the remote-write receiver', () => {
    const k6 = services.k6!;
    expect(k6.profiles).toEqual(['loadtest']);
    expect(k6.volumes).toContain('./loadtest:/scripts:ro');
    expect(commandOf(k6)).toEqual(['run', '-o', 'experimental-prometheus-rw', '/scripts/throughput.js']);
    const env = environmentOf(k6);
    expect(new URL(env.BASE_URL!).host).toBe(`app:${listeningPorts('app')[0]}`);
    expect(new URL(env.K6_PROMETHEUS_RW_SERVER_URL!).host).toBe(`prometheus:${listeningPorts('prometheus')[0]}`);
    expect(new URL(env.K6_PROMETHEUS_RW_SERVER_URL!).pathname).toBe('/api/v1/write');
    if (!fs.existsSync(path.join(ROOT, 'loadtest/throughput.js'))) {
      throw new Error('loadtest/throughput.js does not exist yet: `make loadtest` would fail');
    }
  });
});

describe('prometheus/prometheus.yml against docker-compose.yml', () => {
  const present = fs.existsSync(PROMETHEUS_CONFIG);
  if (!present) {
    // Written by the Prometheus/Grafana issue; until then say so instead of passing silently.
    console.warn('SKIPPED: prometheus/prometheus.yml does not exist yet, scrape targets are not checked');
  }
  const maybe = present ? test : test.skip;

  interface ScrapeConfig {
    job_name: string;
    static_configs?: Array<{ targets?: string[] }>;
    dns_sd_configs?: Array<{ names?: string[]; port?: number; type?: string }>;
  }
  const scrapeConfigs = (): ScrapeConfig[] =>
    ((parse(fs.readFileSync(PROMETHEUS_CONFIG, 'utf8')) as { scrape_configs?: ScrapeConfig[] }).scrape_configs ?? []);

  maybe('every scrape target is a compose service and a port that service listens on', () => {
    const targets = scrapeConfigs().flatMap((job) => [
      ...(job.static_configs ?? []).flatMap((c) => c.targets ?? []).map((t) => ({ job: job.job_name, target: t })),
      ...(job.dns_sd_configs ?? []).flatMap((c) => (c.names ?? []).map((n) => ({ job: job.job_name, target: `${n}:${c.port}` }))),
    ]);
    expect(targets.length).toBeGreaterThan(0);
    for (const { job, target } of targets) {
      const [host = '', port = ''] = target.split(':');
      const service = host === 'localhost' || host === '127.0.0.1' ? 'prometheus' : host; // self-scrape
      expect(`${job}: ${host} is a compose service: ${service in services}`).toBe(`${job}: ${host} is a compose service: true`);
      expect(`${job}: ${target} listens: ${listeningPorts(service).includes(Number(port))}`).toBe(`${job}: ${target} listens: true`);
    }
  });

  maybe('sends alerts to the compose Alertmanager, on the port it listens on', () => {
    const config = parse(fs.readFileSync(PROMETHEUS_CONFIG, 'utf8')) as { alerting?: { alertmanagers?: Array<{ static_configs?: Array<{ targets?: string[] }> }> } };
    const targets = (config.alerting?.alertmanagers ?? []).flatMap((a) => a.static_configs ?? []).flatMap((c) => c.targets ?? []);
    expect(targets).toEqual([`alertmanager:${listeningPorts('alertmanager')[0]}`]);
  });

  maybe('has the scrape jobs docs/architecture.md names', () => {
    expect(scrapeConfigs().map((job) => job.job_name)).toEqual(expect.arrayContaining(PROMETHEUS_JOBS));
  });

  maybe('finds every replica of a scaled worker (DNS service discovery, not one static target)', () => {
    for (const worker of WORKERS) {
      const job = scrapeConfigs().find((j) => j.job_name === worker);
      expect(job?.dns_sd_configs?.flatMap((c) => c.names ?? [])).toContain(worker);
    }
  });
});
