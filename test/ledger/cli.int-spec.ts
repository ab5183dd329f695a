import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { call, expectLedgerConsistent, startApp, TestApp } from '../support/app.js';

/** The built CLI (`npm test` builds first), run as a separate process against the suite's database. */
function cli(t: TestApp, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['dist/apps/cli/src/main.js', ...args],
      { env: { ...process.env, DATABASE_URL: t.config.DATABASE_URL, QUEUE_PREFIX: t.config.QUEUE_PREFIX, LOG_LEVEL: 'silent' } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('cli', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates an API key that is printed once and works, stored only hashed', async () => {
    const r = await cli(t, ['api-key', 'create', '--name', 'dashboard', '--scope', 'admin']);
    expect(r.code).toBe(0);
    const key = /^(tw_adm_[A-Za-z0-9_-]+)$/m.exec(r.stdout)?.[1];
    expect(key).toBeDefined();
    const verify = await call(t, 'GET', '/v1/admin/ledger/verify', undefined, { key: key as string });
    expect(verify.status).toBe(200);
    expect(verify.body.ok).toBe(true);
    const gatewayOnAdmin = await call(t, 'GET', '/v1/admin/ledger/verify');
    expect([gatewayOnAdmin.status, gatewayOnAdmin.body.code]).toEqual([403, 'forbidden']);
    const client = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await client.connect();
    const { rows } = await client.query(`SELECT key_hash FROM api_keys WHERE name = 'dashboard'`);
    await client.end();
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].key_hash).not.toContain(key);
  });

  it('refuses bad usage with exit code 2', async () => {
    expect((await cli(t, ['api-key', 'create', '--name', 'x', '--scope', 'root'])).code).toBe(2);
    expect((await cli(t, ['nonsense'])).code).toBe(2);
  });

  it('ledger verify exits 0 on a sound ledger and 1 on a broken one', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/cli_owner')).status).toBe(201);
    const ok = await cli(t, ['ledger', 'verify']);
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringContaining('ledger OK')]);
    await expectLedgerConsistent(t);

    // Break invariant 1 and 2 the only way the append-only ledger allows: a stray entry.
    const client = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await client.connect();
    const { rows } = await client.query(
      `SELECT b.id, b.wallet_id FROM buckets b JOIN wallets w ON w.id = b.wallet_id WHERE w.owner_id = 'cli_owner'`,
    );
    const transfer = randomUUID();
    await client.query(`INSERT INTO transfers (id, wallet_id, kind, amount) VALUES ($1, $2, 'adjustment', 1)`, [
      transfer,
      rows[0].wallet_id,
    ]);
    await client.query(`INSERT INTO entries (transfer_id, account_id, wallet_id, amount) VALUES ($1, $2, $3, 1)`, [
      transfer,
      rows[0].id,
      rows[0].wallet_id,
    ]);
    const update = await client.query(`UPDATE entries SET amount = 2 WHERE transfer_id = $1`, [transfer]).catch((e: Error) => e);
    await client.end();
    expect(update instanceof Error ? update.message : 'no error').toContain('append-only');

    const broken = await cli(t, ['ledger', 'verify']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('each transfer sums to zero');
    expect(broken.stdout).toContain('bucket remaining equals its entries');
    const http = await call(t, 'GET', '/v1/admin/ledger/verify', undefined, { key: t.adminKey });
    expect(http.status).toBe(500);
    expect(http.body.ok).toBe(false);
  });
});
