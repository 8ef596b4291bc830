import fs from 'node:fs';
import os from 'node:os';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { brokerPasswordFile } from '../../tools/lib/local-broker';
import { commandLine, processTree } from '../../tools/lib/proc';
import { startGroup, stopAllGroups, type GroupProcess } from '../../tools/lib/process-group';
import { securityEnv } from './api-keys';
import { ROOT } from './broker';
import { APP_OPS, READY_URLS, waitReady } from './stack';
import { waitFor } from './wait';

// The broker user each service logs in as, from the PM2 helper that sets it for make dev and the stack tests.
const { brokerUser } = require('../../services/shared/pm2/worker-app') as { brokerUser: (service: string) => string | undefined };

export type RunningProcess = GroupProcess;

const run = promisify(execFile);

/**
 * Starts a process in its own process group (tools/lib/process-group.ts), so stopping it by PID also stops what it
 * started; `cleanup` names a folder removed once it has stopped. `stopAll()` (called in afterAll) stops everything
 * started here, so a test file leaves nothing running.
 */
export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cleanup?: string): RunningProcess {
  return startGroup(path.basename(command), command, args, { env, cwd: ROOT, cleanup });
}

export function stopAll(): Promise<void> {
  return stopAllGroups();
}

/**
 * Starts a compiled service directly with node (no PM2), e.g. a worker a test will signal itself. A broker client
 * logs in as relay-<service> with its generated password, as under PM2 (services/shared/pm2/worker-app.js).
 */
export function startService(service: string, env: NodeJS.ProcessEnv = {}): RunningProcess {
  const script = path.join(ROOT, 'dist/services', service, 'main.js');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` (make test does) first`);
  const user = brokerUser(service);
  const password = user ? { AMQP_PASSWORD_FILE: brokerPasswordFile(user) } : {};
  return startProcess(process.execPath, [script], { LOG_LEVEL: 'warn', ...password, ...env });
}

/**
 * Starts the given services under one pm2-runtime with a PM2 home of its own, as `make dev` does; the app reads the
 * test key file (support/api-keys.ts).
 */
export function startPm2(services: string[], env: NodeJS.ProcessEnv = {}): RunningProcess & { pm2Home: string } {
  for (const service of services) {
    const script = path.join(ROOT, 'dist/services', service, 'main.js');
    if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` (make test does) first`);
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-pm2-'));
  const ecosystem = path.join(home, 'ecosystem.config.js');
  const requires = services.map((service) => `...require(${JSON.stringify(path.join(ROOT, 'services', service, 'ecosystem.config.js'))}).apps`);
  fs.writeFileSync(ecosystem, `module.exports = { apps: [${requires.join(', ')}] };\n`);
  // As make dev: the sms worker asks for Twilio status callbacks on the app's route (docs/architecture.md).
  const callbacks = { TWILIO_STATUS_CALLBACK_URL: 'http://127.0.0.1:8080/v1/callbacks/twilio' };
  return Object.assign(startProcess(path.join(ROOT, 'node_modules/.bin/pm2-runtime'), [ecosystem], { PM2_HOME: home, LOG_LEVEL: 'warn', ...securityEnv(), ...callbacks, ...env }, home), { pm2Home: home });
}

/** Runs the pm2 CLI against a pm2-runtime started by startPm2 (e.g. `reload app`); resolves with its stdout. */
export async function pm2Cli(pm2Home: string, args: string[]): Promise<string> {
  const { stdout } = await run(path.join(ROOT, 'node_modules/.bin/pm2'), args, { env: { ...process.env, PM2_HOME: pm2Home }, timeout: 120_000 });
  return stdout;
}

/** PIDs of a PM2 app's processes (pm2 jlist). */
export async function pm2Pids(pm2Home: string, app: string): Promise<number[]> {
  const list = JSON.parse(await pm2Cli(pm2Home, ['jlist'])) as Array<{ name: string; pid: number }>;
  return list.filter((p) => p.name === app).map((p) => p.pid).sort();
}

/**
 * `pid script` of every service process under a pm2-runtime (PM2 API instances, app-limits, workers), sorted: the
 * same list before and after a test means nothing crashed and was restarted by PM2. PM2 sets each app's title to
 * `node <script>`, cut to the length of the command line it replaces: in a checkout with a longer path than usual
 * a fork-mode app's title loses its end (`.../app/limits/limits-master.`), so `.js` is not required.
 */
export function servicePids(stack: RunningProcess): string[] {
  return processTree(stack.pid)
    .map((pid) => ({ pid, script: /dist\/services\/([\w/.-]+)/.exec(commandLine(pid))?.[1] }))
    .filter((entry) => entry.script !== undefined)
    .map((entry) => `${entry.pid} ${entry.script}`)
    .sort();
}

/**
 * The app alone under pm2-runtime with two API instances and app-limits, as the security and fuzz tests use it;
 * resolves once both listeners are ready and all three processes run, with their `pid script` list. PM2 starts
 * the second instance only once the first is ready, hence the wait on the process list.
 */
export async function startApiPair(env: NodeJS.ProcessEnv = {}): Promise<{ stack: RunningProcess; pids: string[] }> {
  const stack = startPm2(['app'], { API_INSTANCES: '2', ...env });
  await waitReady([READY_URLS.app, `${APP_OPS}/readyz`]);
  const pids = await waitFor('app-limits and two API instances', async () => {
    const list = servicePids(stack);
    return list.length === 3 ? list : undefined;
  });
  return { stack, pids };
}
