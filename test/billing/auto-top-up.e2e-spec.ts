import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AutoTopUpService, ReconcileService } from '@app/billing';
import { Database } from '@app/common';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { call, expectLedgerConsistent, grantTokens, idemKey, TestApp } from '../support/app.js';
import { balance, checkout, spend, startBillingApp } from './support.js';

/** Auto top-up (spec section 10): once per crossing, never past the monthly cap, credited only from the signed webhook. */
describe('auto top-up', () => {
  let t: TestApp;
  let stripe: FakeStripe;
  let db: Database;
  beforeAll(async () => {
    ({ t, stripe } = await startBillingApp({ RUN_WORKER: 'true', AUTO_TOP_UP_POLL_MS: '50', PROVIDER_MODE: 'fake' }));
    db = t.app.get(Database);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
    await stripe.close();
  });

  const view = async (owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}/auto-top-up`)).body;
  const customerOf = async (owner: string) =>
    (await db.query<{ c: string }>(`SELECT stripe_customer_id AS c FROM wallets WHERE owner_id = $1`, [owner]))[0].c;

  async function until<T>(what: string, probe: () => Promise<T>, ok: (x: T) => boolean, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const x = await probe();
      if (ok(x)) return x;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(x)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const attempts = (owner: string, n: number, done = true) =>
    until(
      `${n} finished attempts of ${owner}`,
      () => view(owner),
      (v) => v.attempts.length >= n && (!done || v.attempts.every((a: any) => !['creating', 'processing'].includes(a.status))),
    );

  /** A wallet with a card saved through a setup-mode Checkout, and auto top-up on. */
  async function ready(owner: string, settings: Record<string, unknown> = {}): Promise<{ customer: string; pm: string }> {
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const off = await call(t, 'PUT', `/v1/wallets/${owner}/auto-top-up`, {
      enabled: true,
      threshold: '10',
      pack_id: 'pack_50',
      max_per_month: 4,
    });
    expect([off.status, off.body.code]).toEqual([422, 'payment_method_required']);
    const s = await call(t, 'POST', '/v1/billing/setup-sessions', {
      owner_id: owner,
      success_url: 'https://example.com/ok',
      cancel_url: 'https://example.com/no',
    });
    expect([s.status, s.body.mode]).toEqual([201, 'setup']);
    await stripe.completeCheckout(s.body.id);
    const saved = await view(owner);
    expect(saved.payment_method).toMatchObject({ id: expect.stringMatching(/^pm_/) });
    const put = await call(t, 'PUT', `/v1/wallets/${owner}/auto-top-up`, {
      enabled: true,
      threshold: '10',
      pack_id: 'pack_50',
      max_per_month: 4,
      ...settings,
    });
    expect(put.status).toBe(201);
    return { customer: await customerOf(owner), pm: saved.payment_method.id };
  }

  it('100 parallel reservations crossing together make one PaymentIntent, and its webhook 5 times at once credits once', async () => {
    const { customer } = await ready('atu_par');
    // 15 free tokens; 100 holds of 0.1 at once take 10: the balance crosses 10 once.
    const holds = await Promise.all(
      Array.from({ length: 100 }, () => call(t, 'POST', '/v1/wallets/atu_par/reservations', { amount: '0.1' }, { idem: idemKey('atu') })),
    );
    expect(holds.every((h) => h.status === 201)).toBe(true);
    const v = await attempts('atu_par', 1);
    expect(v.attempts.map((a: any) => a.status)).toEqual(['succeeded']);
    expect(stripe.paymentIntentsFor(customer)).toHaveLength(1);
    expect(await balance(t, 'atu_par')).toEqual({ available: '55.000', held: '10.000' });
    // Stripe delivers the event again, five times at once: nothing more is credited.
    // The first suite of this file: the only payment_intent.succeeded so far is this top-up's.
    const succeeded = stripe.deliveries.filter((d) => d.type === 'payment_intent.succeeded');
    expect(succeeded).toHaveLength(1);
    expect((await stripe.redeliver(succeeded[0].eventId, 5)).every((s) => s === 200)).toBe(true);
    expect(await balance(t, 'atu_par')).toEqual({ available: '55.000', held: '10.000' });
    const events = (await call(t, 'GET', '/v1/events?owner_id=atu_par&types=auto_top_up.succeeded,credit.created&limit=100')).body.data;
    expect(events.map((e: any) => [e.type, e.data.kind ?? null])).toEqual([
      ['credit.created', 'grant'],
      ['credit.created', 'purchase'],
      ['auto_top_up.succeeded', null],
    ]);
    await Promise.all(holds.map((h) => call(t, 'POST', `/v1/reservations/${h.body.id}/release`, undefined, { idem: idemKey() })));
  });

  it('a decline, then a success on the next crossing; three declines in a row turn it off with the reason', async () => {
    const { customer, pm } = await ready('atu_decl');
    stripe.setOffSessionOutcomes(pm, ['decline', 'succeed']);
    await spend(t, 'atu_decl', '6');
    expect((await attempts('atu_decl', 1)).attempts[0]).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('card_declined'),
    });
    expect((await view('atu_decl')).failures).toBe(1);
    expect(await balance(t, 'atu_decl')).toEqual({ available: '9.000', held: '0.000' });
    // Back above the threshold, then below again: the next crossing tries again, and succeeds.
    await grantTokens(t, 'atu_decl', 2_000n);
    await spend(t, 'atu_decl', '2');
    const v = await attempts('atu_decl', 2);
    expect(v.attempts.map((a: any) => a.status)).toEqual(['succeeded', 'failed']);
    expect(v.failures).toBe(0);
    expect(await balance(t, 'atu_decl')).toEqual({ available: '59.000', held: '0.000' });

    stripe.setOffSessionOutcome(pm, 'decline');
    for (let i = 0; i < 3; i++) {
      await spend(t, 'atu_decl', (Number((await balance(t, 'atu_decl')).available) - 9).toFixed(3));
      await attempts('atu_decl', 3 + i);
      if (i < 2) await grantTokens(t, 'atu_decl', 2_000n);
    }
    const off = await view('atu_decl');
    expect(off).toMatchObject({ enabled: false, failures: 3, disabled_reason: expect.stringContaining('3 failures in a row') });
    expect(off.attempts.slice(0, 3).map((a: any) => a.status)).toEqual(['failed', 'failed', 'failed']);
    const failed = (await call(t, 'GET', '/v1/events?owner_id=atu_decl&types=auto_top_up.failed')).body.data;
    expect(failed).toHaveLength(4);
    expect(failed[3].data).toMatchObject({ disabled: true, failures: 3 });
    // Off: the alert is gone, and a fourth crossing charges nothing.
    expect((await call(t, 'GET', '/v1/wallets/atu_decl/alerts')).body.data).toEqual([]);
    const before = stripe.paymentIntentsFor(customer).length;
    await grantTokens(t, 'atu_decl', 2_000n);
    await spend(t, 'atu_decl', '5');
    await new Promise((r) => setTimeout(r, 500));
    expect(stripe.paymentIntentsFor(customer)).toHaveLength(before);
  });

  it('never passes max_per_month: a wallet drained 5 times is charged twice', async () => {
    const { customer } = await ready('atu_cap', { max_per_month: 2 });
    for (let i = 0; i < 5; i++) {
      const available = Number((await balance(t, 'atu_cap')).available);
      await spend(t, 'atu_cap', (available - 1).toFixed(3));
      await attempts('atu_cap', i + 1);
      // A capped crossing buys nothing: top the wallet up by hand so that the next drain crosses again.
      if (Number((await balance(t, 'atu_cap')).available) < 10) await grantTokens(t, 'atu_cap', 20_000n);
    }
    expect(stripe.paymentIntentsFor(customer)).toHaveLength(2);
    const v = await view('atu_cap');
    expect(v.this_month).toBe(2);
    expect(v.attempts.map((a: any) => a.status)).toEqual(['skipped', 'skipped', 'skipped', 'succeeded', 'succeeded']);
    expect(v.attempts[0].error).toContain('monthly cap of 2');
  });

  it('an attempt left in requires_action keeps its place under max_per_month, and is credited once when authenticated later', async () => {
    const { customer, pm } = await ready('atu_3ds', { max_per_month: 1 });
    stripe.setOffSessionOutcomes(pm, ['requires_action']);
    await spend(t, 'atu_3ds', '6');
    const first = await attempts('atu_3ds', 1);
    expect(first.attempts[0]).toMatchObject({ status: 'requires_action' });
    expect(first.this_month).toBe(1);
    // The next crossing is capped: a second intent could be paid beside the first.
    await grantTokens(t, 'atu_3ds', 2_000n);
    await spend(t, 'atu_3ds', '2');
    const second = await attempts('atu_3ds', 2);
    expect(second.attempts.map((a: any) => a.status)).toEqual(['skipped', 'requires_action']);
    expect(second.attempts[0].error).toContain('monthly cap of 1');
    const pis = stripe.paymentIntentsFor(customer);
    expect(pis).toHaveLength(1);
    // The customer authenticates it after all: credited once (the webhook twice), and the cap holds.
    const { events } = await stripe.authenticate(pis[0].id);
    await stripe.redeliver(events[0].id);
    await until(
      'the late credit',
      () => balance(t, 'atu_3ds'),
      (b) => b.available === '59.000',
    );
    const after = await view('atu_3ds');
    expect(after.this_month).toBe(1);
    expect(after.attempts.map((a: any) => a.status)).toEqual(['skipped', 'succeeded']);
    expect(await balance(t, 'atu_3ds')).toEqual({ available: '59.000', held: '0.000' });
  });

  it('a frozen wallet is not charged: a dispute that drops it below the threshold, or an admin freeze, skips the crossing', async () => {
    // A dispute: its clawback crosses the threshold and freezes the wallet in the same transaction.
    const { customer } = await ready('atu_disp');
    const session = await checkout(t, 'atu_disp', { pack_id: 'pack_200' });
    await stripe.completeCheckout(session);
    expect(await balance(t, 'atu_disp')).toEqual({ available: '215.000', held: '0.000' });
    expect(
      (await call(t, 'PUT', '/v1/wallets/atu_disp/auto-top-up', { enabled: true, threshold: '100', pack_id: 'pack_50', max_per_month: 4 }))
        .status,
    ).toBe(200);
    const before = stripe.paymentIntentsFor(customer).length;
    expect((await stripe.dispute(stripe.sessions.get(session)!.payment_intent as string)).statuses).toEqual([200]);
    const disputed = await attempts('atu_disp', 1);
    expect(disputed.attempts[0]).toMatchObject({ status: 'skipped', error: 'the wallet is frozen' });
    expect(stripe.paymentIntentsFor(customer)).toHaveLength(before);
    expect(disputed.failures).toBe(0);

    // An admin freeze: a crossing while frozen is skipped; once unfrozen, the next crossing charges.
    const frozen = await ready('atu_frz');
    const admin = (path: string, reason: string) => call(t, 'POST', path, { reason }, { key: t.adminKey, idem: idemKey('adm') });
    expect((await admin('/v1/admin/wallets/atu_frz/freeze', 'review')).status).toBe(200);
    expect(
      (await call(t, 'PUT', '/v1/wallets/atu_frz/auto-top-up', { enabled: true, threshold: '20', pack_id: 'pack_50', max_per_month: 4 }))
        .status,
    ).toBe(200);
    expect((await attempts('atu_frz', 1)).attempts[0]).toMatchObject({ status: 'skipped', error: 'the wallet is frozen' });
    expect(stripe.paymentIntentsFor(frozen.customer)).toHaveLength(0);
    expect((await admin('/v1/admin/wallets/atu_frz/unfreeze', 'cleared')).status).toBe(200);
    await grantTokens(t, 'atu_frz', 10_000n);
    await spend(t, 'atu_frz', '6');
    expect((await attempts('atu_frz', 2)).attempts.map((a: any) => a.status)).toEqual(['succeeded', 'skipped']);
    expect(stripe.paymentIntentsFor(frozen.customer)).toHaveLength(1);
  });

  it('a worker killed after Stripe made the PaymentIntent retries with the same key: one charge', async () => {
    const { customer } = await ready('atu_kill');
    const service = t.app.get(AutoTopUpService);
    stripe.holdDeliveries(true);
    let crashes = 0;
    service.faultAfterCreate = () => {
      if (crashes++ === 0) throw new Error('worker killed after the PaymentIntent was created');
    };
    try {
      await spend(t, 'atu_kill', '6');
      // The retry (BullMQ, after its backoff) asks again with the same key and records the intent.
      await until(
        'the retried attempt',
        () => view('atu_kill'),
        (v) => v.attempts[0]?.status === 'processing',
        30_000,
      );
    } finally {
      service.faultAfterCreate = null;
    }
    expect(crashes).toBe(2);
    const pis = stripe.paymentIntentsFor(customer);
    expect(pis).toHaveLength(1);
    const [attempt] = await db.query<{ idempotency_key: string }>(
      `SELECT idempotency_key FROM auto_top_up_attempts a JOIN wallets w ON w.id = a.wallet_id WHERE w.owner_id = 'atu_kill'`,
    );
    expect(stripe.paymentIntentsForKey(attempt.idempotency_key)).toHaveLength(1);
    // Its webhook arrives late, twice: credited once.
    await stripe.flushHeld();
    stripe.holdDeliveries(false);
    await attempts('atu_kill', 1);
    expect(await balance(t, 'atu_kill')).toEqual({ available: '59.000', held: '0.000' });
  });

  it('reconcile does not ask Stripe again for an attempt older than its 24-hour idempotency window; its webhook still credits it once', async () => {
    const { customer } = await ready('atu_old');
    const service = t.app.get(AutoTopUpService);
    stripe.holdDeliveries(true);
    let crashes = 0;
    // The worker dies after Stripe made the PaymentIntent, every time, for a day.
    service.faultAfterCreate = () => {
      crashes++;
      throw new Error('worker killed after the PaymentIntent was created');
    };
    try {
      await spend(t, 'atu_old', '6');
      await until(
        'the crash',
        () => Promise.resolve(crashes),
        (n) => n >= 1,
      );
      await db.run(
        `UPDATE auto_top_up_attempts a SET created_at = now() - interval '25 hours', updated_at = now() - interval '25 hours'
         FROM wallets w WHERE w.id = a.wallet_id AND w.owner_id = 'atu_old'`,
      );
      const report = await t.app.get(ReconcileService).reconcile(new Date(Date.now() - 3_600_000));
      expect(report.repaired.some((r) => r.endsWith(': failed'))).toBe(true);
      const v = await view('atu_old');
      expect(v.attempts[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('abandoned') });
      expect(v.failures).toBe(0);
    } finally {
      service.faultAfterCreate = null;
    }
    // Nothing more was asked of Stripe: the one intent of the first try.
    expect(stripe.paymentIntentsFor(customer)).toHaveLength(1);
    // That intent succeeded at Stripe; its webhook credits it, once, and the attempt is done.
    await stripe.flushHeld();
    stripe.holdDeliveries(false);
    await until(
      'the late credit',
      () => view('atu_old'),
      (x) => x.attempts[0]?.status === 'succeeded',
    );
    expect(await balance(t, 'atu_old')).toEqual({ available: '59.000', held: '0.000' });
    expect(stripe.paymentIntentsFor(customer)).toHaveLength(1);
  });

  it('reconcile credits, once, a succeeded auto top-up whose webhook never came', async () => {
    await ready('atu_rec');
    stripe.holdDeliveries(true);
    try {
      await spend(t, 'atu_rec', '6');
      await until(
        'the processing attempt',
        () => view('atu_rec'),
        (v) => v.attempts[0]?.status === 'processing',
      );
      await db.run(`UPDATE auto_top_up_attempts SET updated_at = now() - interval '5 minutes' WHERE status = 'processing'`);
      const report = await t.app.get(ReconcileService).reconcile(new Date(Date.now() - 3_600_000));
      expect(report.repaired.some((r) => r.includes('credited (its webhook never arrived)'))).toBe(true);
      expect(await balance(t, 'atu_rec')).toEqual({ available: '59.000', held: '0.000' });
      expect((await view('atu_rec')).attempts[0].status).toBe('succeeded');
      // The webhook after all: nothing twice.
      await stripe.flushHeld();
    } finally {
      stripe.holdDeliveries(false);
    }
    expect(await balance(t, 'atu_rec')).toEqual({ available: '59.000', held: '0.000' });
  });

  it('saves the card of a pack Checkout that asks to, and refuses bad settings with problem+json', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/atu_pack')).status).toBe(201);
    const co = await call(t, 'POST', '/v1/billing/checkout-sessions', {
      owner_id: 'atu_pack',
      pack_id: 'pack_50',
      save_payment_method: true,
      success_url: 'https://example.com/ok',
      cancel_url: 'https://example.com/no',
    });
    expect(co.status).toBe(201);
    await stripe.completeCheckout(co.body.id);
    await stripe.deliveriesSettled();
    // Credited once (by the session), and the card kept.
    expect(await balance(t, 'atu_pack')).toEqual({ available: '65.000', held: '0.000' });
    expect((await view('atu_pack')).payment_method).toMatchObject({ id: expect.stringMatching(/^pm_/) });
    const plan = await call(t, 'POST', '/v1/billing/checkout-sessions', {
      owner_id: 'atu_pack',
      plan_id: 'creator',
      save_payment_method: true,
      success_url: 'https://example.com/ok',
      cancel_url: 'https://example.com/no',
    });
    expect([plan.status, plan.body.code]).toEqual([400, 'validation_error']);
    const good = { enabled: true, threshold: '10', pack_id: 'pack_50', max_per_month: 2 };
    const bad: [unknown, number, string][] = [
      [{ ...good, pack_id: 'pack_7' }, 404, 'pack_not_found'],
      [{ ...good, threshold: '-1' }, 400, 'validation_error'],
      [{ ...good, threshold: null }, 400, 'validation_error'],
      [{ ...good, max_per_month: 0 }, 400, 'validation_error'],
      [{ ...good, max_per_month: 101 }, 400, 'validation_error'],
      [{ ...good, enabled: 'yes' }, 400, 'validation_error'],
      [{ threshold: '10', pack_id: 'pack_50', max_per_month: 2 }, 400, 'validation_error'],
    ];
    for (const [body, status, code] of bad) {
      const r = await call(t, 'PUT', '/v1/wallets/atu_pack/auto-top-up', body);
      expect([JSON.stringify(body), r.status, r.body.code]).toEqual([JSON.stringify(body), status, code]);
    }
    expect((await view('atu_pack')).enabled).toBe(false);
    expect((await call(t, 'PUT', '/v1/wallets/nobody_atu/auto-top-up', good)).body.code).toBe('wallet_not_found');
    // The crossing alert is the service's: a gateway cannot change it.
    expect((await call(t, 'PUT', '/v1/wallets/atu_pack/auto-top-up', good)).status).toBe(201);
    const mine = await call(t, 'DELETE', '/v1/wallets/atu_pack/alerts/_auto_top_up');
    expect([mine.status, mine.body.code]).toEqual([400, 'validation_error']);
    expect((await call(t, 'GET', '/v1/wallets/atu_pack/alerts')).body.data.map((a: any) => a.name)).toEqual(['_auto_top_up']);
  });
});
