import { DataSource, DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations/index.js';

/** The reader pool's application_name, so pg_stat_activity tells replica reads from the rest. */
export const READ_APPLICATION_NAME = 'token-wallet-read';

/**
 * TypeORM's options for `url`. With `readUrl` (a streaming replica) a second
 * pool reads from it, but only where asked (`Database.read`): every other
 * query, SELECTs included, stays on the primary.
 */
export function dataSourceOptions(url: string, poolSize: number, readUrl?: string): DataSourceOptions {
  const base = {
    type: 'postgres' as const,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
    extra: { max: poolSize },
  };
  if (!readUrl) return { ...base, url, applicationName: 'token-wallet' };
  return {
    ...base,
    replication: {
      master: { url, applicationName: 'token-wallet' },
      slaves: [{ url: readUrl, applicationName: READ_APPLICATION_NAME }],
      defaultMode: 'master',
    },
  };
}

/**
 * Applies pending migrations under a PostgreSQL advisory lock, so several
 * instances booting at once apply each migration exactly once. The pool
 * needs two connections: one holds the lock while the other migrates.
 */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  // Nothing pending (every boot but the first of a release): no lock taken. The lock is a session
  // lock, which a pooler in transaction mode may take and release on two different server connections.
  if (!(await ds.showMigrations())) return [];
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext('token-wallet:migrations'))`);
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('token-wallet:migrations'))`).catch(() => undefined);
    await runner.release();
  }
}

/** True when every migration this build knows is applied. */
export async function migrationsApplied(ds: DataSource): Promise<boolean> {
  return !(await ds.showMigrations());
}
