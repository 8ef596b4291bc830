import { loadConfig } from '../../shared/config/load-config';
import { createLogger } from '../../shared/logger/logger';
import { installProcessHandlers } from '../../shared/process/process-handlers';
import { limitsConfigSchema } from './limits-config';
import { LimitsServer } from './limits-server';
import { MemoryCounters } from './memory-counters';

/**
 * app-limits: the one place the rate-limit counters of the PM2 cluster live (a PM2 app of its own next to the API
 * instances, services/app/ecosystem.config.js). Each API instance keeps one connection to this process's unix
 * socket (LIMITS_SOCKET) and sends its consumes over it (limits-client.ts); this process counts them in memory.
 * Kept out of the API instances so an instance restart never resets the counts and the counting costs no API
 * instance any CPU. Counts are lost when this process restarts: limits then start afresh, a short window of
 * leniency, not a failure.
 *
 * Why not PM2's bus (rate-limiter-flexible's RateLimiterCluster + RateLimiterClusterMasterPM2, used until then):
 * every consume went instance -> PM2's God daemon -> PM2 bus -> this process -> pm2.sendDataToProcessId -> God ->
 * instance, and PM2's daemon serialises every message of every app. Measured at 400 requests/s (open loop, the
 * whole stack on a 2-core box): accept p50 437 ms / p99 9.9 s against 109 ms / 2.5 s with per-process counters,
 * and the God daemon and this process burned 4 s of CPU per 20 s. A direct socket is one write and one read.
 */
const logger = createLogger('app-limits');
installProcessHandlers(logger);

let config;
try {
  config = loadConfig(limitsConfigSchema);
} catch (error) {
  logger.fatal({ err: error }, 'app-limits cannot start');
  process.exit(1);
}
const socketPath = config.LIMITS_SOCKET;
const server = new LimitsServer(new MemoryCounters(), logger);

server.listen(socketPath).then(
  () => {
    logger.info({ socket: socketPath }, 'rate-limit counters ready for the PM2 cluster');
    // wait_ready: PM2 counts this process online once it listens.
    process.send?.('ready');
  },
  (error: unknown) => {
    logger.fatal({ err: error, socket: socketPath }, 'cannot listen on the limits socket; exiting');
    process.exit(1);
  },
);

const stop = () => {
  void server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
