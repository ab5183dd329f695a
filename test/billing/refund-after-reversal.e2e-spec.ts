import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { call, expectLedgerConsistent, idemKey, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from '../generation/support.js';
import { balance, checkout, startBillingApp } from './support.js';

const MODEL = 'models/openai/gpt-image';

/**
 * An admin refund of a generation gives back only what was not paid from a
 * purchase Stripe has since reversed: those tokens went back with the money
 * (or were booked as chargeback losses), and never return to the wallet.
 */
describe('admin refunds of generations paid from a reversed purchase', () => {
  let t: TestApp;
  let stripe: FakeStripe;
  beforeAll(async () => {
    ({ t, stripe } = await startBillingApp(generationEnv()));
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
    await stripe.close();
  });

  const refund = (generation: string, amount?: string) =>
    call(
      t,
      'POST',
      `/v1/admin/generations/${generation}/refund`,
      { reason: 'support', ...(amount ? { amount } : {}) },
      { key: t.adminKey, idem: idemKey('rf') },
    );

  /** 15 free tokens and a pack of 50; ten images (35.4) spend the free 15 first, then 20.4 of the pack. */
  async function spentOnPack(owner: string) {
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const session = await checkout(t, owner, { pack_id: 'pack_50' });
    await stripe.completeCheckout(session);
    const r = await call(t, 'POST', '/v1/image/generate', { owner_id: owner, model: MODEL, prompt: 'ten', n: 10 }, { idem: idemKey() });
    expect(r.status).toBe(202);
    expect((await waitFinished(t, `/v1/generations/${r.body.id}`)).tokens_used).toBe('35.400');
    expect(await balance(t, owner)).toEqual({ available: '29.600', held: '0.000' });
    return { generation: r.body.id as string, pi: stripe.sessions.get(session)!.payment_intent as string };
  }

  it('a fully refunded pack: only the free share is refundable', async () => {
    const { generation, pi } = await spentOnPack('rar_full');
    expect((await stripe.refund(pi, 500)).statuses).toEqual([200]);
    // The pack's 29.6 left are taken back; its 20.4 spent are chargeback losses.
    expect(await balance(t, 'rar_full')).toEqual({ available: '0.000', held: '0.000' });
    const over = await refund(generation, '35.400');
    expect([over.status, over.body.code]).toEqual([422, 'refund_exceeds_charge']);
    expect(over.body.detail).toContain('20.400 of it was paid from a purchase Stripe reversed');
    const all = await refund(generation);
    expect([all.status, all.body.amount, all.body.refunded_total]).toEqual([201, '15.000', '15.000']);
    expect((await refund(generation, '0.001')).status).toBe(422);
    expect(await balance(t, 'rar_full')).toEqual({ available: '15.000', held: '0.000' });
  });

  it('a pack refunded by half: half its share is not refundable, rounded against a second give-back', async () => {
    const { generation, pi } = await spentOnPack('rar_half');
    expect((await stripe.refund(pi, 250)).statuses).toEqual([200]);
    const all = await refund(generation);
    // 35.4 - 20.4 / 2 = 25.2
    expect([all.status, all.body.amount]).toEqual([201, '25.200']);
  });

  it('a dispute: nothing of the pack refundable while it is open, all of it once the dispute is won', async () => {
    const { generation, pi } = await spentOnPack('rar_disp');
    expect((await stripe.dispute(pi)).statuses).toEqual([200]);
    const open = await refund(generation, '15.001');
    expect([open.status, open.body.code]).toEqual([422, 'refund_exceeds_charge']);
    expect((await stripe.closeDispute(pi, 'won')).statuses).toEqual([200]);
    const all = await refund(generation);
    expect([all.status, all.body.amount]).toEqual([201, '35.400']);
  });
});
