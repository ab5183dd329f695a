import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { AppConfig } from './config.js';
import { dataSourceOptions, runMigrations } from './data-source.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

/**
 * What a process needs before Nest boots: a database (the embedded one when
 * DATABASE_URL is unset) with every migration applied.
 */
export async function prepareDatabase(config: AppConfig, log: Logger, migrate = true): Promise<{ stop: () => Promise<void> }> {
  let stop = (): Promise<void> => Promise.resolve();
  if (!config.DATABASE_URL) {
    const pg = await startEmbeddedPostgres(config.EMBEDDED_PG_DIR, config.EMBEDDED_PG_PORT, log);
    config.DATABASE_URL = pg.url;
    stop = pg.stop;
  }
  if (migrate) {
    const ds = new DataSource(dataSourceOptions(config.DATABASE_URL, 2));
    await ds.initialize();
    try {
      const applied = await runMigrations(ds);
      if (applied.length) log.info({ applied }, 'migrations applied');
    } finally {
      await ds.destroy();
    }
  }
  return { stop };
}
