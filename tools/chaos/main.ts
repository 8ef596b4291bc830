/**
 * `make chaos`: the long fault run. Drives CHAOS_MESSAGES requests (default 12000) through the native stack while
 * the sandbox fails deliveries, a worker is SIGKILLed and the broker restarted; exits 1 if any accepted message
 * was neither delivered nor dead-lettered. docs/failure-modes.md explains what it shows.
 * Env: CHAOS_MESSAGES, CHAOS_CONCURRENCY (50), CHAOS_TRANSIENT_RATE (0.05), CHAOS_PERMANENT_RATE (0.01),
 *      CHAOS_KILL_AT (0.3), CHAOS_RESTART_AT (0.6; "none" skips a step), CHAOS_DRAIN_TIMEOUT_MS (180000).
 */
import { DEFAULT_OPTIONS, killStackNow, runChaos } from './run';
import { formatResult } from './report';

function numberEnv(name: string, fallback: number | undefined): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (value === 'none') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${name} must be a non-negative number or "none" (got "${value}")`);
  return parsed;
}

async function main(): Promise<number> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killStackNow();
      process.exit(130);
    });
  }
  const result = await runChaos({
    ...DEFAULT_OPTIONS,
    messages: numberEnv('CHAOS_MESSAGES', 12_000) ?? 12_000,
    concurrency: numberEnv('CHAOS_CONCURRENCY', DEFAULT_OPTIONS.concurrency) ?? DEFAULT_OPTIONS.concurrency,
    faults: {
      transientRate: numberEnv('CHAOS_TRANSIENT_RATE', DEFAULT_OPTIONS.faults.transientRate),
      permanentRate: numberEnv('CHAOS_PERMANENT_RATE', DEFAULT_OPTIONS.faults.permanentRate),
    },
    killWorkerAt: numberEnv('CHAOS_KILL_AT', DEFAULT_OPTIONS.killWorkerAt),
    restartBrokerAt: numberEnv('CHAOS_RESTART_AT', DEFAULT_OPTIONS.restartBrokerAt),
    drainTimeoutMs: numberEnv('CHAOS_DRAIN_TIMEOUT_MS', DEFAULT_OPTIONS.drainTimeoutMs) ?? DEFAULT_OPTIONS.drainTimeoutMs,
    log: (line) => console.log(`chaos: ${line}`),
  });
  console.log(formatResult(result));
  return result.lost > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`chaos: run failed: ${error.stack ?? error.message}`);
    killStackNow();
    process.exit(2);
  },
);
