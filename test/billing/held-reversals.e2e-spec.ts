import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MaintenanceService } from '@app/ledger';
import pg from 'pg';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { call, expectLedgerConsistent, idemKey, TestApp } from '../support/app.js';
import { controlClock } from '../support/clock.js';
import { balance, checkout, startBillingApp } from './support.js';

/**
 * Tokens of a refunded or disputed purchase that are held when the reversal
 * arrives never return to the wallet: whether the hold is released, expires
 * or is settled in part, the share that comes back is clawed, and chargeback
 * losses book only what was really spent.
 */
describe('Stripe reversals of held tokens', () => {
  let t: TestApp;
  let stripe: FakeStripe;
  let db: pg.Client;
  beforeAll(async () => {
    ({ t, stripe } = await startBillingApp({ FREE_WEEKLY_TOKENS: '0' }));
    db = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await expectLedgerConsistent(t);
    await t.close();
    await stripe.close();
  });

  /** A wallet with a paid pack_50 and 40 of its 50 tokens held; the payment intent. */
  const heldPurchase = async (owner: string, expiresIn = 900) => {
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const id = await checkout(t, owner, { pack_id: 'pack_50' });
    await stripe.completeCheckout(id);
    const hold = await call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount: '40', expires_in: expiresIn }, { idem: idemKey() });
    expect(hold.status).toBe(201);
    expect(await balance(t, owner)).toEqual({ available: '10.000', held: '40.000' });
    return { pi: stripe.sessions.get(id)!.payment_intent as string, hold: hold.body.id as string };
  };
  const purchaseBucket = async (owner: string) =>
    (
      await db.query(
        `SELECT b.remaining::text, b.reversed::text, b.clawed::text, b.lost::text, b.clawback_due::text AS due, w.flagged
         FROM buckets b JOIN wallets w ON w.id = b.wallet_id WHERE w.owner_id = $1 AND b.source = 'purchase'`,
        [owner],
      )
    ).rows[0];
  const finish = (id: string, action: 'release' | 'settle', body?: unknown) =>
    call(t, 'POST', `/v1/reservations/${id}/${action}`, body, { idem: idemKey(action) });

  it('claws back the held tokens of a refunded purchase when the hold is released', async () => {
    const { pi, hold } = await heldPurchase('held_release');
    await stripe.refund(pi, 500);
    // The 10 free tokens are clawed now; the 40 held are due, not lost.
    expect(await balance(t, 'held_release')).toEqual({ available: '0.000', held: '40.000' });
    expect(await purchaseBucket('held_release')).toMatchObject({ reversed: '50000', clawed: '10000', lost: '0', due: '40000' });
    expect((await finish(hold, 'release')).status).toBe(200);
    expect(await balance(t, 'held_release')).toEqual({ available: '0.000', held: '0.000' });
    expect(await purchaseBucket('held_release')).toEqual({
      remaining: '0',
      reversed: '50000',
      clawed: '50000',
      lost: '0',
      due: '0',
      flagged: false,
    });
  });

  it('claws back the held tokens when the hold expires and the sweeper ends it', async () => {
    const { pi } = await heldPurchase('held_expiry', 60);
    await stripe.refund(pi, 500);
    const clock = controlClock(t, new Date(Date.now() + 120_000));
    try {
      expect(await t.app.get(MaintenanceService).releaseExpiredReservations()).toBeGreaterThanOrEqual(1);
      expect(await balance(t, 'held_expiry')).toEqual({ available: '0.000', held: '0.000' });
    } finally {
      clock.restore();
    }
    expect(await purchaseBucket('held_expiry')).toMatchObject({ remaining: '0', clawed: '50000', lost: '0', due: '0', flagged: false });
  });

  it('books the settled part of a held reversal as a loss and claws the rest', async () => {
    const { pi, hold } = await heldPurchase('held_settle');
    await stripe.refund(pi, 500);
    expect((await finish(hold, 'settle', { amount: '15' })).status).toBe(200);
    expect(await balance(t, 'held_settle')).toEqual({ available: '0.000', held: '0.000' });
    expect(await purchaseBucket('held_settle')).toEqual({
      remaining: '0',
      reversed: '50000',
      clawed: '35000',
      lost: '15000',
      due: '0',
      flagged: true,
    });
  });

  it('a partial refund of held tokens claws only its share when the hold returns', async () => {
    const { pi, hold } = await heldPurchase('held_partial');
    await stripe.refund(pi, 200); // 20 tokens: 10 now, 10 when the hold returns
    expect(await balance(t, 'held_partial')).toEqual({ available: '0.000', held: '40.000' });
    expect((await finish(hold, 'release')).status).toBe(200);
    expect(await balance(t, 'held_partial')).toEqual({ available: '30.000', held: '0.000' });
  });

  it('a dispute of held tokens that is won gives them all back', async () => {
    const { pi, hold } = await heldPurchase('held_won');
    await stripe.dispute(pi);
    expect((await finish(hold, 'release')).status).toBe(200);
    expect(await balance(t, 'held_won')).toEqual({ available: '0.000', held: '0.000' });
    await stripe.closeDispute(pi, 'won');
    expect((await call(t, 'GET', '/v1/wallets/held_won')).body).toMatchObject({
      status: 'active',
      flagged: false,
      balance: { available: '50.000', held: '0.000' },
    });
  });
});
