import pm2 from 'pm2';
import { RateLimiterClusterMasterPM2 } from 'rate-limiter-flexible';
import { createLogger } from '../../shared/logger/logger';
import { installProcessHandlers } from '../../shared/process/process-handlers';

/**
 * The one place the rate-limit counters of the PM2 cluster live (a PM2 app of its own next to the API instances,
 * services/app/ecosystem.config.js). API instances send each consume() to PM2 over their IPC channel
 * (RateLimiterCluster); PM2 publishes it on its bus, this process counts it in memory and answers the instance
 * through PM2 (pm2.sendDataToProcessId). Kept out of the API instances so an instance restart never resets the
 * counts and the counting costs no API instance any CPU. Counts are lost when this process restarts: limits then
 * start afresh, a short window of leniency, not a failure.
 * https://github.com/animir/node-rate-limiter-flexible/wiki/PM2-cluster
 */
const logger = createLogger('app-limits');
installProcessHandlers(logger);

if (process.env.pm_id === undefined) {
  // pm2.connect() would otherwise start a PM2 daemon of its own, which nobody would ever stop.
  logger.fatal('the limits master runs under PM2 only (pm2-runtime services/app/ecosystem.config.js)');
  process.exit(1);
}

pm2.connect((error) => {
  if (error) {
    logger.fatal({ err: error }, 'cannot reach PM2; exiting');
    process.exit(1);
  }
  new RateLimiterClusterMasterPM2(pm2);
  logger.info('rate-limit counters ready for the PM2 cluster');
  process.send?.('ready');
});

const stop = () => {
  pm2.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
