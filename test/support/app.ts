import { afterAll, beforeAll } from '@jest/globals';
import { ApiKeyService, AppConfig, createLogger, Database, loadConfig } from '@app/common';
import { Ledger, VerifyService, VerifyReport } from '@app/ledger';
import { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createApi } from '../../apps/api/src/app.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { REDIS_URL } from './env.js';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  baseUrl: string;
  gatewayKey: string;
  adminKey: string;
  verify: () => Promise<VerifyReport>;
  close: () => Promise<void>;
}

/** The whole API on a random port, against a fresh database and a private BullMQ prefix. */
/** `logs`, when given, receives every JSON log line (for tests of what is logged). */
/** `prepare`, when given, runs against the new database before the app connects to it. */
export async function startApp(
  env: Record<string, string> = {},
  logs?: string[],
  prepare?: (db: TestDatabase) => Promise<void>,
): Promise<TestApp> {
  const db = await createTestDatabase();
  await prepare?.(db);
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    QUEUE_PREFIX: `twtest_${randomBytes(4).toString('hex')}`,
    RUN_WORKER: 'false',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DB_POOL_SIZE: '20',
    ...env,
  });
  const log = logs ? createLogger(config.LOG_LEVEL, { write: (line: string) => void logs.push(line) }) : createLogger(config.LOG_LEVEL);
  const app = await createApi(config, log);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const keys = app.get(ApiKeyService);
  const gatewayKey = (await keys.create('test-gateway', 'gateway')).key;
  const adminKey = (await keys.create('test-admin', 'admin')).key;
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    gatewayKey,
    adminKey,
    verify: () => app.get(VerifyService).verify(),
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}

export interface CallOptions {
  key?: string | null;
  idem?: string;
  headers?: Record<string, string>;
}

/** A real HTTP request; the body is parsed as JSON when there is one. */
export async function call(t: TestApp, method: string, path: string, body?: unknown, opts: CallOptions = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const key = opts.key === undefined ? t.gatewayKey : opts.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (opts.idem) headers['idempotency-key'] = opts.idem;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = headers['content-type'] ?? 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${t.baseUrl}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers, text };
}

let seq = 0;
export function idemKey(prefix = 'k'): string {
  return `${prefix}-${process.pid}-${Date.now()}-${seq++}-${randomBytes(3).toString('hex')}`;
}

/**
 * The usual suite set-up: an app started before the suite, and at its end the
 * ledger invariant check and the app closed. Returns a getter for the app.
 */
export function useApp(env: Record<string, string> = {}): () => TestApp {
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await startApp(env);
  });
  afterAll(async () => {
    if (!t) return;
    await expectLedgerConsistent(t);
    await t.close();
  });
  return () => {
    if (!t) throw new Error('the app is not started yet');
    return t;
  };
}

/** The end of every suite: every ledger invariant must hold. */
export async function expectLedgerConsistent(t: TestApp): Promise<void> {
  const report = await t.verify();
  if (!report.ok)
    throw new Error(`ledger invariants violated:\n${report.violations.map((v) => `  [${v.invariant}] ${v.detail}`).join('\n')}`);
}

/** Credits a wallet with a promo bucket through the ledger's own credit path (admin grants land with the admin API). */
export async function grantTokens(t: TestApp, ownerId: string, mt: bigint): Promise<void> {
  await t.app.get(Database).transaction(async (tx) => {
    const ledger = t.app.get(Ledger);
    const wallet = await ledger.lock(tx, { ownerId });
    await ledger.credit(tx, {
      walletId: wallet.id,
      source: 'promo',
      amount: mt,
      expiresAt: null,
      from: 'promotionalGrants',
      kind: 'grant',
    });
  });
}
