import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { AppConfig, ConfigError, loadConfig } from './config.js';
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

/** The validated config, or exit 1 with a message naming every bad variable. */
export function loadConfigOrExit(log: Logger): AppConfig {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      log.fatal(e.message);
      process.exit(1);
    }
    throw e;
  }
}

/** On SIGTERM or SIGINT: run `close` (drain HTTP and jobs, close pools), then exit. */
export function exitOnSignal(log: Logger, close: () => Promise<void>): void {
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
