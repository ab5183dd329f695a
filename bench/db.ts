import { Redis } from 'ioredis';
import pg from 'pg';

/** What the bench creates on the local PostgreSQL and Redis, and removes again. */

/** `adminUrl` with its database replaced by `name`. */
export function dbUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** One short-lived connection for `work`. */
export async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: 'token-wallet-bench' });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** Creates the bench database; returns the server's version. */
export function createDatabase(adminUrl: string, name: string): Promise<string> {
  return withClient(adminUrl, async (c) => {
    const v = await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    await c.query(`CREATE DATABASE ${name}`);
    return v.rows[0].v;
  });
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** The same starting line for every scenario: no autovacuum or checkpoint debt from the last one. */
export async function vacuumAndCheckpoint(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query('VACUUM ANALYZE');
    await c.query('CHECKPOINT');
  });
}

/** The API registers its BullMQ queue (a meta key) under the bench's own prefix: remove what it left. */
export async function dropQueueKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
