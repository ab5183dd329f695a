import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyService, createLogger, dataSourceOptions, loadConfig, READ_APPLICATION_NAME, runMigrations } from '@app/common';
import { VerifyService } from '@app/ledger';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { createApi } from '../../apps/api/src/app.js';
import { REDIS_URL } from '../support/env.js';
import { idemKey } from '../support/app.js';
import { clusterEnv, until } from './support.js';

function onDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * DATABASE_READ_URL on a streaming replica (pg_basebackup -R of a primary of its own, both started
 * by test/cluster/run.sh): reports, statements and lists read the replica; reservations and
 * settlements never touch it.
 */
describe('reports, statements and lists on a streaming replica', () => {
  const db = `tw_replica_${randomBytes(4).toString('hex')}`;
  const primaryUrl = onDb(clusterEnv('TW_PG_PRIMARY_URL'), db);
  const replicaUrl = onDb(clusterEnv('TW_PG_REPLICA_URL'), db);
  let app: INestApplication;
  let base: string;
  let gateway: string;
  let admin: string;
  let replica: pg.Client;

  beforeAll(async () => {
    const root = new pg.Client({ connectionString: clusterEnv('TW_PG_PRIMARY_URL') });
    await root.connect();
    await root.query(`CREATE DATABASE ${db}`);
    await root.end();
    const ds = new DataSource(dataSourceOptions(primaryUrl, 2));
    await ds.initialize();
    const applied = await runMigrations(ds);
    await ds.destroy();
    // The replica has replayed the schema.
    await until(
      'the replica to have the migrations',
      async () => {
        const c = new pg.Client({ connectionString: replicaUrl });
        try {
          await c.connect();
          return Number((await c.query(`SELECT count(*) AS n FROM migrations`)).rows[0].n);
        } catch {
          return -1;
        } finally {
          await c.end().catch(() => undefined);
        }
      },
      (n) => n === applied.length,
    );
    replica = new pg.Client({ connectionString: clusterEnv('TW_PG_REPLICA_URL') });
    await replica.connect();
    const config = loadConfig({
      DATABASE_URL: primaryUrl,
      DATABASE_READ_URL: replicaUrl,
      REDIS_URL,
      QUEUE_PREFIX: `twtest_${randomBytes(4).toString('hex')}`,
      RUN_WORKER: 'false',
      LOG_LEVEL: 'silent',
      DB_POOL_SIZE: '5',
    });
    app = await createApi(config, createLogger('silent'));
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    gateway = (await app.get(ApiKeyService).create('replica-gw', 'gateway')).key;
    admin = (await app.get(ApiKeyService).create('replica-admin', 'admin')).key;
  });
  afterAll(async () => {
    await replica?.query(`SELECT pg_wal_replay_resume()`).catch(() => undefined);
    await replica?.end();
    if (app) {
      const report = await app.get(VerifyService).verify();
      await app.close();
      expect(report.violations).toEqual([]);
    }
    const root = new pg.Client({ connectionString: clusterEnv('TW_PG_PRIMARY_URL') });
    await root.connect();
    await root.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await root.end();
  });

  const send = async (method: string, path: string, body?: unknown, key = gateway) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        'idempotency-key': idemKey('rr'),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  };
  const pair = async (owner: string, amount: string) => {
    const r = await send('POST', `/v1/wallets/${owner}/reservations`, { amount });
    expect(r.status).toBe(201);
    expect((await send('POST', `/v1/reservations/${r.body.id}/settle`)).status).toBe(200);
  };
  /** The service's sessions on this database of the replica: who, what they ran last, and when. */
  const replicaSessions = async () =>
    (
      await replica.query<{ app: string; query: string; at: Date }>(
        `SELECT application_name AS app, query, state_change AS at FROM pg_stat_activity WHERE datname = $1`,
        [db],
      )
    ).rows;
  const spent = async () => (await send('GET', '/v1/admin/reports/summary', undefined, admin)).body.tokens.spent as string;

  it('the money path never runs a statement on the replica; a report does', async () => {
    expect((await send('PUT', '/v1/wallets/rr_money')).status).toBe(201);
    const t0 = (await replica.query<{ t: Date }>(`SELECT now() AS t`)).rows[0].t;
    await Promise.all(Array.from({ length: 20 }, () => pair('rr_money', '0.1')));
    expect((await send('GET', '/v1/wallets/rr_money')).body.balance).toEqual({ available: '13.000', held: '0.000' });
    // Only the reader pool is there, and it has run nothing since the reservations began.
    const during = await replicaSessions();
    expect(during.filter((x) => x.app !== READ_APPLICATION_NAME)).toEqual([]);
    expect(during.filter((x) => x.at >= t0)).toEqual([]);
    await until('the replica to have the settlements', spent, (s) => s === '2.000');
    const after = await replicaSessions();
    expect(after.filter((x) => x.app === READ_APPLICATION_NAME && x.at >= t0 && /FROM transfers/.test(x.query)).length).toBeGreaterThan(0);
  });

  it('reports, the statement, transactions and events lag with the replica; the wallet and the ledger do not', async () => {
    expect((await send('PUT', '/v1/wallets/rr_lag')).status).toBe(201);
    await pair('rr_lag', '1');
    await until('the replica to have the first settlement', spent, (s) => s === '3.000');
    // The feed positions events when it is read (on the primary); the replica then shows the first settlement's.
    const settledEvents = async () => (await send('GET', '/v1/events?owner_id=rr_lag&types=reservation.settled')).body.data as unknown[];
    await until('the replica to have the first settlement event', settledEvents, (e) => e.length === 1);
    const before = (await send('GET', '/v1/wallets/rr_lag/transactions')).body.data.length as number;
    await replica.query(`SELECT pg_wal_replay_pause()`);
    // Reservations and settlements need only the primary.
    await pair('rr_lag', '2');
    expect((await send('GET', '/v1/wallets/rr_lag')).body.balance).toEqual({ available: '12.000', held: '0.000' });
    // What reads the replica still shows the state before the pause.
    expect(await spent()).toBe('3.000');
    expect((await send('GET', '/v1/wallets/rr_lag/transactions')).body.data).toHaveLength(before);
    const csv = (await send('GET', '/v1/wallets/rr_lag/statement.csv')).body as string;
    expect(csv.trim().split('\n')).toHaveLength(1 + before);
    expect(await settledEvents()).toHaveLength(1);
    await replica.query(`SELECT pg_wal_replay_resume()`);
    await until('the replica to catch up', spent, (s) => s === '5.000');
    expect((await send('GET', '/v1/wallets/rr_lag/transactions')).body.data.length).toBeGreaterThan(before);
    expect(await until('the second settlement event', settledEvents, (e) => e.length === 2)).toHaveLength(2);
  });
});
