import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ReconcileService } from '@app/billing';
import { execFile } from 'node:child_process';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { call, expectLedgerConsistent, idemKey, TestApp } from '../support/app.js';
import { balance, checkout, spend, startBillingApp } from './support.js';

describe('Stripe refunds, disputes and reconcile', () => {
  let t: TestApp;
  let stripe: FakeStripe;
  beforeAll(async () => {
    ({ t, stripe } = await startBillingApp());
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
    await stripe.close();
  });

  const buy = async (owner: string, item: { pack_id: string } | { plan_id: string }) => {
    const id = await checkout(t, owner, item);
    await stripe.completeCheckout(id);
    return stripe.sessions.get(id)!;
  };

  it('a partial refund after spending claws back what is left, books the shortfall, never goes negative', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/refunded')).status).toBe(201);
    const session = await buy('refunded', { pack_id: 'pack_50' });
    await spend(t, 'refunded', '60'); // 15 free, then 45 of the 50 bought: 5 left in the purchase
    expect(await balance(t, 'refunded')).toEqual({ available: '5.000', held: '0.000' });
    const { statuses } = await stripe.refund(session.payment_intent as string, 300); // $3 = 30 tokens
    expect(statuses).toEqual([200]);
    const w = await call(t, 'GET', '/v1/wallets/refunded');
    expect(w.body.balance).toEqual({ available: '0.000', held: '0.000' });
    expect(w.body.flagged).toBe(true);
    const tx = await call(t, 'GET', '/v1/wallets/refunded/transactions?limit=5');
    expect(tx.body.data[0]).toMatchObject({ type: 'clawback', amount: '-5.000' });
    expect(tx.body.data[0].metadata).toMatchObject({ reversed_cents: '300', shortfall: '25000' });
    // The rest refunded later: nothing left to take, all shortfall; replaying the first refund changes nothing.
    await stripe.refund(session.payment_intent as string, 200);
    expect(await stripe.deliver(stripe.events.filter((e) => e.type === 'charge.refunded')[0])).toBe(200);
    expect(await balance(t, 'refunded')).toEqual({ available: '0.000', held: '0.000' });
  });

  it('a dispute claws back and freezes spending (423)', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/disputed')).status).toBe(201);
    const session = await buy('disputed', { pack_id: 'pack_200' });
    expect(await balance(t, 'disputed')).toEqual({ available: '215.000', held: '0.000' });
    await stripe.dispute(session.payment_intent as string);
    const w = await call(t, 'GET', '/v1/wallets/disputed');
    expect(w.body).toMatchObject({ status: 'frozen', balance: { available: '15.000', held: '0.000' } });
    const r = await call(t, 'POST', '/v1/wallets/disputed/reservations', { amount: '1' }, { idem: idemKey() });
    expect([r.status, r.body.code]).toEqual([423, 'wallet_frozen']);
  });

  it('a refund of a plan invoice claws back its share of the plan tokens', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/plan_refund')).status).toBe(201);
    const session = await buy('plan_refund', { plan_id: 'studio' });
    expect(await balance(t, 'plan_refund')).toEqual({ available: '1515.000', held: '0.000' });
    const invoice = stripe.invoices.get(session.invoice as string)!;
    const pi = [...stripe.invoicePayments.values()].find((p) => p.invoice === invoice.id)!.payment.payment_intent as string;
    await stripe.refund(pi, 990); // 10% of $99
    expect(await balance(t, 'plan_refund')).toEqual({ available: '1365.000', held: '0.000' });
  });

  it('reconcile credits a payment whose webhook never arrived, and changes nothing when run twice', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/lost_hook')).status).toBe(201);
    const id = await checkout(t, 'lost_hook', { pack_id: 'pack_1000' });
    await stripe.completeCheckout(id, { deliver: false });
    const plan = await checkout(t, 'lost_hook', { plan_id: 'creator' });
    await stripe.completeCheckout(plan, { deliver: false });
    expect(await balance(t, 'lost_hook')).toEqual({ available: '15.000', held: '0.000' });
    const report = await t.app.get(ReconcileService).reconcile(new Date(Date.now() - 3_600_000));
    expect(report.repaired).toHaveLength(2);
    expect(report.repaired.join()).toContain(id);
    expect(await balance(t, 'lost_hook')).toEqual({ available: '1265.000', held: '0.000' });

    // Second run, through the CLI as an operator would: everything matches, nothing changes.
    const out = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        ['dist/apps/cli/src/main.js', 'stripe', 'reconcile', '--since', '1h'],
        {
          env: {
            ...process.env,
            DATABASE_URL: t.config.DATABASE_URL,
            QUEUE_PREFIX: t.config.QUEUE_PREFIX,
            STRIPE_SECRET_KEY: 'sk_test_fake',
            STRIPE_API_BASE: t.config.STRIPE_API_BASE,
            LOG_LEVEL: 'silent',
          },
        },
        (err, stdout) => resolve({ code: err ? 1 : 0, stdout }),
      ),
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/repaired 0/);
    expect(out.stdout).toMatch(/matched [1-9]/);
    expect(await balance(t, 'lost_hook')).toEqual({ available: '1265.000', held: '0.000' });
  });
});
