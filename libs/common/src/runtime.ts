import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { AppConfig, ConfigError, loadConfig } from './config.js';
import { dataSourceOptions, runMigrations } from './data-source.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { HOW_TO_GET_REDIS, redisAnswers, startEmbeddedRedis } from './embedded-redis.js';

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

/**
 * The Redis a process uses when REDIS_URL is unset: one already answering at
 * REDIS_PROBE_URL, else the embedded one. Without redis-server on PATH the
 * process still starts on REDIS_PROBE_URL, degraded: readiness reports Redis
 * down and generations answer 503 until a Redis answers there.
 */
export async function prepareRedis(config: AppConfig, log: Logger): Promise<{ stop: () => Promise<void> }> {
  const none = { stop: () => Promise.resolve() };
  if (config.REDIS_URL) return none;
  if (await redisAnswers(config.REDIS_PROBE_URL)) {
    config.REDIS_URL = config.REDIS_PROBE_URL;
    return none;
  }
  const dir = config.EMBEDDED_REDIS_DIR;
  const redis = await startEmbeddedRedis({ dir, port: config.EMBEDDED_REDIS_PORT, args: config.EMBEDDED_REDIS_ARGS }, log);
  if (!redis) {
    log.error(
      { probe: config.REDIS_PROBE_URL },
      `no Redis answers and no redis-server is on PATH: ${HOW_TO_GET_REDIS}; starting without Redis (generations answer 503 until one answers at REDIS_PROBE_URL)`,
    );
    config.REDIS_URL = config.REDIS_PROBE_URL;
    return none;
  }
  config.REDIS_URL = redis.url;
  return redis;
}

/** PostgreSQL and Redis resolved (started when embedded); `stop` stops what this process started. */
export async function prepareServices(config: AppConfig, log: Logger, migrate = true): Promise<{ stop: () => Promise<void> }> {
  const redis = await prepareRedis(config, log);
  try {
    const db = await prepareDatabase(config, log, migrate);
    return { stop: () => Promise.all([db.stop(), redis.stop()]).then(() => undefined) };
  } catch (e) {
    await redis.stop();
    throw e;
  }
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

/**
 * BullMQ's close waits for a connection that never comes while Redis is
 * unreachable. Then (and only then: with Redis up, running jobs drain as long
 * as they take) exit after this long anyway; what this process started is
 * stopped by its exit hooks.
 */
const SHUTDOWN_DEADLINE_MS = 10_000;

/** On SIGTERM or SIGINT: run `close` (drain HTTP and jobs, close pools), then exit. */
export function exitOnSignal(log: Logger, close: () => Promise<void>, redisUrl?: string): void {
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    if (redisUrl && !(await redisAnswers(redisUrl))) {
      const deadline = setTimeout(() => {
        log.warn({ after_ms: SHUTDOWN_DEADLINE_MS }, 'Redis is unreachable and the queues did not close; exiting');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS);
      deadline.unref();
    }
    await close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
