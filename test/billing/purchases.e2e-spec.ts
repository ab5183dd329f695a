import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BillingService } from '@app/billing';
import pg from 'pg';
import type Stripe from 'stripe';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { call, expectLedgerConsistent, TestApp } from '../support/app.js';
import { balance, checkout, OLD_SECRET, startBillingApp } from './support.js';

describe('Stripe purchases: checkout, signed webhooks, exactly-once credits', () => {
  let t: TestApp;
  let stripe: FakeStripe;
  let db: pg.Client;
  beforeAll(async () => {
    ({ t, stripe } = await startBillingApp());
    db = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await expectLedgerConsistent(t);
    await t.close();
    await stripe.close();
  });

  it('shows the catalog with effective dollars per token', async () => {
    const r = await call(t, 'GET', '/v1/billing/catalog');
    expect(r.status).toBe(200);
    expect(r.body.packs[0]).toEqual({ id: 'pack_50', tokens: '50.000', usd: '5.000', usd_per_token: '0.100' });
    expect(r.body.plans.map((p: { id: string; usd_per_token: string }) => [p.id, p.usd_per_token])).toEqual([
      ['creator', '0.076'],
      ['studio', '0.066'],
    ]);
  });

  it('syncs the catalog to Stripe idempotently (lookup keys)', async () => {
    const billing = t.app.get(BillingService);
    const first = await billing.syncCatalog();
    expect(first.created.length + first.found.length).toBe(5);
    const second = await billing.syncCatalog();
    expect(second).toEqual({ created: [], found: expect.arrayContaining(first.created.concat(first.found)) });
    expect(stripe.prices.size).toBe(5);
    expect([...stripe.prices.values()].find((p) => p.lookup_key === 'tw_plan_creator_1900')).toMatchObject({
      unit_amount: 1900,
      recurring: { interval: 'month' },
    });
  });

  it('buys a pack end to end: the balance goes up by exactly the pack, one customer per wallet', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/buyer')).status).toBe(201);
    const id = await checkout(t, 'buyer', { pack_id: 'pack_50' });
    const session = stripe.sessions.get(id);
    expect(session).toMatchObject({ mode: 'payment', client_reference_id: 'buyer', amount_total: 500 });
    const done = await stripe.completeCheckout(id);
    expect(done.statuses).toEqual([200]);
    expect(await balance(t, 'buyer')).toEqual({ available: '65.000', held: '0.000' });
    const w = await call(t, 'GET', '/v1/wallets/buyer');
    expect(w.body.buckets.find((b: { source: string }) => b.source === 'purchase')).toMatchObject({ granted: '50.000', expires_at: null });
    await checkout(t, 'buyer', { pack_id: 'pack_200' });
    const customers = [...stripe.customers.values()].filter((c) => c.metadata?.owner_id === 'buyer');
    expect(customers).toHaveLength(1);
    const portal = await call(t, 'POST', '/v1/billing/portal-sessions', { owner_id: 'buyer', return_url: 'https://example.com/account' });
    expect(portal.status).toBe(201);
    expect(portal.body.url).toMatch(/^https?:\/\//);
  });

  it('credits the same event delivered 5 times concurrently exactly once', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/dup_buyer')).status).toBe(201);
    const id = await checkout(t, 'dup_buyer', { pack_id: 'pack_200' });
    const { events } = await stripe.completeCheckout(id, { deliver: false });
    const statuses = await Promise.all(Array.from({ length: 5 }, () => stripe.deliver(events[0])));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(await stripe.deliver(events[0], { secret: OLD_SECRET })).toBe(200);
    expect(await balance(t, 'dup_buyer')).toEqual({ available: '215.000', held: '0.000' });
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM stripe_events WHERE id = $1`, [events[0].id]);
    expect(rows[0].n).toBe(1);
  });

  it('credits an async payment on async_payment_succeeded only', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/async_buyer')).status).toBe(201);
    const id = await checkout(t, 'async_buyer', { pack_id: 'pack_50' });
    await stripe.completeCheckout(id, { async: true });
    expect(await balance(t, 'async_buyer')).toEqual({ available: '15.000', held: '0.000' });
    await stripe.asyncPaymentSucceeded(id);
    expect(await balance(t, 'async_buyer')).toEqual({ available: '65.000', held: '0.000' });
  });

  it('credits a plan when invoice.paid arrives before customer.subscription.created', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/subscriber')).status).toBe(201);
    const id = await checkout(t, 'subscriber', { plan_id: 'creator' });
    const done = await stripe.completeCheckout(id, { order: 'invoice_first' });
    expect(done.events.map((e) => e.type)).toEqual(['invoice.paid', 'customer.subscription.created', 'checkout.session.completed']);
    expect(done.statuses).toEqual([200, 200, 200]);
    const w = await call(t, 'GET', '/v1/wallets/subscriber');
    expect(w.body.balance).toEqual({ available: '265.000', held: '0.000' });
    const plan = w.body.buckets.find((b: { source: string }) => b.source === 'plan');
    const line = (done.events[0].data.object as { lines: { data: { period: { end: number } }[] } }).lines.data[0];
    expect(plan).toMatchObject({ granted: '250.000', expires_at: new Date(line.period.end * 1000).toISOString() });
    expect(w.body.plan).toMatchObject({ plan_id: 'creator', status: 'active' });
    const sub = stripe.sessions.get(id)?.subscription as string;
    await stripe.cancelSubscription(sub);
    expect((await call(t, 'GET', '/v1/wallets/subscriber')).body.plan).toMatchObject({ status: 'canceled' });
  });

  it('refuses bad, expired and wrongly keyed signatures with 400 and changes nothing', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/forger')).status).toBe(201);
    const id = await checkout(t, 'forger', { pack_id: 'pack_1000' });
    const { events } = await stripe.completeCheckout(id, { deliver: false });
    expect(await stripe.deliver(events[0], { secret: 'whsec_attacker' })).toBe(400);
    expect(await stripe.deliver(events[0], { timestamp: Math.floor(Date.now() / 1000) - 3_600 })).toBe(400);
    expect(await stripe.deliver(events[0], { signature: 't=1,v1=deadbeef' })).toBe(400);
    const noHeader = await fetch(`${t.baseUrl}/v1/stripe/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(events[0]),
    });
    expect(noHeader.status).toBe(400);
    expect(((await noHeader.json()) as { code: string }).code).toBe('invalid_signature');
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM stripe_events WHERE id = $1`, [events[0].id]);
    expect(rows[0].n).toBe(0);
    expect(await balance(t, 'forger')).toEqual({ available: '15.000', held: '0.000' });
  });

  it('a signed event without what it must carry is a 400 invalid_event and applies nothing; NUL in a field does not refuse a payment', async () => {
    const now = Math.floor(Date.now() / 1000);
    const malformed: unknown[] = [
      [],
      'evt_string',
      { type: 'checkout.session.completed', created: now, data: { object: {} } },
      { id: 'evt_bad_1', created: now, data: { object: {} } },
      { id: 'evt_bad_2', type: 'checkout.session.completed', data: { object: {} } },
      { id: 'evt_bad_3', type: 'checkout.session.completed', created: 'yesterday', data: { object: {} } },
      { id: 'evt_bad_4', type: 'checkout.session.completed', created: now },
      { id: 'evt_bad_5', type: 'checkout.session.completed', created: now, data: null },
      { id: 'evt_bad_6', type: 'checkout.session.completed', created: now, data: { object: null } },
      { id: 'evt_bad_7', type: 'invoice.paid', created: now, data: { object: [] } },
      { id: 'evt_bad_8', type: 'charge.refunded', created: now, data: { object: { payment_intent: 'pi_x', amount_refunded: 1.5 } } },
      { id: 'evt_bad_9', type: 'charge.refunded', created: now, data: { object: { payment_intent: 'pi_x' } } },
      {
        id: 'evt_bad_10',
        type: 'charge.dispute.created',
        created: now,
        data: { object: { id: 'dp_x', payment_intent: 'pi_x', amount: '100' } },
      },
    ];
    for (const e of malformed) {
      const status = await stripe.deliver(e as Stripe.Event);
      expect([JSON.stringify(e), status]).toEqual([JSON.stringify(e), 400]);
    }
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM stripe_events WHERE id LIKE 'evt_bad_%'`);
    expect(rows[0].n).toBe(0);
    // A wallet id that is not one of ours in an auto top-up's failure: not ours, ignored (it was a 500).
    const failed = {
      id: 'evt_ok_pf',
      type: 'payment_intent.payment_failed',
      created: now,
      data: {
        object: {
          id: 'pi_x',
          status: 'requires_payment_method',
          metadata: { auto_top_up: 'true', wallet_id: 'not-a-uuid', crossing: '1' },
        },
      },
    };
    expect(await stripe.deliver(failed as unknown as Stripe.Event)).toBe(200);

    // A customer-typed field with a NUL in it: the payment is credited all the same.
    expect((await call(t, 'PUT', '/v1/wallets/nul_name')).status).toBe(201);
    const id = await checkout(t, 'nul_name', { pack_id: 'pack_50' });
    const { events } = await stripe.completeCheckout(id, { deliver: false });
    const event = structuredClone(events[0]);
    (event.data.object as { customer_details: unknown }).customer_details = { name: 'Zo\u0000e', email: 'zoe@example.com' };
    expect(await stripe.deliver(event)).toBe(200);
    expect(await balance(t, 'nul_name')).toEqual({ available: '65.000', held: '0.000' });
    expect(await stripe.deliver(event)).toBe(200);
    expect(await balance(t, 'nul_name')).toEqual({ available: '65.000', held: '0.000' });
  });

  it('ledger verify checks that every applied Stripe payment is credited once', async () => {
    expect((await t.verify()).ok).toBe(true);
    const { rows } = await db.query(`SELECT * FROM stripe_payments LIMIT 1`);
    await db.query(`DELETE FROM stripe_payments WHERE payment_intent = $1`, [rows[0].payment_intent]);
    const broken = await t.verify();
    expect(broken.ok).toBe(false);
    expect(broken.violations.map((v) => v.invariant)).toContain('5. every Stripe payment is credited exactly once');
    const r = rows[0];
    await db.query(
      `INSERT INTO stripe_payments (payment_intent, wallet_id, bucket_id, kind, source_id, amount_cents, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [r.payment_intent, r.wallet_id, r.bucket_id, r.kind, r.source_id, r.amount_cents, r.created_at],
    );
    expect((await t.verify()).ok).toBe(true);
  });

  it('stores and acknowledges an event type it does not handle', async () => {
    const event = stripe.buildEvent('customer.updated', { id: 'cus_unknown', object: 'customer' });
    expect(await stripe.deliver(event)).toBe(200);
    const { rows } = await db.query(`SELECT outcome FROM stripe_events WHERE id = $1`, [event.id]);
    expect(rows[0].outcome).toBe('unhandled');
  });

  it('refuses bad checkout requests', async () => {
    const both = await call(t, 'POST', '/v1/billing/checkout-sessions', {
      owner_id: 'buyer',
      pack_id: 'pack_50',
      plan_id: 'creator',
      success_url: 'https://e.com',
      cancel_url: 'https://e.com',
    });
    expect([both.status, both.body.code]).toEqual([400, 'validation_error']);
    const unknown = await call(t, 'POST', '/v1/billing/checkout-sessions', {
      owner_id: 'buyer',
      pack_id: 'pack_7',
      success_url: 'https://e.com',
      cancel_url: 'https://e.com',
    });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'pack_not_found']);
    const noWallet = await call(t, 'POST', '/v1/billing/checkout-sessions', {
      owner_id: 'ghost',
      pack_id: 'pack_50',
      success_url: 'https://e.com',
      cancel_url: 'https://e.com',
    });
    expect([noWallet.status, noWallet.body.code]).toEqual([404, 'wallet_not_found']);
    const badUrl = await call(t, 'POST', '/v1/billing/checkout-sessions', {
      owner_id: 'buyer',
      pack_id: 'pack_50',
      success_url: 'javascript:alert(1)',
      cancel_url: 'https://e.com',
    });
    expect([badUrl.status, badUrl.body.code]).toEqual([400, 'validation_error']);
  });
});
