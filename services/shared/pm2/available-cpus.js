'use strict';
// Plain JavaScript: ecosystem files are read by PM2 before anything is compiled.
const fs = require('node:fs');
const os = require('node:os');

/**
 * CPUs this process may really use. PM2's `instances: 'max'` counts the host's CPUs, which in a container limited
 * by cgroups (docker --cpus) starts more workers than there is CPU for. cgroup v2 `cpu.max` holds "quota period".
 */
function availableCpus() {
  const host = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  try {
    const [quota, period] = fs.readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota !== 'max' && Number(period) > 0) return Math.max(1, Math.min(host, Math.floor(Number(quota) / Number(period))));
  } catch {
    // No cgroup v2 limit visible: fall back to the host count.
  }
  return host;
}

/** API_INSTANCES if set to a positive integer, else the CPUs available. */
function apiInstances(env = process.env) {
  const wanted = Number.parseInt(env.API_INSTANCES ?? '', 10);
  return Number.isInteger(wanted) && wanted > 0 ? wanted : availableCpus();
}

module.exports = { availableCpus, apiInstances };
