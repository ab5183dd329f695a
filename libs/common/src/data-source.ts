import { DataSource, DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations/index.js';

export function dataSourceOptions(url: string, poolSize: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
    extra: { max: poolSize, application_name: 'token-wallet' },
  };
}

/**
 * Applies pending migrations under a PostgreSQL advisory lock, so several
 * instances booting at once apply each migration exactly once. The pool
 * needs two connections: one holds the lock while the other migrates.
 */
export async function runMigrations(ds: DataSource): Promise<string[]> {
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
