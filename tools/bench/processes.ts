import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { processTree, readStat } from '../lib/proc';

export { processTree, readStat, type ProcStat } from '../lib/proc';

/** A process the benchmark started in a process group of its own; stopping it stops the whole group. */
export interface GroupProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<void>;
}

const started = new Set<GroupProcess>();

/** Spawns `command` detached (own process group), keeping the tail of its output for error reports. */
export function startGroup(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): GroupProcess {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 100_000) output = output.slice(-50_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: GroupProcess = {
    name,
    pid,
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      // Descendants in groups of their own are remembered now and killed if they outlive the leader.
      const strays = processTree(pid).filter((member) => member !== pid && readStat(member)?.pgrp !== pid);
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(pid, signal);
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      killGroup(pid, 'SIGKILL'); // anything that outlived its leader
      for (const stray of strays) {
        try {
          process.kill(stray, 'SIGKILL');
        } catch {
          // gone
        }
      }
      started.delete(handle);
    },
  };
  started.add(handle);
  return handle;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already empty
  }
}

export async function stopAllGroups(): Promise<void> {
  await Promise.all([...started].map((handle) => handle.stop('SIGTERM')));
}

/** Synchronous last resort for signal handlers and `exit`: SIGKILL every group still tracked. */
export function killAllGroupsNow(): void {
  for (const handle of started) killGroup(handle.pid, 'SIGKILL');
}

/**
 * `root` and every process in its group or below it in the process tree (PM2 may start apps in groups of their
 * own, so the group alone is not enough).
 */
export function readRssKb(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A short, stable label for a process: the service or tool it runs (PM2 rewrites its apps' process titles to
 * "node <script>"), `pm2-runtime` for PM2 itself, else the executable's name (beam.smp, erl_child_setup, ...).
 */
export function processLabel(pid: number): string {
  try {
    const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    const service = /dist\/services\/([\w-]+)\/main\.js/.exec(command);
    if (service) return service[1] as string;
    const tool = /dist\/tools\/([\w/-]+)\.js(?: ([\w-]+))?/.exec(command);
    if (tool) return `${(tool[1] as string).replace(/\//g, '-')}${tool[2] ? `:${tool[2]}` : ''}`;
    if (/pm2/i.test(command)) return 'pm2-runtime';
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'gone';
  }
}
