import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createLoadKey } from '../lib/load-key';
import { commandLine, processTree, signal } from '../lib/proc';

export { commandLine, processTree } from '../lib/proc';

const signalGroup = (pid: number, name: NodeJS.Signals) => signal(-pid, name);
import { ROOT } from './stack-http';

/** pm2-runtime and its apps, started in a process group of their own; `stop()` leaves none of them running. */
export interface Pm2Stack {
  pid: number;
  home: string;
  logFile: string;
  /** The API key the app accepts (tools/lib/load-key.ts). */
  apiKey: string;
  alive: () => boolean;
  /** PIDs of the node processes running `dist/services/<service>/main.js` under this pm2-runtime. */
  servicePids: (service: string) => number[];
  stop: () => Promise<void>;
}

/**
 * Starts `services` under ONE pm2-runtime with a PM2_HOME of its own (like `make dev`), writing its output (every
 * app's logs) to `<home>/pm2.log`. `appEnv` is merged into the env of the named apps only.
 */
export function startPm2Stack(services: string[], env: NodeJS.ProcessEnv, appEnv: Record<string, Record<string, string>> = {}): Pm2Stack {
  for (const service of services) {
    const script = path.join(ROOT, 'dist/services', service, 'main.js');
    if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  }
  const home = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'relay-chaos-'));
  const ecosystem = path.join(home, 'ecosystem.config.js');
  const loadKey = createLoadKey(home);
  const apps = services.map((service) => {
    const file = JSON.stringify(path.join(ROOT, 'services', service, 'ecosystem.config.js'));
    const extra = JSON.stringify(appEnv[service] ?? {});
    return `...require(${file}).apps.map((app) => ({ ...app, env: { ...app.env, ...${extra} } }))`;
  });
  fs.writeFileSync(ecosystem, `module.exports = { apps: [${apps.join(', ')}] };\n`);
  const logFile = path.join(home, 'pm2.log');
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(path.join(ROOT, 'node_modules/.bin/pm2-runtime'), [ecosystem], {
    cwd: ROOT,
    env: { ...process.env, PM2_HOME: home, ...loadKey.env, ...env },
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start pm2-runtime');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    pid,
    home,
    logFile,
    apiKey: loadKey.key,
    alive,
    servicePids: (service) => processTree(pid).filter((member) => commandLine(member).includes(`dist/services/${service}/main.js`)),
    async stop() {
      // Members in groups of their own are remembered before the leader goes, and killed if they outlive it.
      const strays = processTree(pid).filter((member) => member !== pid);
      if (alive()) {
        signalGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      signalGroup(pid, 'SIGKILL');
      for (const stray of strays) signal(stray, 'SIGKILL');
    },
  };
}

