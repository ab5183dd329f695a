import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type Stripe from 'stripe';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { call, expectLedgerConsistent, idemKey, TestApp } from '../support/app.js';
import { balance, checkout, spend, startBillingApp } from './support.js';

/** Refunds and disputes in any order with their purchase; a won dispute and the freezes it may lift. */
describe('Stripe reversals, whatever the order', () => {
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

  /** A paid checkout whose events are built but not sent: the test delivers them in the order it wants. */
  const paidSession = async (owner: string, item: { pack_id: string } | { plan_id: string }) => {
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const id = await checkout(t, owner, item);
    const { events } = await stripe.completeCheckout(id, { deliver: false });
    return { session: stripe.sessions.get(id)!, events };
  };
  const outcome = async (e: Stripe.Event) => (await db.query(`SELECT outcome FROM stripe_events WHERE id = $1`, [e.id])).rows[0]?.outcome;
  const wallet = async (owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body;
  const admin = (owner: string, action: 'freeze' | 'unfreeze') =>
    call(t, 'POST', `/v1/admin/wallets/${owner}/${action}`, { reason: 'support ticket 7' }, { key: t.adminKey, idem: idemKey(action) });

  it('keeps a refund that arrives before its purchase and applies it when the purchase is credited', async () => {
    const { session, events } = await paidSession('early_refund', { pack_id: 'pack_50' });
    const pi = session.payment_intent as string;
    const [refund] = (await stripe.refund(pi, 500, { deliver: false })).events;
    expect(await stripe.deliver(refund)).toBe(200);
    expect(await outcome(refund)).toBe('pending');
    expect(await stripe.deliver(events[0])).toBe(200);
    expect(await outcome(events[0])).toBe('credited');
    // Refunded in full: the tokens never become spendable, and Stripe's redelivery of the refund changes nothing.
    expect(await balance(t, 'early_refund')).toEqual({ available: '0.000', held: '0.000' });
    expect(await stripe.deliver(refund)).toBe(200);
    expect(await stripe.deliver(events[0])).toBe(200);
    expect(await balance(t, 'early_refund')).toEqual({ available: '0.000', held: '0.000' });
    expect((await wallet('early_refund')).flagged).toBe(false);
  });

  it('applies a partial refund and a later one in either order around the purchase', async () => {
    const { session, events } = await paidSession('split_refund', { pack_id: 'pack_200' });
    const pi = session.payment_intent as string;
    const [first] = (await stripe.refund(pi, 500, { deliver: false })).events; // 50 tokens
    const [second] = (await stripe.refund(pi, 500, { deliver: false })).events; // 100 tokens in all
    expect(await stripe.deliver(second)).toBe(200);
    expect(await stripe.deliver(events[0])).toBe(200);
    expect(await balance(t, 'split_refund')).toEqual({ available: '100.000', held: '0.000' });
    // The older event says less (cumulative amounts): it takes nothing more.
    expect(await stripe.deliver(first)).toBe(200);
    expect(await outcome(first)).toBe('ignored');
    expect(await balance(t, 'split_refund')).toEqual({ available: '100.000', held: '0.000' });
  });

  it('keeps a plan refund that arrives before its invoice', async () => {
    const { session, events } = await paidSession('early_plan_refund', { plan_id: 'studio' });
    const pi = [...stripe.invoicePayments.values()].find((p) => p.invoice === session.invoice)!.payment.payment_intent as string;
    const [refund] = (await stripe.refund(pi, 990, { deliver: false })).events; // 10% of $99
    expect(await stripe.deliver(refund)).toBe(200);
    expect(await outcome(refund)).toBe('pending');
    for (const e of events) expect(await stripe.deliver(e)).toBe(200);
    expect(await balance(t, 'early_plan_refund')).toEqual({ available: '1350.000', held: '0.000' });
  });

  it('freezes for a dispute that arrives before its purchase, and a won dispute gives everything back', async () => {
    const { session, events } = await paidSession('early_dispute', { pack_id: 'pack_50' });
    const pi = session.payment_intent as string;
    const [created] = (await stripe.dispute(pi, undefined, { deliver: false })).events;
    expect(await stripe.deliver(created)).toBe(200);
    expect(await stripe.deliver(events[0])).toBe(200);
    expect(await wallet('early_dispute')).toMatchObject({ status: 'frozen', balance: { available: '0.000', held: '0.000' } });
    const r = await call(t, 'POST', '/v1/wallets/early_dispute/reservations', { amount: '1' }, { idem: idemKey() });
    expect([r.status, r.body.code]).toEqual([423, 'wallet_frozen']);
    const [closed] = (await stripe.closeDispute(pi, 'won')).events;
    expect(await outcome(closed)).toBe('restored');
    expect(await wallet('early_dispute')).toMatchObject({ status: 'active', balance: { available: '50.000', held: '0.000' } });
  });

  it('ends the same when the dispute is closed as won before it is reported as created', async () => {
    const { session, events } = await paidSession('won_first', { pack_id: 'pack_50' });
    const pi = session.payment_intent as string;
    const [created] = (await stripe.dispute(pi, undefined, { deliver: false })).events;
    const [closed] = (await stripe.closeDispute(pi, 'won', { deliver: false })).events;
    for (const e of [closed, events[0], created, closed]) expect(await stripe.deliver(e)).toBe(200);
    expect(await wallet('won_first')).toMatchObject({ status: 'active', balance: { available: '50.000', held: '0.000' } });
  });

  it('a won dispute undoes the losses it booked and lifts its own freeze, never an admin freeze', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/won_dispute')).status).toBe(201);
    const id = await checkout(t, 'won_dispute', { pack_id: 'pack_200' });
    await stripe.completeCheckout(id);
    const pi = stripe.sessions.get(id)!.payment_intent as string;
    await spend(t, 'won_dispute', '150');
    await stripe.dispute(pi);
    // 50 clawed back, 150 spent booked as chargeback losses; frozen by the dispute, then by an admin too.
    expect(await wallet('won_dispute')).toMatchObject({ status: 'frozen', flagged: true, balance: { available: '0.000' } });
    expect((await admin('won_dispute', 'freeze')).status).toBe(200);
    await stripe.closeDispute(pi, 'won');
    expect(await wallet('won_dispute')).toMatchObject({ status: 'frozen', balance: { available: '50.000', held: '0.000' } });
    const tx = await call(t, 'GET', '/v1/wallets/won_dispute/transactions?limit=1');
    expect(tx.body.data[0]).toMatchObject({ type: 'restore', amount: '50.000' });
    const { rows } = await db.query(
      `SELECT b.reversed::text, b.lost::text FROM buckets b JOIN wallets w ON w.id = b.wallet_id WHERE w.owner_id = 'won_dispute' AND b.source = 'purchase'`,
    );
    expect(rows[0]).toEqual({ reversed: '0', lost: '0' });
    // The admin's freeze stays until the admin lifts it.
    expect((await admin('won_dispute', 'unfreeze')).status).toBe(200);
    expect((await wallet('won_dispute')).status).toBe('active');
  });

  it('an admin unfreeze during a dispute stands; a lost dispute keeps what it took', async () => {
    const { session, events } = await paidSession('lost_dispute', { pack_id: 'pack_50' });
    const pi = session.payment_intent as string;
    expect(await stripe.deliver(events[0])).toBe(200);
    await stripe.dispute(pi);
    expect((await wallet('lost_dispute')).status).toBe('frozen');
    expect((await admin('lost_dispute', 'unfreeze')).status).toBe(200);
    const [closed] = (await stripe.closeDispute(pi, 'lost')).events;
    expect(await outcome(closed)).toBe('updated');
    expect(await stripe.deliver(closed)).toBe(200);
    expect(await wallet('lost_dispute')).toMatchObject({ status: 'active', balance: { available: '0.000', held: '0.000' } });
  });
});
