import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './stack-http';

/** pm2-runtime and its apps, started in a process group of their own; `stop()` leaves none of them running. */
export interface Pm2Stack {
  pid: number;
  home: string;
  logFile: string;
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
    env: { ...process.env, PM2_HOME: home, ...env },
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

function signalGroup(pid: number, name: NodeJS.Signals): void {
  signal(-pid, name);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** `root`, the members of its process group, and everything below them in the process tree. */
export function processTree(root: number): number[] {
  const parents = new Map<number, { ppid: number; pgrp: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), { ppid: Number(fields[1]), pgrp: Number(fields[2]) });
    } catch {
      // exited meanwhile
    }
  }
  const members = new Set<number>([...parents].filter(([pid, stat]) => pid === root || stat.pgrp === root).map(([pid]) => pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, stat] of parents) {
      if (!members.has(pid) && members.has(stat.ppid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  return [...members];
}
