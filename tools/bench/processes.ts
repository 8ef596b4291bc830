import fs from 'node:fs';

export { processTree, readStat, type ProcStat } from '../lib/proc';
export { killAllGroupsNow, startGroup, stopAllGroups, type GroupProcess } from '../lib/process-group';

/** Resident memory of a process in kB, from /proc. */
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
    // PM2 may cut a fork-mode app's title short (see test/support/processes.ts): no `.js` required.
    if (/dist\/services\/app\/limits\//.test(command)) return 'app-limits';
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
