import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '../lib/wait-for';

const exec = promisify(execFile);

/**
 * The compose command as the Makefile takes it (`COMPOSE="docker-compose -p relay-ct -f ..."`), and the engine's
 * own CLI (podman here, docker elsewhere) for what compose has no verb for: one replica's kill, health, exit code.
 */
export const COMPOSE = process.env.COMPOSE ?? 'docker compose';
export const ENGINE = process.env.COMPOSE_TEST_ENGINE_CLI ?? 'docker';
export const PROJECT = process.env.COMPOSE_PROJECT_NAME ?? 'relay-ct';

export async function run(command: string, args: string[], timeoutMs = 300_000): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: process.env });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${(e.stderr ?? '').slice(-2000)}`);
  }
}

/** Runs one of the Makefile's own compose targets with this run's compose command. */
export function make(target: string, variables: Record<string, string | number> = {}): Promise<string> {
  const vars = Object.entries({ COMPOSE, ...variables }).map(([k, v]) => `${k}=${v}`);
  return run('make', ['--no-print-directory', target, ...vars], 600_000);
}

export function compose(...args: string[]): Promise<string> {
  const [command, ...base] = COMPOSE.split(/\s+/).filter(Boolean);
  return run(command!, [...base, ...args]);
}

export interface Container { id: string; name: string; service: string }

/** The project's containers (running ones, or all with `all`), optionally of one service. */
export async function containers(service?: string, all = false): Promise<Container[]> {
  const filters = ['--filter', `label=com.docker.compose.project=${PROJECT}`];
  if (service) filters.push('--filter', `label=com.docker.compose.service=${service}`);
  const out = await run(ENGINE, ['ps', ...(all ? ['-a'] : []), ...filters, '--format', '{{.ID}} {{.Names}}']);
  const listed = out.split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/) as [string, string]);
  // `ps --format` differs between engines for labels; `inspect` reads them the same way on docker and podman.
  return Promise.all(listed.map(async ([id, name]) => ({
    id, name, service: service ?? await inspect(id, '{{index .Config.Labels "com.docker.compose.service"}}').catch(() => '?'),
  })));
}

export async function inspect(id: string, format: string): Promise<string> {
  return (await run(ENGINE, ['inspect', '--format', format, id])).trim();
}

export const health = (id: string) => inspect(id, '{{.State.Health.Status}}');

/** Waits until every running container of the project reports `healthy` through its own healthcheck. */
export function waitHealthy(expected: string[], timeoutMs: number): Promise<Map<string, string>> {
  return waitFor('every container healthy', async () => {
    const states = new Map<string, string>();
    for (const c of await containers()) states.set(c.name, `${c.service}:${await health(c.id).catch(() => 'gone')}`);
    const services = new Set([...states.values()].map((s) => s.split(':')[0]));
    const allHealthy = [...states.values()].every((s) => s.endsWith(':healthy'));
    if (allHealthy && expected.every((s) => services.has(s))) return states;
    throw new Error(`not healthy: ${[...states].map(([n, s]) => `${n}=${s}`).join(' ')}`);
  }, timeoutMs, 1000);
}
