import fs from 'node:fs';

/** What /proc says of one process. */
export interface ProcStat {
  ppid: number;
  pgrp: number;
  /** utime + stime in clock ticks. */
  cpuTicks: number;
}

export function readStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), pgrp: Number(fields[2]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/**
 * `root`, the members of its process group, and everything below them in the process tree. PM2 may start its apps
 * in process groups of their own, so killing a group is not enough to stop what a pm2-runtime started.
 */
export function processTree(root: number): number[] {
  const stats = new Map<number, ProcStat>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  const members = new Set<number>();
  for (const [pid, stat] of stats) if (pid === root || stat.pgrp === root) members.add(pid);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, stat] of stats) {
      if (!members.has(pid) && members.has(stat.ppid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  return [...members];
}

/** Sends `name` to `pid` (a negative pid: to that process group), ignoring processes that are already gone. */
export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
