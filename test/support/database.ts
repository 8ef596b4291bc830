import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ROOT } from './broker';

const run = promisify(execFile);

/** The private test PostgreSQL scripts/postgres.sh starts (never the system server on 5432). */
export const DATABASE_URL = `postgres://relay@127.0.0.1:${Number(process.env.RELAY_PG_PORT ?? 5433)}/relay`;

/** A small pool on the test database; the caller ends it. */
export function testPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2, connectionTimeoutMillis: 3000 });
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `scripts/postgres.sh <command>`: stop and resume take the database away and bring it back, data kept. */
export async function postgresCtl(command: 'stop' | 'resume' | 'status'): Promise<void> {
  await run(path.join(ROOT, 'scripts/postgres.sh'), [command], { timeout: 90_000 });
}

/** A message id no other test uses. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
