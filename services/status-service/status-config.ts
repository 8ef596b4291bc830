import { z } from 'zod';
import { databasePasswordFileVar } from '../shared/db/database-url';
import { brokerVars } from '../shared/config/broker-access';
import { booleanVar, logLevelVar, portVar, positiveIntVar, stringVar } from '../shared/config/load-config';

export const statusConfigSchema = z.object({
  ...brokerVars('relay-status'),
  DATABASE_URL: stringVar('postgres://relay@127.0.0.1:5433/relay'),
  DATABASE_PASSWORD_FILE: databasePasswordFileVar,
  /** Connections of this replica: one write transaction at a time, plus the outbox relay, retention and the probe. */
  DATABASE_POOL_MAX: positiveIntVar(4),
  METRICS_PORT: portVar(9104),
  /** Unacknowledged deliveries of relay.status (each one event or a reporter's batch of up to 500). */
  PREFETCH: positiveIntVar(100),
  /** Most events written in one transaction. */
  WRITE_BATCH_MAX: positiveIntVar(2000),
  /**
   * How long the first delivery of a write batch waits for others, in ms. 100: a status shows a tenth of a second
   * later, and the database takes ten transactions a second instead of fifty under steady load.
   */
  WRITE_WINDOW_MS: z.coerce.number().int().min(0).max(1000).default(100),
  /** Days a message's status is kept after its last change (docs/status.md). */
  STATUS_RETENTION_DAYS: positiveIntVar(30),
  /** How often old rows are pruned, in ms (default hourly). */
  RETENTION_INTERVAL_MS: positiveIntVar(3_600_000),
  /** Apply db/migrations at start (node-pg-migrate; replicas take an advisory lock in turn). */
  MIGRATE_AT_START: booleanVar(true),
  SHUTDOWN_TIMEOUT_MS: positiveIntVar(10_000),
  LOG_LEVEL: logLevelVar,
});

export type StatusConfig = z.infer<typeof statusConfigSchema>;
