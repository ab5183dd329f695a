import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SYSTEM } from '@app/ledger';
import pg from 'pg';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';

const DAY = 86_400_000;

/**
 * A refund or dispute of a bucket whose tokens expired (migration
 * ReversedExpiry): the expired tokens come back from breakage, not from
 * chargeback losses, and the wallet is not flagged. Spec section 8:
 * chargeback losses book only what was really spent. Each case goes
 * through the ledger's own functions (ledger_credit, ledger_expire_bucket,
 * ledger_set_reversed) at explicit instants, and ends with every invariant checked.
 */
describe('reversals of expired tokens', () => {
  let t: TestApp;
  let db: pg.Client;
  const t0 = new Date();
  const at = (days: number) => new Date(t0.getTime() + days * DAY);

  beforeAll(async () => {
    t = await startApp({ FREE_WEEKLY_TOKENS: '0' });
    db = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await expectLedgerConsistent(t);
    await t.close();
  });

  /** A wallet with one plan bucket of `tokens` expiring a day from now; its wallet id and bucket id. */
  const planBucket = async (owner: string, mt: number) => {
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    await db.query('BEGIN');
    const { rows } = await db.query<{ wallet: string }>(`SELECT id AS wallet FROM wallets WHERE owner_id = $1 FOR UPDATE`, [owner]);
    const bucket = await db.query<{ id: string }>(`SELECT ledger_credit($1, 'plan', $2, $3, $4, $5, 'plan', $6, NULL, NULL) AS id`, [
      rows[0].wallet,
      mt,
      at(1),
      `stripe:invoice:in_${owner}`,
      SYSTEM.stripeClearing,
      t0,
    ]);
    await db.query('COMMIT');
    return { wallet: rows[0].wallet, bucket: bucket.rows[0].id };
  };
  const expire = async (bucket: string, days: number) =>
    Number((await db.query<{ n: string }>(`SELECT ledger_expire_bucket($1, $2)::text AS n`, [bucket, at(days)])).rows[0].n);
  const reverse = async (bucket: string, mt: number, days: number) =>
    (
      await db.query<{ r: Record<string, number | string> }>(`SELECT ledger_set_reversed($1, $2, $3, $4, NULL) AS r`, [
        bucket,
        mt,
        at(days),
        `stripe:reversal:test:${bucket}:${mt}`,
      ])
    ).rows[0].r;
  const state = async (wallet: string, bucket: string) => {
    const { rows } = await db.query(
      `SELECT b.remaining::text, b.reversed::text, b.clawed::text, b.lost::text, b.clawback_due::text AS due, b.unexpired::text, w.flagged,
         (SELECT coalesce(sum(e.amount), 0)::text FROM entries e WHERE e.wallet_id = w.id AND e.account_id = $3) AS breakage,
         (SELECT coalesce(sum(e.amount), 0)::text FROM entries e WHERE e.wallet_id = w.id AND e.account_id = $4) AS losses
       FROM buckets b JOIN wallets w ON w.id = b.wallet_id WHERE b.id = $1 AND w.id = $2`,
      [bucket, wallet, SYSTEM.breakage, SYSTEM.chargebackLosses],
    );
    return rows[0];
  };

  it('takes a wholly expired bucket back from breakage: no loss, no flag; lowering the reversal expires it again', async () => {
    const { wallet, bucket } = await planBucket('rx_all', 10_000);
    expect(await expire(bucket, 2)).toBe(10_000);
    expect(await reverse(bucket, 10_000, 3)).toMatchObject({ clawed: 0, due: 0, unexpired: 10_000, lost: 0, direction: 1 });
    expect(await state(wallet, bucket)).toEqual({
      remaining: '0',
      reversed: '10000',
      clawed: '0',
      lost: '0',
      due: '0',
      unexpired: '10000',
      flagged: false,
      breakage: '0',
      losses: '0',
    });
    // The same reversal again (a redelivered event) moves nothing.
    expect(await reverse(bucket, 10_000, 3)).toMatchObject({ clawed: 0, due: 0, unexpired: 0, lost: 0, direction: 0 });
    // A dispute won: the tokens were expired, so they go back to breakage, not to the wallet.
    expect(await reverse(bucket, 0, 4)).toMatchObject({ clawed: 0, due: 0, unexpired: 10_000, lost: 0, direction: -1 });
    expect(await state(wallet, bucket)).toMatchObject({ remaining: '0', reversed: '0', unexpired: '0', breakage: '10000', losses: '0' });
    expect((await call(t, 'GET', '/v1/wallets/rx_all')).body.balance).toEqual({ available: '0.000', held: '0.000' });
  });

  it('books as a loss only what was spent: spent 4, expired 6, refunded 10', async () => {
    const { wallet, bucket } = await planBucket('rx_spent', 10_000);
    const hold = await call(t, 'POST', '/v1/wallets/rx_spent/reservations', { amount: '4' }, { idem: idemKey() });
    expect((await call(t, 'POST', `/v1/reservations/${hold.body.id}/settle`, undefined, { idem: idemKey() })).status).toBe(200);
    expect(await expire(bucket, 2)).toBe(6_000);
    expect(await reverse(bucket, 10_000, 3)).toMatchObject({ clawed: 0, due: 0, unexpired: 6_000, lost: 4_000 });
    expect(await state(wallet, bucket)).toMatchObject({ reversed: '10000', unexpired: '6000', lost: '4000', flagged: true, breakage: '0' });
    expect((await state(wallet, bucket)).losses).toBe('-4000');
    // Half of it given back: the loss first, then one expired token back to breakage.
    expect(await reverse(bucket, 5_000, 4)).toMatchObject({ clawed: 0, due: 0, lost: 4_000, unexpired: 1_000, direction: -1 });
    expect(await state(wallet, bucket)).toMatchObject({ reversed: '5000', unexpired: '5000', lost: '0', breakage: '1000', losses: '0' });
  });

  it('splits remaining, held, expired and spent tokens, in that order', async () => {
    const { wallet, bucket } = await planBucket('rx_mixed', 10_000);
    const spent = await call(t, 'POST', '/v1/wallets/rx_mixed/reservations', { amount: '1' }, { idem: idemKey() });
    expect((await call(t, 'POST', `/v1/reservations/${spent.body.id}/settle`, undefined, { idem: idemKey() })).status).toBe(200);
    const held = await call(t, 'POST', '/v1/wallets/rx_mixed/reservations', { amount: '3' }, { idem: idemKey() });
    expect(held.status).toBe(201);
    // 6 left expire while 3 are held; the refund of all 10 finds 3 due, 6 expired and 1 spent.
    expect(await expire(bucket, 2)).toBe(6_000);
    expect(await reverse(bucket, 10_000, 3)).toMatchObject({ clawed: 0, due: 3_000, unexpired: 6_000, lost: 1_000 });
    // The hold lapses: its 3 return to the bucket and are clawed, never spendable.
    await db.query(`SELECT ledger_finish(NULL, NULL, NULL, $1, 'expire', 0, $2)`, [held.body.id, at(3)]);
    expect(await state(wallet, bucket)).toMatchObject({
      remaining: '0',
      reversed: '10000',
      clawed: '3000',
      due: '0',
      unexpired: '6000',
      lost: '1000',
      breakage: '0',
      losses: '-1000',
    });
    expect((await call(t, 'GET', '/v1/wallets/rx_mixed')).body.balance).toEqual({ available: '0.000', held: '0.000' });
  });

  it('takes expired tokens back only once across reversals raised in steps', async () => {
    const { wallet, bucket } = await planBucket('rx_steps', 10_000);
    expect(await expire(bucket, 2)).toBe(10_000);
    for (const [mt, unexpired] of [
      [3_000, 3_000],
      [7_000, 4_000],
      [10_000, 3_000],
    ]) {
      expect(await reverse(bucket, mt, 3)).toMatchObject({ unexpired, lost: 0 });
    }
    expect(await state(wallet, bucket)).toMatchObject({ reversed: '10000', unexpired: '10000', lost: '0', flagged: false, breakage: '0' });
  });
});
