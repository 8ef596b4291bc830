import type * as amqp from 'amqplib';
import { brokerAccess, type BrokerAccess } from '../config/broker-access';
import { loadConfig } from '../config/load-config';
import { createLogger, type Logger } from '../logger/logger';
import { startOpsServer } from '../http/ops-server';
import { BrokerConnection } from '../messaging/connection';
import { QueueConsumer } from '../messaging/consumer';
import { ConfirmPublisher } from '../messaging/publisher';
import { CIRCUITS_EXCHANGE, DEAD_LETTER_EXCHANGE, RETRY_EXCHANGE, retryQueue, workQueue, type MessageType } from '../messaging/topology';
import { TopologyError } from '../messaging/errors';
import { createRegistry } from '../metrics/registry';
import { BrokerStatusReporter } from '../status/broker-status-reporter';
import { installProcessHandlers } from '../process/process-handlers';
import type { NamedProvider } from '../failover/providers-config';
import { SYNC_ANSWER_MS, SYNC_MAX_WAIT_MS } from '../failover/circuit-bus';
import { createWorkerFailover } from '../failover/worker-failover';
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
  /**
   * Reads the providers' own settings (throws ConfigError naming the variable) and builds them, in failover order
   * (failover/providers-config.ts).
   */
  createProviders: (env: NodeJS.ProcessEnv, logger: Logger) => NamedProvider<T>[];
}

type TopologyCheck = [string, (channel: amqp.Channel) => Promise<unknown>];

/** Checks, once per process, that the broker has what this worker needs; it never declares anything. */
async function verifyTopology(model: amqp.ChannelModel, type: MessageType, config: WorkerConfig, failover: boolean): Promise<void> {
  const circuits: TopologyCheck = [`exchange ${CIRCUITS_EXCHANGE} (several providers)`, (channel) => channel.checkExchange(CIRCUITS_EXCHANGE)];
  const needed: TopologyCheck[] = [
    [`queue ${workQueue(type)}`, (channel) => channel.checkQueue(workQueue(type))],
    [`exchange ${RETRY_EXCHANGE}`, (channel) => channel.checkExchange(RETRY_EXCHANGE)],
    [`exchange ${DEAD_LETTER_EXCHANGE}`, (channel) => channel.checkExchange(DEAD_LETTER_EXCHANGE)],
    ...(failover ? [circuits] : []),
    ...config.RETRY_DELAYS.map((tier): TopologyCheck => [
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
  let providers: NamedProvider<T>[];
  let broker: BrokerAccess;
  try {
    config = loadConfig(workerConfigSchema({ amqpUser: `relay-${service}`, metricsPort: definition.metricsPort }));
    broker = brokerAccess(config);
    providers = definition.createProviders(process.env, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'worker cannot start');
    process.exit(1);
  }

  const registry = createRegistry();
  const metrics = createWorkerMetrics(registry);
  const type = definition.type;
  const connection = new BrokerConnection({ ...broker, name: service }, logger);
  const failover = createWorkerFailover(type, providers, { config, metrics, logger, connection });
  const provider: Provider<T> = failover.provider;
  connection.on('connected', () => metrics.brokerConnected.set(1));
  connection.on('disconnected', () => metrics.brokerConnected.set(0));
  connection.once('connected', (model: amqp.ChannelModel) => {
    verifyTopology(model, definition.type, config, providers.length > 1).catch((error: Error) => {
      logger.fatal({ err: error }, 'worker cannot start');
      process.exit(1);
    });
  });

  // Every item of every prefetched delivery may need a retry or dead-letter publish at once.
  const publisher = new ConfirmPublisher(connection, logger, { maxInFlight: config.PREFETCH * 100 });
  failover.bus?.start();
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
  // Status events go over a channel of their own: nothing about status can close the channel of the republishes.
  const statusPublisher = new ConfirmPublisher(connection, logger, { maxInFlight: 16 });
  const status = config.STATUS_TRACKING ? new BrokerStatusReporter(statusPublisher, logger, { registry }) : undefined;
  const handler = createDeliveryHandler({
    provider, publisher, metrics, logger, retryDelays: config.RETRY_DELAYS, concurrency: config.CONCURRENCY, credentials, recent: new RecentIds(config.RECENT_IDS), status,
  });
  const consumer = new QueueConsumer(connection, logger, {
    queue: workQueue(type),
    prefetch: config.PREFETCH,
    handler,
    onConsumingChange: (consuming) => metrics.consuming.set({ type }, consuming ? 1 : 0),
  });
  if (failover.bus) {
    // A starting replica's first deliveries wait until it has heard the other replicas' open circuits, so it does
    // not spend a prefetch worth of calls on a provider they already know is down.
    void consumer.pauseFor(SYNC_MAX_WAIT_MS);
    void failover.bus.joined.then(() => consumer.pauseFor(SYNC_ANSWER_MS));
  }
  connection.start();

  const server = await startOpsServer({
    port: config.METRICS_PORT,
    registry,
    ready: () => connection.state === 'connected' && consumer.consuming && publisher.ready,
  });
  logger.info({ metricsPort: config.METRICS_PORT, prefetch: config.PREFETCH, retryDelays: config.RETRY_DELAYS, providers: providers.map(({ name }) => name) }, 'worker started');
  process.send?.('ready');

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    const started = Date.now();
    logger.info({ signal, inFlight: consumer.inFlightCount }, 'draining');
    await consumer.stop(config.SHUTDOWN_TIMEOUT_MS);
    await publisher.settle(1000);
    await status?.close(1000);
    await publisher.close();
    await failover.bus?.close();
    await statusPublisher.close();
    await connection.close();
    await provider.close().catch(() => undefined);
    server.close();
    logger.info({ ms: Date.now() - started }, 'drained; exiting');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
