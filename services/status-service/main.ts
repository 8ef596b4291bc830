import { loadConfig } from '../shared/config/load-config';
import { databaseUrlWithPassword } from '../shared/db/database-url';
import { createPool } from '../shared/db/pool';
import { startOpsServer } from '../shared/http/ops-server';
import { createLogger } from '../shared/logger/logger';
import { brokerAccess, type BrokerAccess } from '../shared/config/broker-access';
import { BrokerConnection } from '../shared/messaging/connection';
import { QueueConsumer } from '../shared/messaging/consumer';
import { ConfirmPublisher } from '../shared/messaging/publisher';
import { createRegistry } from '../shared/metrics/registry';
import { installProcessHandlers } from '../shared/process/process-handlers';
import { STATUS_QUEUE } from '../shared/status/status-event';
import { waitForDatabase } from './database-probe';
import { migrate } from './migrate';
import { OutboxRelay } from './outbox-relay';
import { pruneStatus } from './retention';
import { StatusBatcher } from './status-batcher';
import { statusConfigSchema, type StatusConfig } from './status-config';
import { createStatusMetrics } from './status-metrics';
import { recordWrite } from './record-write';
import { writeStatusEvents } from './status-writer';

/**
 * The status service: consumes relay.status, writes events to PostgreSQL in batches (idempotent, ordered by rank),
 * relays recorded changes to relay.status.changes, prunes old rows. Any number of replicas may run.
 */
async function main(): Promise<void> {
  const logger = createLogger('status-service');
  installProcessHandlers(logger);
  let config: StatusConfig;
  let databaseUrl: string;
  let broker: BrokerAccess;
  try {
    config = loadConfig(statusConfigSchema);
    broker = brokerAccess(config);
    databaseUrl = databaseUrlWithPassword(config.DATABASE_URL, config.DATABASE_PASSWORD_FILE);
  } catch (error) {
    logger.fatal({ err: error }, 'status service cannot start');
    process.exit(1);
  }
  const registry = createRegistry();
  const metrics = createStatusMetrics(registry);
  const pool = createPool({ url: databaseUrl, max: config.DATABASE_POOL_MAX, applicationName: 'relay-status-service' }, logger);
  let databaseUp = false;
  const setDatabase = (up: boolean) => {
    databaseUp = up;
    metrics.databaseUp.set(up ? 1 : 0);
  };
  setDatabase(false);

  const connection = new BrokerConnection({ ...broker, name: 'status-service' }, logger);
  connection.on('connected', () => metrics.brokerConnected.set(1));
  connection.on('disconnected', () => metrics.brokerConnected.set(0));
  const publisher = new ConfirmPublisher(connection, logger, { maxInFlight: 2000 });
  const outbox = new OutboxRelay(pool, publisher, logger, { onPublished: (count) => metrics.changesPublished.inc(count) });
  const batcher = new StatusBatcher(logger, {
    maxEvents: config.WRITE_BATCH_MAX,
    windowMs: config.WRITE_WINDOW_MS,
    write: async (events) => {
      const end = metrics.writeDuration.startTimer();
      metrics.writeBatchSize.observe(events.length);
      try {
        return await writeStatusEvents(pool, events);
      } catch (error) {
        metrics.writeFailures.inc();
        throw error;
      } finally {
        end();
      }
    },
    onWritten: (result) => {
      recordWrite(metrics, result);
      if (result.changes.some((entry) => entry.change)) outbox.kick();
    },
    onInvalid: (raw, reason) => {
      metrics.events.inc({ channel: 'unknown', status: 'unknown', outcome: 'invalid' });
      logger.warn({ reason, eventId: (raw as { eventId?: unknown } | undefined)?.eventId }, 'not a status event; dropped');
    },
    onDatabase: setDatabase,
  });

  let consumer: QueueConsumer | undefined;
  const server = await startOpsServer({
    port: config.METRICS_PORT,
    registry,
    ready: () => databaseUp && connection.state === 'connected' && consumer !== undefined && consumer.consuming,
  });
  process.send?.('ready');

  // The schema first (and the database reachable): consuming before it would only hold deliveries.
  await waitForDatabase(logger, async () => {
    if (config.MIGRATE_AT_START) {
      const applied = await migrate(databaseUrl, logger);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    } else {
      await pool.query('SELECT 1');
    }
  });
  setDatabase(true);

  connection.start();
  consumer = new QueueConsumer(connection, logger, {
    queue: STATUS_QUEUE,
    prefetch: config.PREFETCH,
    handler: batcher.handle,
    onConsumingChange: (consuming) => metrics.consuming.set(consuming ? 1 : 0),
  });
  outbox.start();

  // Readiness follows the database even when no events arrive; retention runs on the same schedule's clock.
  const probe = setInterval(() => {
    pool.query('SELECT 1').then(() => setDatabase(true), () => setDatabase(false));
  }, 5000);
  probe.unref();
  const prune = () =>
    pruneStatus(pool, config.STATUS_RETENTION_DAYS).then(
      (count) => {
        metrics.pruned.inc(count);
        if (count > 0) logger.info({ count, days: config.STATUS_RETENTION_DAYS }, 'old statuses pruned');
      },
      (error: unknown) => logger.warn({ err: error }, 'retention prune failed; trying at the next interval'),
    );
  const retention = setInterval(() => void prune(), config.RETENTION_INTERVAL_MS);
  retention.unref();
  void prune();
  logger.info({ metricsPort: config.METRICS_PORT, prefetch: config.PREFETCH, retentionDays: config.STATUS_RETENTION_DAYS }, 'status service started');

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'draining');
    clearInterval(probe);
    clearInterval(retention);
    outbox.stop();
    // Stop taking deliveries, let the write in progress commit and ack, then give the rest back to the broker.
    await consumer?.stop(config.SHUTDOWN_TIMEOUT_MS);
    batcher.stop();
    await publisher.settle(1000);
    await publisher.close();
    await connection.close();
    await pool.end().catch(() => undefined);
    server.close();
    logger.info('drained; exiting');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

void main();
