'use strict';
// Plain JavaScript: ecosystem files are read by PM2 before anything is compiled.
const fs = require('node:fs');
const os = require('node:os');

/** "quota period" of the CPU limit in force: cgroup v2 `cpu.max`, else cgroup v1 `cpu.cfs_quota_us`/`_period_us`. */
function readCpuQuota(root) {
  try {
    const [quota, period] = fs.readFileSync(`${root}/cpu.max`, 'utf8').trim().split(/\s+/);
    return quota === 'max' ? undefined : { quota: Number(quota), period: Number(period) };
  } catch {
    // not cgroup v2
  }
  for (const dir of [`${root}/cpu`, `${root}/cpu,cpuacct`]) {
    try {
      const quota = Number(fs.readFileSync(`${dir}/cpu.cfs_quota_us`, 'utf8').trim());
      const period = Number(fs.readFileSync(`${dir}/cpu.cfs_period_us`, 'utf8').trim());
      return quota > 0 ? { quota, period } : undefined; // -1: no limit
    } catch {
      // not this layout
    }
  }
  return undefined;
}

/**
 * CPUs this process may really use. PM2's `instances: 'max'` counts the host's CPUs, which in a container limited
 * by cgroups (compose `cpus:`, docker --cpus) starts more workers than there is CPU for.
 */
function availableCpus(cgroupRoot = '/sys/fs/cgroup') {
  const host = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const limit = readCpuQuota(cgroupRoot);
  if (limit && limit.period > 0) return Math.max(1, Math.min(host, Math.floor(limit.quota / limit.period)));
  return host;
}

/** API_INSTANCES if set to a positive integer, else the CPUs available. */
function apiInstances(env = process.env) {
  const wanted = Number.parseInt(env.API_INSTANCES ?? '', 10);
  return Number.isInteger(wanted) && wanted > 0 ? wanted : availableCpus();
}

module.exports = { availableCpus, apiInstances };
