import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { balance, checkout, startBillingApp } from '../billing/support.js';
import { generationEnv, waitFinished } from '../generation/support.js';
import { call, expectLedgerConsistent, idemKey, TestApp } from '../support/app.js';

const MODEL = 'models/openai/gpt-image';

/**
 * The admin summary's margins against figures computed by hand. Every wallet
 * starts with its 15 free weekly tokens, which are spent first (they expire
 * soonest); a pack token was bought at $5 / 50 = $0.10, a creator plan token
 * at $19 / 250 = $0.076.
 */
describe('margin report: revenue at the price paid, provider cost, free tokens apart', () => {
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

  const generate = async (body: Record<string, unknown>) => {
    const r = await call(t, 'POST', '/v1/image/generate', { model: MODEL, ...body }, { idem: idemKey('margin') });
    expect(r.status).toBe(202);
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect(g.status).toBe('succeeded');
    return g;
  };
  const admin = (method: string, path: string, body?: unknown) =>
    call(t, method, path, body, { key: t.adminKey, idem: method === 'POST' ? idemKey('adm') : undefined });

  it('figures per variant and in total match the hand computation', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    // A pack buyer: 15 free + 50 bought.
    await call(t, 'PUT', '/v1/wallets/m_pack');
    await stripe.completeCheckout(await checkout(t, 'm_pack', { pack_id: 'pack_50' }));
    expect(await balance(t, 'm_pack')).toEqual({ available: '65.000', held: '0.000' });
    // gpt-image-1 high 1536x1024 at 5.300, 4 images = 21.200: 15.000 free, then 6.200 paid ($0.620000).
    // Provider: 4 x $0.25 = $1.000000, of which free tokens paid 15/21.2 = $0.707547.
    expect(
      (await generate({ owner_id: 'm_pack', variant: 'gpt-image-1', prompt: 'p1', quality: 'high', size: '1536x1024', n: 4 })).tokens_used,
    ).toBe('21.200');
    // gpt-image-1 high 1024x1024 at 3.540, 2 images = 7.080, all paid ($0.708000); provider 2 x $0.167 = $0.334000.
    expect(
      (await generate({ owner_id: 'm_pack', variant: 'gpt-image-1', prompt: 'p2', quality: 'high', size: '1024x1024', n: 2 })).tokens_used,
    ).toBe('7.080');

    // A creator plan: 15 free + 250 at $0.076.
    await call(t, 'PUT', '/v1/wallets/m_plan');
    await stripe.completeCheckout(await checkout(t, 'm_plan', { plan_id: 'creator' }));
    expect(await balance(t, 'm_plan')).toEqual({ available: '265.000', held: '0.000' });
    // gpt-image-1-min (flat 3.540), 5 images = 17.700: 15.000 free, 2.700 plan = 2.7 x $0.076 = $0.205200.
    // No quality asked: costed at the high tier, 5 x $0.167 = $0.835000; free share 15/17.7 = $0.707627.
    expect((await generate({ owner_id: 'm_plan', prompt: 'p3', n: 5 })).tokens_used).toBe('17.700');

    // Free tokens only: an admin grant and the weekly grant.
    await call(t, 'PUT', '/v1/wallets/m_free');
    expect((await admin('POST', '/v1/admin/wallets/m_free/grants', { amount: '10', reason: 'welcome' })).status).toBe(201);
    // gpt-image-1 low 1024x1024 at 0.234, 2 images = 0.468, free: $0 revenue, 2 x $0.011 = $0.022000 of cost, all of it free.
    expect((await generate({ owner_id: 'm_free', variant: 'gpt-image-1', prompt: 'p4', quality: 'low', n: 2 })).tokens_used).toBe('0.468');
    // A reservation of a plain amount, settled: no generation, so no cost recorded.
    const res = await call(t, 'POST', '/v1/wallets/m_free/reservations', { amount: '1.000' }, { idem: idemKey('amt') });
    expect((await call(t, 'POST', `/v1/reservations/${res.body.id}/settle`, undefined, { idem: idemKey('settle') })).status).toBe(200);

    const r = await admin('GET', `/v1/admin/reports/summary?from=${from}&to=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(r.status).toBe(200);
    const byVariant = Object.fromEntries(r.body.margin_by_variant.map((v: { variant: string }) => [v.variant, v]));
    expect(byVariant['gpt-image-1']).toEqual({
      variant: 'gpt-image-1',
      settlements: 3,
      images: 8,
      tokens: { paid: '13.280', free: '15.468', other: '0.000' },
      revenue_usd: '1.328000', // 0.620 + 0.708
      provider_cost_usd: '1.356000', // 1.000 + 0.334 + 0.022
      free_tokens_cost_usd: '0.729547', // 1.000 x 15/21.2 + 0.022
      settlements_without_cost: 0,
      margin_usd: '-0.028000',
    });
    expect(byVariant['gpt-image-1-min']).toEqual({
      variant: 'gpt-image-1-min',
      settlements: 1,
      images: 5,
      tokens: { paid: '2.700', free: '15.000', other: '0.000' },
      revenue_usd: '0.205200',
      provider_cost_usd: '0.835000',
      free_tokens_cost_usd: '0.707627',
      settlements_without_cost: 0,
      margin_usd: '-0.629800',
    });
    expect(byVariant['(by amount)']).toMatchObject({
      settlements: 1,
      images: 0,
      tokens: { paid: '0.000', free: '1.000', other: '0.000' },
      revenue_usd: '0.000000',
      provider_cost_usd: '0.000000',
      settlements_without_cost: 1,
      margin_usd: null,
    });
    expect(r.body.margin_total).toEqual({
      settlements: 5,
      images: 13,
      tokens: { paid: '15.980', free: '31.468', other: '0.000' },
      revenue_usd: '1.533200',
      provider_cost_usd: '2.191000',
      free_tokens_cost_usd: '1.437174',
      settlements_without_cost: 1,
      margin_usd: null,
    });
    // The nominal view ($0.10 a token) is still there, beside it.
    expect(r.body.usd_by_variant.find((v: { variant: string }) => v.variant === 'gpt-image-1-min')).toEqual({
      variant: 'gpt-image-1-min',
      tokens: '17.700',
      usd: '1.770',
    });
  });

  it("counts a metered hold's overage at the price its bucket was bought for, and its usage at the provider's unit costs", async () => {
    const from = new Date().toISOString();
    await call(t, 'PUT', '/v1/wallets/m_meter');
    await stripe.completeCheckout(await checkout(t, 'm_meter', { pack_id: 'pack_50' }));
    // The 15 free tokens go first, by amount, so what follows is paid from the pack ($0.10 a token).
    const free = await call(t, 'POST', '/v1/wallets/m_meter/reservations', { amount: '15.000' }, { idem: idemKey('free') });
    expect((await call(t, 'POST', `/v1/reservations/${free.body.id}/settle`, undefined, { idem: idemKey('settle') })).status).toBe(200);
    // gpt-4o-mini at 4 mt per 1K input and 13 per 1K output: the estimate (100K in, 50K out) holds 1.050;
    // the usage (100K in, 150K out) costs 2.350, so 1.300 is overage, taken from the pack bucket.
    const r = await call(
      t,
      'POST',
      '/v1/wallets/m_meter/reservations',
      { variant: 'gpt-4o-mini', estimate: { input_tokens: 100_000, output_tokens: 50_000 }, max_overage: '5' },
      { idem: idemKey('meter') },
    );
    expect([r.status, r.body.reserved]).toEqual([201, '1.050']);
    const s = await call(
      t,
      'POST',
      `/v1/reservations/${r.body.id}/settle`,
      { usage: { input_tokens: 100_000, output_tokens: 150_000 } },
      { idem: idemKey('usage') },
    );
    expect([s.status, s.body.settled, s.body.overage, s.body.uncollected]).toEqual([200, '1.050', '1.300', '0.000']);

    const rep = await admin('GET', `/v1/admin/reports/summary?from=${from}&to=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(rep.status).toBe(200);
    const row = rep.body.margin_by_variant.find((v: { variant: string }) => v.variant === 'gpt-4o-mini');
    expect(row).toEqual({
      variant: 'gpt-4o-mini',
      settlements: 1,
      images: 0,
      tokens: { paid: '2.350', free: '0.000', other: '0.000' },
      revenue_usd: '0.235000', // (1.050 held + 1.300 overage) x $0.10
      provider_cost_usd: '0.105000', // 100 x $0.00015 per 1K in + 150 x $0.0006 per 1K out
      free_tokens_cost_usd: '0.000000',
      settlements_without_cost: 0,
      margin_usd: '0.130000',
    });
    // The hold recorded the unit costs it was reserved at, beside its prices.
    const [held] = await t.app
      .get(Database)
      .query<{ meters: Record<string, { cost_micro_usd: string }> }>(`SELECT meters FROM reservations WHERE id = $1`, [r.body.id]);
    expect([held.meters['1k_input_tokens'].cost_micro_usd, held.meters['1k_output_tokens'].cost_micro_usd]).toEqual(['150', '600']);
    expect(rep.body.tokens.spent).toBe('17.350'); // 15.000 + 1.050 + 1.300
  });
});
