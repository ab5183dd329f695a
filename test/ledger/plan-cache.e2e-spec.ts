import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { call, grantTokens, idemKey, startApp, TestApp } from '../support/app.js';
import { until } from '../support/wait.js';

/**
 * A LANGUAGE sql function that PostgreSQL cannot inline (its body has a FROM
 * or a sub-select) runs through the SQL-function executor, which parses,
 * analyses and plans its body again on every call: no plan is cached across
 * calls. One such view on the reserve and settle path once cost about 2 ms of
 * PostgreSQL CPU per call, more than the rest of the operation. PL/pgSQL
 * functions keep their plans per backend, and inlinable SQL functions become
 * part of the caller's cached plan.
 *
 * This suite counts function calls (track_functions = all) while the
 * successful paths of the wallet-facing routes run once (refusals, such as a
 * 402, are not covered), and fails naming any SQL function that was executed
 * rather than inlined.
 */
describe('the API path runs no SQL function un-inlined', () => {
  let t: TestApp;
  let dbUrl = '';
  let drop: () => Promise<void> = async () => {};

  beforeAll(async () => {
    t = await startApp({}, undefined, async (db) => {
      dbUrl = db.url;
      drop = db.drop;
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query(`ALTER DATABASE ${db.name} SET track_functions = 'all'`);
        // The steady state from the first call: a custom plan (PL/pgSQL's first five runs of a statement) folds an
        // IMMUTABLE call with constant arguments by running it once at plan time, which would be counted here too.
        await c.query(`ALTER DATABASE ${db.name} SET plan_cache_mode = 'force_generic_plan'`);
      } finally {
        await c.end();
      }
    });
  });
  let closed = false;
  afterAll(async () => {
    if (!closed) await t?.app.close();
    await drop();
  });

  it('reserves, settles, releases, extends, meters, lists and views with cached plans only', async () => {
    const owner = 'plans_1';
    // Every call must succeed: a refused request would skip the path it was meant to run.
    const ok = async (p: ReturnType<typeof call>) => {
      const r = await p;
      if (r.status !== 200 && r.status !== 201) throw new Error(`HTTP ${r.status}: ${r.text}`);
      return r as Awaited<ReturnType<typeof call>> & { body: { id: string } };
    };
    await ok(call(t, 'PUT', `/v1/wallets/${owner}`));
    await grantTokens(t, owner, 1_000_000n);
    await ok(call(t, 'PUT', `/v1/wallets/${owner}/budgets/daily`, { limit: '500', period: 'day', scope: 'wallet' }));
    await ok(call(t, 'PUT', `/v1/wallets/${owner}/alerts/low`, { type: 'balance_below', threshold: '5' }));
    const reserve = (body: unknown) => call(t, 'POST', `/v1/wallets/${owner}/reservations`, body, { idem: idemKey() });
    const a = await ok(reserve({ amount: '1.000' }));
    await ok(call(t, 'POST', `/v1/reservations/${a.body.id}/settle`, {}, { idem: idemKey() }));
    const b = await ok(reserve({ amount: '2.000', expires_in: 600 }));
    await ok(call(t, 'POST', `/v1/reservations/${b.body.id}/extend`, { expires_in: 1200 }, { idem: idemKey() }));
    await ok(call(t, 'POST', `/v1/reservations/${b.body.id}/settle`, { amount: '0.500' }, { idem: idemKey() }));
    const c = await ok(reserve({ amount: '1.500' }));
    await ok(call(t, 'POST', `/v1/reservations/${c.body.id}/release`, {}, { idem: idemKey() }));
    const m = await ok(reserve({ variant: 'gpt-4o-mini', estimate: { input_tokens: 1000, output_tokens: 1000 }, max_overage: '1' }));
    await ok(
      call(t, 'POST', `/v1/reservations/${m.body.id}/settle`, { usage: { input_tokens: 3000, output_tokens: 2000 } }, { idem: idemKey() }),
    );
    const i = await ok(reserve({ variant: 'gpt-image-1-min', quantity: 2 }));
    await ok(call(t, 'POST', `/v1/reservations/${i.body.id}/settle`, {}, { idem: idemKey() }));
    await ok(call(t, 'GET', `/v1/reservations/${a.body.id}`));
    await ok(call(t, 'GET', `/v1/wallets/${owner}`));
    await ok(call(t, 'GET', `/v1/wallets/${owner}/transactions`));
    await ok(call(t, 'GET', `/v1/wallets/${owner}/budgets`));
    await ok(call(t, 'GET', `/v1/wallets/${owner}/budgets/daily`));
    await ok(call(t, 'GET', `/v1/wallets/${owner}/alerts`));
    await ok(call(t, 'GET', `/v1/wallets/${owner}/alerts/low`));
    await ok(call(t, 'GET', `/v1/prices`));
    await ok(call(t, 'GET', `/v1/admin/wallets/${owner}`, undefined, { key: t.adminKey }));
    await ok(
      call(t, 'POST', `/v1/admin/wallets/${owner}/grants`, { amount: '1', reason: 'plan check' }, { key: t.adminKey, idem: idemKey() }),
    );

    // The app's backends report their counts when they end.
    await t.app.close();
    closed = true;
    const c2 = new pg.Client({ connectionString: dbUrl });
    await c2.connect();
    try {
      const calls = async () =>
        (
          await c2.query<{ fn: string; lang: string; calls: string }>(
            `SELECT f.funcname AS fn, l.lanname AS lang, f.calls::text AS calls
             FROM pg_stat_user_functions f JOIN pg_proc p ON p.oid = f.funcid JOIN pg_language l ON l.oid = p.prolang
             ORDER BY 1`,
          )
        ).rows;
      // A backend reports its counts when it ends: every one of the app's must have ended first.
      await until(
        "the app's backends to end",
        async () =>
          (
            await c2.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
            )
          ).rows[0].n,
        (n) => n === 0,
        15_000,
      );
      // The hot path itself must have been counted before the verdict means anything.
      await until(
        'the app backends to report their function calls',
        calls,
        (rows) => rows.some((r) => r.fn === 'ledger_finish' && Number(r.calls) >= 5),
        15_000,
      );
      const all = await calls();
      expect(all.map((r) => r.fn)).toEqual(expect.arrayContaining(['ledger_reserve', 'ledger_finish', 'ledger_extend']));
      expect(all.filter((r) => r.lang === 'sql').map((r) => `${r.fn} (${r.calls} calls)`)).toEqual([]);
    } finally {
      await c2.end();
    }
  });
});
