import type * as amqp from 'amqplib';
import { brokerAccess, type BrokerAccess } from '../config/broker-access';
import { loadConfig } from '../config/load-config';
import { createLogger, type Logger } from '../logger/logger';
import { startOpsServer } from '../http/ops-server';
import { BrokerConnection } from '../messaging/connection';
import { QueueConsumer } from '../messaging/consumer';
import { ConfirmPublisher } from '../messaging/publisher';
import { DEAD_LETTER_EXCHANGE, RETRY_EXCHANGE, retryQueue, workQueue, type MessageType } from '../messaging/topology';
import { TopologyError } from '../messaging/errors';
import { createRegistry } from '../metrics/registry';
import { installProcessHandlers } from '../process/process-handlers';
import { CredentialsPause } from './credentials-pause';
import { createDeliveryHandler } from './delivery-handler';
import type { Provider } from './provider';
import { RecentIds } from './recent-ids';
import { workerConfigSchema, type WorkerConfig } from './worker-config';
import { createWorkerMetrics } from './worker-metrics';

export interface WorkerDefinition<T extends MessageType> {
  type: T;
  /** Default native metrics port (9101 sms, 9102 email, 9103 notif). */
  metricsPort: number;
  /** Reads the provider's own settings (throws ConfigError naming the variable) and builds it. */
  createProvider: (env: NodeJS.ProcessEnv, logger: Logger) => Provider<T>;
}

/** Checks, once per process, that the broker has what this worker needs; it never declares anything. */
async function verifyTopology(model: amqp.ChannelModel, type: MessageType, config: WorkerConfig): Promise<void> {
  const needed: Array<[string, (channel: amqp.Channel) => Promise<unknown>]> = [
    [`queue ${workQueue(type)}`, (channel) => channel.checkQueue(workQueue(type))],
    [`exchange ${RETRY_EXCHANGE}`, (channel) => channel.checkExchange(RETRY_EXCHANGE)],
    [`exchange ${DEAD_LETTER_EXCHANGE}`, (channel) => channel.checkExchange(DEAD_LETTER_EXCHANGE)],
    ...config.RETRY_DELAYS.map((tier): [string, (channel: amqp.Channel) => Promise<unknown>] => [
      `queue ${retryQueue(tier)} (RETRY_DELAYS)`,
      (channel) => channel.checkQueue(retryQueue(tier)),
    ]),
  ];
  for (const [name, check] of needed) {
    // A failed passive declare closes its channel, so each check gets a fresh one.
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    try {
      await check(channel);
    } catch (error) {
      throw new TopologyError(`topology check failed: ${name} is missing from the broker (${(error as Error).message}); load rabbitmq/definitions.json`);
    }
    await channel.close().catch(() => undefined);
  }
}

/** Boots a worker: config, broker connection, consumer, metrics and health endpoints, graceful drain. */
export async function runWorker<T extends MessageType>(definition: WorkerDefinition<T>): Promise<void> {
  const service = `${definition.type}-worker`;
  const logger = createLogger(service);
  installProcessHandlers(logger);
  let config: WorkerConfig;
  let provider: Provider<T>;
  let broker: BrokerAccess;
  try {
    config = loadConfig(workerConfigSchema({ amqpUser: `relay-${service}`, metricsPort: definition.metricsPort }));
    broker = brokerAccess(config);
    provider = definition.createProvider(process.env, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'worker cannot start');
    process.exit(1);
  }

  const registry = createRegistry();
  const metrics = createWorkerMetrics(registry);
  const connection = new BrokerConnection({ ...broker, name: service }, logger);
  connection.on('connected', () => metrics.brokerConnected.set(1));
  connection.on('disconnected', () => metrics.brokerConnected.set(0));
  connection.once('connected', (model: amqp.ChannelModel) => {
    verifyTopology(model, definition.type, config).catch((error: Error) => {
      logger.fatal({ err: error }, 'worker cannot start');
      process.exit(1);
    });
  });

  // Every item of every prefetched delivery may need a retry or dead-letter publish at once.
  const publisher = new ConfirmPublisher(connection, logger, { maxInFlight: config.PREFETCH * 100 });
  const type = definition.type;
  metrics.credentialsRejected.set({ type }, 0);
  metrics.consuming.set({ type }, 0);
  const credentials = new CredentialsPause({
    minMs: config.CREDENTIALS_PAUSE_MIN_MS,
    maxMs: config.CREDENTIALS_PAUSE_MAX_MS,
    onPause: (ms, consecutive) => {
      metrics.credentialsRejected.set({ type }, 1);
      logger.error({ pauseMs: ms, consecutive }, 'the provider refused our credentials; pausing consumption (check the provider settings)');
      void consumer.pauseFor(ms);
    },
    onRecovered: () => {
      metrics.credentialsRejected.set({ type }, 0);
      logger.info('the provider accepts our credentials again');
    },
  });
  const handler = createDeliveryHandler({ provider, publisher, metrics, logger, retryDelays: config.RETRY_DELAYS, concurrency: config.CONCURRENCY, credentials, recent: new RecentIds(config.RECENT_IDS) });
  const consumer = new QueueConsumer(connection, logger, {
    queue: workQueue(type),
    prefetch: config.PREFETCH,
    handler,
    onConsumingChange: (consuming) => metrics.consuming.set({ type }, consuming ? 1 : 0),
  });
  connection.start();

  const server = await startOpsServer({
    port: config.METRICS_PORT,
    registry,
    ready: () => connection.state === 'connected' && consumer.consuming && publisher.ready,
  });
  logger.info({ metricsPort: config.METRICS_PORT, prefetch: config.PREFETCH, retryDelays: config.RETRY_DELAYS }, 'worker started');
  process.send?.('ready');

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    const started = Date.now();
    logger.info({ signal, inFlight: consumer.inFlightCount }, 'draining');
    await consumer.stop(config.SHUTDOWN_TIMEOUT_MS);
    await publisher.settle(1000);
    await publisher.close();
    await connection.close();
    await provider.close().catch(() => undefined);
    server.close();
    logger.info({ ms: Date.now() - started }, 'drained; exiting');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
