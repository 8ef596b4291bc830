import { brokerAccess, type BrokerAccess } from '../shared/config/broker-access';
import { loadConfig } from '../shared/config/load-config';
import { createLogger } from '../shared/logger/logger';
import { BrokerConnection } from '../shared/messaging/connection';
import { ConfirmPublisher } from '../shared/messaging/publisher';
import { databaseUrlWithPassword } from '../shared/db/database-url';
import { createPool } from '../shared/db/pool';
import { createRegistry } from '../shared/metrics/registry';
import { BrokerStatusReporter } from '../shared/status/broker-status-reporter';
import { installProcessHandlers } from '../shared/process/process-handlers';
import { startOpsServer } from '../shared/http/ops-server';
import { appConfigSchema } from './app-config';
import { KeyStore } from './auth/key-store';
import { RateLimits } from './limits/rate-limits';
import { createAppMetrics } from './app-metrics';
import { ClusterMetrics } from './cluster-metrics';
import { GroupCommitPublisher } from './group-commit';
import { MessageIntake } from './message-intake';
import { HttpDrain } from './http-drain';
import { createApp } from './server';
import { StatusQueries } from './status/status-queries';
import { publishStatusEvents } from '../shared/status/publish-status-events';

/** One PM2 cluster instance of the HTTP API. */
async function main(): Promise<void> {
  const logger = createLogger('app');
  installProcessHandlers(logger);
  let config;
  let databaseUrl: string;
  let broker: BrokerAccess;
  try {
    config = loadConfig(appConfigSchema);
    broker = brokerAccess(config);
    databaseUrl = databaseUrlWithPassword(config.DATABASE_URL, config.DATABASE_PASSWORD_FILE);
  } catch (error) {
    logger.fatal({ err: error }, 'app cannot start');
    process.exit(1);
  }
  const instanceId = process.env.NODE_APP_INSTANCE ?? '0';
  const registry = createRegistry({ app_instance: instanceId });
  let groupCommit: GroupCommitPublisher | undefined;
  const metrics = createAppMetrics(registry, () => groupCommit?.pending ?? 0);
  const clusterMetrics = new ClusterMetrics(registry, config.METRICS_SOCKET_DIR, instanceId);
  await clusterMetrics.start();

  const keys = new KeyStore(config.API_KEYS_FILE, logger);
  try {
    keys.start();
  } catch (error) {
    logger.fatal({ err: error }, 'app cannot start');
    process.exit(1);
  }
  let drain: HttpDrain | undefined;
  const limits = new RateLimits({
    store: config.RATE_LIMIT_STORE,
    socketPath: config.LIMITS_SOCKET,
    recipientMax: config.SMS_RECIPIENT_MAX,
    recipientWindowSeconds: config.SMS_RECIPIENT_WINDOW_SECONDS,
    failOpen: () => drain?.draining ?? false,
    logger,
  });

  const connection = new BrokerConnection({ ...broker, name: `app-${instanceId}` }, logger);
  connection.on('connected', () => metrics.brokerConnected.set(1));
  connection.on('disconnected', () => metrics.brokerConnected.set(0));
  const publisher = new ConfirmPublisher(connection, logger, { maxInFlight: config.PUBLISH_MAX_IN_FLIGHT, confirmTimeoutMs: config.PUBLISH_TIMEOUT_MS });
  groupCommit = new GroupCommitPublisher(publisher, {
    maxBatch: config.GROUP_COMMIT_MAX,
    maxPending: config.PUBLISH_MAX_IN_FLIGHT,
    maxPendingBytes: config.PUBLISH_MAX_PENDING_BYTES,
    maxBatchBytes: config.GROUP_COMMIT_MAX_BYTES,
    windowMs: config.GROUP_COMMIT_WINDOW_MS,
    onBatch: (size) => metrics.batchSize.observe(size),
  });
  // Status events over a channel of their own, so nothing about status can close the channel messages go on.
  const statusPublisher = new ConfirmPublisher(connection, logger, { maxInFlight: 16 });
  const status = config.STATUS_TRACKING ? new BrokerStatusReporter(statusPublisher, logger, { registry }) : undefined;
  // Reads only; the pool connects lazily, so the app starts and sends without the database.
  const statusPool = createPool(
    { url: databaseUrl, max: config.DATABASE_POOL_MAX, applicationName: `relay-app-${instanceId}`, connectionTimeoutMs: config.STATUS_QUERY_TIMEOUT_MS, queryTimeoutMs: config.STATUS_QUERY_TIMEOUT_MS, statementTimeoutMs: config.STATUS_QUERY_TIMEOUT_MS },
    logger,
  );
  connection.start();

  if (!(await limits.warmUp(10_000))) logger.warn('app-limits did not answer within 10 s; /v1 requests get 503 until it does');
  const ready = () => connection.state === 'connected' && publisher.ready;
  const draining = () => drain?.draining ?? false;
  const opsServer = await startOpsServer({
    port: config.OPS_PORT, host: config.OPS_HOST, registry, ready: () => ready() && !draining(), scrape: () => clusterMetrics.scrape(),
  });
  const app = createApp({
    intake: new MessageIntake(groupCommit, metrics, status),
    statusQueries: new StatusQueries(statusPool),
    metrics,
    keys,
    limits,
    smsPolicy: {
      allowedCountries: config.SMS_ALLOWED_COUNTRIES,
      allowedTypes: config.SMS_ALLOWED_NUMBER_TYPES,
      allowedPrefixes: config.SMS_ALLOW_NUMBER_PREFIXES,
    },
    logger,
    ready,
    draining,
    bodyLimit: config.BODY_LIMIT,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    twilioCallbacks: {
      authTokens: [config.TWILIO_AUTH_TOKEN, ...config.TWILIO_CALLBACK_AUTH_TOKENS],
      publicBaseUrl: config.PUBLIC_BASE_URL,
      // On the status channel: a status exchange the broker refuses must never close the channel messages go on.
      publish: (events) => publishStatusEvents(statusPublisher, events),
    },
  });
  // Listen (and tell PM2 `ready`, which a reload waits for before stopping the old instance) only once messages
  // can be made durable: in cluster mode the master hands this instance connections as soon as it listens. If the
  // broker stays away, listen anyway after READY_TIMEOUT_MS so /healthz and /readyz (503) answer.
  if (!(await publisher.waitReady(config.READY_TIMEOUT_MS))) logger.warn({ ms: config.READY_TIMEOUT_MS }, 'broker not ready; listening anyway');
  const server = app.listen(config.PORT, config.HOST, () => {
    logger.info({ port: config.PORT, opsPort: config.OPS_PORT, brokerReady: publisher.ready }, 'app listening');
    process.send?.('ready');
  });
  // Longer than a typical load balancer's idle timeout, so it is the balancer that closes idle sockets.
  server.keepAliveTimeout = 65_000;
  drain = new HttpDrain(server);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal, pending: groupCommit.pending }, 'draining: no new connections, answering the last requests with Connection: close');
    // The publisher stays open meanwhile: a request still arriving on a kept-alive socket is made durable and
    // answered, never cut after its message was stored.
    await drain?.drain(config.DRAIN_IDLE_GRACE_MS, config.SHUTDOWN_TIMEOUT_MS);
    await groupCommit.settle(config.SHUTDOWN_TIMEOUT_MS);
    limits.close();
    await status?.close(1000);
    await publisher.close();
    await statusPublisher.close();
    await statusPool.end().catch(() => undefined);
    await connection.close();
    await clusterMetrics.stop();
    keys.stop();
    opsServer.close();
    logger.info('drained; exiting');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // PM2 cluster mode can ask for a graceful stop over IPC instead of a signal (shutdown_with_message).
  process.on('message', (message) => {
    if (message === 'shutdown') void shutdown('shutdown message');
  });
}

void main();
