import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { processTree, readStat, signal } from './proc';

/** A process started in a process group of its own; stopping it stops the whole group and what left it. */
export interface GroupProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The tail of its stdout and stderr, for error reports. */
  output: () => string;
  exited: Promise<number | null>;
  /** Sends `name` to the group, SIGKILL after `timeoutMs`; resolves with the leader's exit code. */
  stop: (name?: NodeJS.Signals, timeoutMs?: number) => Promise<number | null>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd: string;
  /** A folder removed once the process has stopped (e.g. a PM2 home). */
  cleanup?: string;
}

const started = new Set<GroupProcess>();

/**
 * Spawns `command` detached, in a process group of its own, so that stopping it by PID also stops what it started
 * (pm2-runtime's apps). Descendants that moved to groups of their own (PM2 may start apps that way) are found at
 * stop time and killed if they outlive the leader. Everything started here is tracked for `stopAllGroups()`.
 */
export function startGroup(name: string, command: string, args: string[], options: StartOptions): GroupProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
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
    async stop(name = 'SIGTERM', timeoutMs = 20_000) {
      const strays = processTree(pid).filter((member) => member !== pid && readStat(member)?.pgrp !== pid);
      if (child.exitCode === null && child.signalCode === null) {
        signal(-pid, name);
        const timer = setTimeout(() => signal(-pid, 'SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      signal(-pid, 'SIGKILL'); // anything that outlived its leader
      for (const stray of strays) signal(stray, 'SIGKILL');
      if (options.cleanup) fs.rmSync(options.cleanup, { recursive: true, force: true });
      started.delete(handle);
      return child.exitCode;
    },
  };
  started.add(handle);
  return handle;
}

export async function stopAllGroups(): Promise<void> {
  await Promise.all([...started].map((handle) => handle.stop('SIGTERM')));
}

/** Synchronous last resort for signal handlers and `exit`: SIGKILL every group still tracked. */
export function killAllGroupsNow(): void {
  for (const handle of started) signal(-handle.pid, 'SIGKILL');
}
