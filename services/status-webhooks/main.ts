import { loadConfig } from '../shared/config/load-config';
import { startOpsServer } from '../shared/http/ops-server';
import { createLogger } from '../shared/logger/logger';
import { brokerAccess, type BrokerAccess } from '../shared/config/broker-access';
import { BrokerConnection } from '../shared/messaging/connection';
import { createRegistry } from '../shared/metrics/registry';
import { installProcessHandlers } from '../shared/process/process-handlers';
import { dispatcherConfigSchema, dispatcherMainConfigSchema } from './dispatcher-config';
import { startStatusWebhookDispatcher } from './dispatcher';

/** The status-webhook dispatcher in a process of its own (it may instead run inside the status service). */
async function main(): Promise<void> {
  const logger = createLogger('status-webhooks');
  installProcessHandlers(logger);
  let config;
  let dispatcherConfig;
  let broker: BrokerAccess;
  try {
    config = loadConfig(dispatcherMainConfigSchema);
    broker = brokerAccess(config);
    dispatcherConfig = loadConfig(dispatcherConfigSchema);
  } catch (error) {
    logger.fatal({ err: error }, 'status-webhooks cannot start');
    process.exit(1);
  }
  const registry = createRegistry();
  const connection = new BrokerConnection({ ...broker, name: 'status-webhooks' }, logger);
  connection.start();
  const dispatcher = startStatusWebhookDispatcher(connection, dispatcherConfig, logger, registry);
  const ops = await startOpsServer({ port: config.METRICS_PORT, registry, ready: () => connection.state === 'connected' && dispatcher.ready() });
  logger.info({ metricsPort: config.METRICS_PORT, retryDelays: dispatcherConfig.STATUS_WEBHOOK_RETRY_DELAYS }, 'status-webhooks started');
  process.send?.('ready');

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await dispatcher.stop(config.SHUTDOWN_TIMEOUT_MS);
    await connection.close();
    ops.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

void main();
