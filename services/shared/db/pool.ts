import pg from 'pg';
import type { Logger } from '../logger/logger';

export interface PoolOptions {
  url: string;
  /** Connections kept at most. */
  max: number;
  /** Shown in pg_stat_activity. */
  applicationName: string;
  /** Longest wait for a connection (new or from the pool) before a query fails. */
  connectionTimeoutMs?: number;
  /** Longest a statement may run on the server. */
  statementTimeoutMs?: number;
  /** Longest the client waits for a query's answer (covers a server that stopped answering). */
  queryTimeoutMs?: number;
}

/**
 * One pg Pool per process (https://node-postgres.com/features/pooling). An idle client that loses its server
 * (database restarted) emits `error` on the pool: logged, never a crash; the pool opens a new one on the next query.
 */
export function createPool(options: PoolOptions, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    ...(options.queryTimeoutMs === undefined ? {} : { query_timeout: options.queryTimeoutMs }),
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection lost'));
  return pool;
}

/** Runs `work` in one transaction on one client: COMMIT if it resolves, ROLLBACK if it throws; the client is always released. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    // A client whose connection broke is destroyed instead of going back to the pool.
    client.release(broken);
  }
}

/** Errors that mean "the database is away" (connection refused or lost, timeouts, shutdown), not a bad query. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  if (typeof code === 'string' && /^(08|57P0[1-3]|53300)/.test(code)) return true; // connection exception, admin shutdown, too many connections
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(code)) return true;
  return typeof message === 'string' && /timeout|Connection terminated|connection.*(closed|ended)|not queryable/i.test(message);
}
