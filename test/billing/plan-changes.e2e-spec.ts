import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ReconcileService } from '@app/billing';
import pg from 'pg';
import type Stripe from 'stripe';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { call, expectLedgerConsistent, TestApp } from '../support/app.js';
import { checkout, startBillingApp } from './support.js';

/**
 * A plan invoice credits by its billing_reason, from the price being paid:
 * a new or renewed period the plan's tokens, a plan change in the middle of
 * a period the difference for the time left (a downgrade nothing), a manual
 * invoice nothing (and reconcile reports it).
 */
describe('Stripe plan invoices by billing_reason', () => {
  let t: TestApp;
  let stripe: FakeStripe;
  let db: pg.Client;
  // The fake Stripe's clock: billing periods and prorations are computed at this time.
  let stripeNow = Date.now();
  beforeAll(async () => {
    ({ t, stripe } = await startBillingApp({ FREE_WEEKLY_TOKENS: '0' }, { now: () => stripeNow }));
    db = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await db.connect();
  });
  beforeEach(() => {
    stripeNow = Date.now();
  });
  afterAll(async () => {
    await db.end();
    await expectLedgerConsistent(t);
    await t.close();
    await stripe.close();
  });

  const subscribe = async (owner: string, plan: 'creator' | 'studio') => {
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const id = await checkout(t, owner, { plan_id: plan });
    await stripe.completeCheckout(id);
    return stripe.subscriptions.get(stripe.sessions.get(id)!.subscription as string)!;
  };
  const priceOf = (plan: string) => [...stripe.prices.values()].find((p) => p.lookup_key?.startsWith(`tw_plan_${plan}_`))!.id;
  /** The fake's clock to exactly half of the subscription's current period. */
  const halfway = (sub: Stripe.Subscription) => {
    const item = sub.items.data[0];
    stripeNow = ((item.current_period_start + item.current_period_end) / 2) * 1000;
  };
  const wallet = async (owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body;
  const plans = async (owner: string) =>
    (await wallet(owner)).buckets.filter((b: { source: string }) => b.source === 'plan').map((b: { granted: string }) => b.granted);
  const outcome = async (e: Stripe.Event) => (await db.query(`SELECT outcome FROM stripe_events WHERE id = $1`, [e.id])).rows[0]?.outcome;

  it('an upgrade halfway through the period credits half the difference, and the next period the new plan', async () => {
    const sub = await subscribe('upgrader', 'creator');
    halfway(sub);
    const change = await stripe.changePlan(sub.id, priceOf('studio'));
    expect(change.events.map((e) => e.type)).toEqual(['customer.subscription.updated', 'invoice.paid']);
    expect(change.statuses).toEqual([200, 200]);
    const invoice = change.events[1].data.object as Stripe.Invoice;
    expect([invoice.billing_reason, invoice.amount_paid]).toEqual(['subscription_update', 4950 - 950]);
    // (1500 - 250) / 2 = 625 tokens: the difference for the half period left, not the whole plan again.
    expect(await plans('upgrader')).toEqual(['250.000', '625.000']);
    expect((await wallet('upgrader')).plan).toMatchObject({ plan_id: 'studio' });
    // The subscription's metadata still says creator (250 tokens); the renewal pays studio's price and gets studio's tokens.
    expect(invoice.parent?.subscription_details?.metadata).toMatchObject({ plan_id: 'creator', tokens: '250' });
    stripeNow = sub.items.data[0].current_period_end * 1000;
    await stripe.renewSubscription(sub.id);
    expect(await plans('upgrader')).toEqual(['250.000', '625.000', '1500.000']);
    expect((await wallet('upgrader')).balance).toEqual({ available: '2375.000', held: '0.000' });
  });

  it('a downgrade halfway through the period credits nothing, and the next period the smaller plan', async () => {
    const sub = await subscribe('downgrader', 'studio');
    halfway(sub);
    const change = await stripe.changePlan(sub.id, priceOf('creator'));
    const invoice = change.events[1].data.object as Stripe.Invoice;
    expect([invoice.billing_reason, invoice.amount_paid, invoice.total]).toEqual(['subscription_update', 0, 950 - 4950]);
    expect(await outcome(change.events[1])).toBe('nothing_due');
    expect(await plans('downgrader')).toEqual(['1500.000']);
    expect(stripe.customers.get(sub.customer as string)!.balance).toBe(950 - 4950);
    // The renewals are paid from the $40 the downgrade left on the customer's Stripe balance:
    // amount_paid 0 (nothing charged to the card), and the plan's tokens all the same.
    const renewals: Stripe.Invoice[] = [];
    for (let i = 0; i < 3; i++) {
      stripeNow = sub.items.data[0].current_period_end * 1000;
      const r = await stripe.renewSubscription(sub.id);
      expect(r.statuses).toEqual([200, 200]);
      renewals.push(r.events[1].data.object as Stripe.Invoice);
      expect(await outcome(r.events[1])).toBe('credited');
    }
    expect(renewals.map((i) => [i.total, i.amount_paid, i.ending_balance])).toEqual([
      [1900, 0, -2100],
      [1900, 0, -200],
      [1900, 1700, 0],
    ]);
    expect(await plans('downgrader')).toEqual(['1500.000', '250.000', '250.000', '250.000']);
    expect((await wallet('downgrader')).plan).toMatchObject({ plan_id: 'creator' });
    const paid = await db.query(`SELECT source_id, amount_cents FROM stripe_payments WHERE source_id = ANY ($1) ORDER BY amount_cents`, [
      renewals.map((i) => i.id),
    ]);
    // Each is worth its total, whatever part the balance paid: a refund of the card's $17 reverses 17/19 of its tokens.
    expect(paid.rows.map((r) => Number(r.amount_cents))).toEqual([1900, 1900, 1900]);
  });

  it('reconcile reports an invoice it cannot apply and goes on to the others; a later run applies it', async () => {
    const a = await subscribe('rec_fail_a', 'creator');
    const b = await subscribe('rec_fail_b', 'creator');
    stripeNow = a.items.data[0].current_period_end * 1000;
    const ia = (await stripe.renewSubscription(a.id, { deliver: false })).events[1].data.object as Stripe.Invoice;
    const ib = (await stripe.renewSubscription(b.id, { deliver: false })).events[1].data.object as Stripe.Invoice;
    // A fault in the database for one invoice only (as a constraint that refused its row would be).
    await db.query(`CREATE FUNCTION test_refuse_payment() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.source_id = '${ia.id}' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$`);
    await db.query(
      `CREATE TRIGGER test_refuse_payment BEFORE INSERT ON stripe_payments FOR EACH ROW EXECUTE FUNCTION test_refuse_payment()`,
    );
    try {
      const report = await t.app.get(ReconcileService).reconcile(new Date(Date.now() - 3_600_000));
      expect(report.odd).toContainEqual(expect.stringMatching(new RegExp(`^invoice ${ia.id}: failed, nothing applied`)));
      expect(report.repaired).toContain(`invoice ${ib.id}: credited (its webhook never arrived)`);
      expect(await plans('rec_fail_a')).toEqual(['250.000']);
      expect(await plans('rec_fail_b')).toEqual(['250.000', '250.000']);
    } finally {
      await db.query(`DROP TRIGGER test_refuse_payment ON stripe_payments`);
      await db.query(`DROP FUNCTION test_refuse_payment()`);
    }
    const again = await t.app.get(ReconcileService).reconcile(new Date(Date.now() - 3_600_000));
    expect(again.repaired).toEqual([`invoice ${ia.id}: credited (its webhook never arrived)`]);
    expect(await plans('rec_fail_a')).toEqual(['250.000', '250.000']);
  });

  it('a manual invoice credits nothing and reconcile reports it as odd; plan changes are matched', async () => {
    const sub = await subscribe('manual_invoice', 'creator');
    const { events } = await stripe.payManualInvoice(sub.id);
    const invoice = events[0].data.object as Stripe.Invoice;
    expect([invoice.billing_reason, invoice.amount_paid]).toEqual(['manual', 1900]);
    expect(await outcome(events[0])).toBe('odd');
    expect(await plans('manual_invoice')).toEqual(['250.000']);
    const report = await t.app.get(ReconcileService).reconcile(new Date(Date.now() - 3_600_000));
    expect(report.odd).toContain(`invoice ${invoice.id}: credits no tokens (billing_reason manual)`);
    expect(report.repaired).toEqual([]);
    const updates = [...stripe.invoices.values()].filter((i) => i.billing_reason === 'subscription_update').map((i) => `invoice ${i.id}`);
    expect(updates).toHaveLength(2);
    expect(report.matched).toEqual(expect.arrayContaining(updates));
    expect(await plans('manual_invoice')).toEqual(['250.000']);
  });

  it('subscription events of one second, delivered in reverse, leave the plan and status Stripe has', async () => {
    // Stripe's clock does not move: every event below carries the same whole second.
    expect((await call(t, 'PUT', '/v1/wallets/same_second')).status).toBe(201);
    const id = await checkout(t, 'same_second', { plan_id: 'creator' });
    const made = await stripe.completeCheckout(id, { deliver: false });
    const sub = stripe.subscriptions.get(stripe.sessions.get(id)!.subscription as string)!;
    const changed = await stripe.changePlan(sub.id, priceOf('studio'), { deliver: false });
    const events = [...made.events, ...changed.events];
    expect(new Set(events.map((e) => e.created)).size).toBe(1);
    for (const e of [...events].reverse()) expect(await stripe.redeliver(e.id)).toEqual([200]);
    expect((await wallet('same_second')).plan).toMatchObject({ plan_id: 'studio', status: 'active', subscription_id: sub.id });

    expect((await call(t, 'PUT', '/v1/wallets/same_second_end')).status).toBe(201);
    const id2 = await checkout(t, 'same_second_end', { plan_id: 'creator' });
    const made2 = await stripe.completeCheckout(id2, { deliver: false });
    const sub2 = stripe.subscriptions.get(stripe.sessions.get(id2)!.subscription as string)!;
    const ended = await stripe.cancelSubscription(sub2.id, { deliver: false });
    for (const e of [...ended.events, ...made2.events]) expect(await stripe.redeliver(e.id)).toEqual([200]);
    expect((await wallet('same_second_end')).plan).toMatchObject({ plan_id: 'creator', status: 'canceled' });
  });

  it('reconcile credits a missed proration by the same rule as the webhook', async () => {
    const sub = await subscribe('missed_upgrade', 'creator');
    halfway(sub);
    await stripe.changePlan(sub.id, priceOf('studio'), { deliver: false });
    expect(await plans('missed_upgrade')).toEqual(['250.000']);
    const report = await t.app.get(ReconcileService).reconcile(new Date(Date.now() - 3_600_000));
    expect(report.repaired).toHaveLength(1);
    expect(await plans('missed_upgrade')).toEqual(['250.000', '625.000']);
  });
});
