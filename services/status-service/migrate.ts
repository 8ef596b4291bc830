import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../shared/logger/logger';

/** db/migrations, found from here whether this runs from dist/ (the service) or from the sources (tests). */
export function migrationsDir(from: string = __dirname): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'db', 'migrations');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`db/migrations not found above ${from}`);
}

/**
 * Applies the pending migrations of db/migrations with node-pg-migrate (the same files and table as
 * `scripts/postgres.sh migrate`). Replicas starting together wait for each other on its advisory lock.
 */
export async function migrate(databaseUrl: string, logger: Logger): Promise<string[]> {
  // node-pg-migrate is an ES module; the dynamic import loads it from this CommonJS build.
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl,
    dir: migrationsDir(),
    migrationsTable: 'pgmigrations',
    direction: 'up',
    advisoryLockMode: 'wait',
    log: (message: string) => logger.debug({ migration: message }, 'node-pg-migrate'),
  });
  return applied.map((migration) => migration.name);
}
