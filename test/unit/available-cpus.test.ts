// eslint-disable-next-line @typescript-eslint/no-require-imports
const { apiInstances, availableCpus } = require('../../services/shared/pm2/available-cpus') as {
  apiInstances: (env?: NodeJS.ProcessEnv) => number;
  availableCpus: (cgroupRoot?: string) => number;
};
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A cgroup filesystem laid out as the kernel shows it, with the given files. */
function cgroupTree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-cgroup-'));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), `${content}\n`);
  }
  return root;
}

describe('PM2 instances for the API', () => {
  test('API_INSTANCES wins when it is a positive integer', () => {
    expect(apiInstances({ API_INSTANCES: '3' })).toBe(3);
  });

  test('otherwise the CPUs this process may use, never more than the host has', () => {
    expect(apiInstances({})).toBe(availableCpus());
    expect(apiInstances({ API_INSTANCES: 'max' })).toBe(availableCpus());
    expect(availableCpus()).toBeGreaterThanOrEqual(1);
    expect(availableCpus()).toBeLessThanOrEqual(require('node:os').availableParallelism());
  });
});

describe('the CPU limit of a container', () => {
  const host = os.availableParallelism();
  test('cgroup v2: cpu.max "quota period", rounded down, at least one', () => {
    expect(availableCpus(cgroupTree({ 'cpu.max': '150000 100000' }))).toBe(1);
    expect(availableCpus(cgroupTree({ 'cpu.max': '50000 100000' }))).toBe(1);
    expect(availableCpus(cgroupTree({ 'cpu.max': 'max 100000' }))).toBe(host);
  });

  test('cgroup v1 (podman or Docker on a v1 host): cpu.cfs_quota_us / cpu.cfs_period_us; -1 means no limit', () => {
    expect(availableCpus(cgroupTree({ 'cpu/cpu.cfs_quota_us': '100000', 'cpu/cpu.cfs_period_us': '100000' }))).toBe(1);
    expect(availableCpus(cgroupTree({ 'cpu,cpuacct/cpu.cfs_quota_us': '-1', 'cpu,cpuacct/cpu.cfs_period_us': '100000' }))).toBe(host);
  });

  test('never more than the host has', () => {
    expect(availableCpus(cgroupTree({ 'cpu.max': `${(host + 4) * 100000} 100000` }))).toBe(host);
  });
});
