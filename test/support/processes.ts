import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processTree, readStat, signal } from '../../tools/lib/proc';
import { ROOT } from './broker';

export interface RunningProcess {
  pid: number;
  child: ChildProcess;
  output: () => string;
  /** Sends `signal` to the process group and waits for the leader to exit (SIGKILL after `timeoutMs`). */
  stop: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<number | null>;
  exited: Promise<number | null>;
}

const started = new Set<RunningProcess>();

/**
 * Starts a process in its own process group, so stopping it by PID also stops what it started (pm2-runtime's
 * apps); `cleanup` names a folder removed once it has stopped. Everything started here is tracked, and
 * `stopAll()` (called in afterAll) leaves nothing running.
 */
export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cleanup?: string): RunningProcess {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  const handle: RunningProcess = {
    pid,
    child,
    output: () => output,
    exited,
    async stop(name = 'SIGTERM', timeoutMs = 20_000) {
      // Descendants in process groups of their own (PM2 may start apps that way) are remembered now and killed
      // if they outlive the leader.
      const strays = processTree(pid).filter((member) => member !== pid && readStat(member)?.pgrp !== pid);
      if (child.exitCode === null && child.signalCode === null) {
        signal(-pid, name);
        const timer = setTimeout(() => signal(-pid, 'SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      signal(-pid, 'SIGKILL');
      for (const stray of strays) signal(stray, 'SIGKILL');
      if (cleanup) fs.rmSync(cleanup, { recursive: true, force: true });
      started.delete(handle);
      return child.exitCode;
    },
  };
  started.add(handle);
  return handle;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((handle) => handle.stop('SIGTERM')));
}

/** Starts a compiled service directly with node (no PM2), e.g. a worker a test will signal itself. */
export function startService(service: string, env: NodeJS.ProcessEnv = {}): RunningProcess {
  const script = path.join(ROOT, 'dist/services', service, 'main.js');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` (make test does) first`);
  return startProcess(process.execPath, [script], { LOG_LEVEL: 'warn', ...env });
}

/** Starts the given services under one pm2-runtime with a PM2 home of its own, as `make dev` does. */
export function startPm2(services: string[], env: NodeJS.ProcessEnv = {}): RunningProcess {
  for (const service of services) {
    const script = path.join(ROOT, 'dist/services', service, 'main.js');
    if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` (make test does) first`);
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-pm2-'));
  const ecosystem = path.join(home, 'ecosystem.config.js');
  const requires = services.map((service) => `...require(${JSON.stringify(path.join(ROOT, 'services', service, 'ecosystem.config.js'))}).apps`);
  fs.writeFileSync(ecosystem, `module.exports = { apps: [${requires.join(', ')}] };\n`);
  return startProcess(path.join(ROOT, 'node_modules/.bin/pm2-runtime'), [ecosystem], { PM2_HOME: home, LOG_LEVEL: 'warn', ...env }, home);
}
