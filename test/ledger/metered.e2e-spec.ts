import { describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { SYSTEM } from '@app/ledger';
import { call, idemKey, TestApp, useApp } from '../support/app.js';

/**
 * Metered reservations over HTTP. Seeded prices (AddMeteredPrices): gpt-4o-mini
 * 4 mt per 1K input tokens and 13 mt per 1K output tokens, sora-2 2120 mt per
 * second. Every wallet starts with the weekly 15.000 tokens.
 */
describe('metered reservations: estimate at reserve, usage at settle', () => {
  const app = useApp();
  const t = (): TestApp => app();
  const wallet = async (owner: string) => expect((await call(t(), 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
  const balance = async (owner: string) => (await call(t(), 'GET', `/v1/wallets/${owner}`)).body.balance;
  const reserve = (owner: string, body: unknown, idem = idemKey('m')) =>
    call(t(), 'POST', `/v1/wallets/${owner}/reservations`, body, { idem });
  const settle = (id: string, body: unknown, idem = idemKey('ms')) => call(t(), 'POST', `/v1/reservations/${id}/settle`, body, { idem });
  const events = async (owner: string, types: string) =>
    (await call(t(), 'GET', `/v1/events?owner_id=${owner}&types=${types}`)).body.data as { type: string; data: Record<string, unknown> }[];
  // 100000 input tokens x 4 mt/1K = 400 mt, 50000 output x 13 mt/1K = 650 mt: 1.050 tokens.
  const LLM = { variant: 'gpt-4o-mini', estimate: { input_tokens: 100_000, output_tokens: 50_000 } };
  const sumEntries = async (account: string) =>
    BigInt(
      (
        await t()
          .app.get(Database)
          .query<{ s: string }>(`SELECT coalesce(sum(amount), 0)::text AS s FROM entries WHERE account_id = $1`, [account])
      )[0].s,
    );

  it('reserves an estimate at the current meters and records them', async () => {
    await wallet('mt_reserve');
    const r = await reserve('mt_reserve', LLM);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      status: 'pending',
      reserved: '1.050',
      variant: 'gpt-4o-mini',
      estimate: { input_tokens: 100_000, output_tokens: 50_000 },
      usage: null,
      max_overage: '0.000',
      overage: '0.000',
      uncollected: '0.000',
    });
    expect(r.body.meters['1k_input_tokens']).toMatchObject({ version: 1, tokens: '0.004' });
    expect(r.body.meters['1k_output_tokens']).toMatchObject({ version: 1, tokens: '0.013' });
    expect((await call(t(), 'GET', `/v1/reservations/${r.body.id}`)).body).toEqual(r.body);
    expect(await balance('mt_reserve')).toEqual({ available: '13.950', held: '1.050' });
  });

  it('settles below the estimate: the usage is charged, the rest returns', async () => {
    await wallet('mt_below');
    const r = await reserve('mt_below', LLM);
    // 50000 x 4 / 1000 = 200 + 10000 x 13 / 1000 = 130: 0.330.
    const s = await settle(r.body.id, { usage: { input_tokens: 50_000, output_tokens: 10_000 } });
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ status: 'settled', settled: '0.330', released: '0.720', overage: '0.000', uncollected: '0.000' });
    expect(s.body.usage).toEqual({ input_tokens: 50_000, output_tokens: 10_000 });
    expect(await balance('mt_below')).toEqual({ available: '14.670', held: '0.000' });
  });

  it('settles at the estimate: all of the hold, nothing more', async () => {
    await wallet('mt_at');
    const r = await reserve('mt_at', { ...LLM, max_overage: '5' });
    const s = await settle(r.body.id, { usage: LLM.estimate });
    expect(s.body).toMatchObject({ settled: '1.050', released: '0.000', overage: '0.000', uncollected: '0.000', max_overage: '5.000' });
    expect(await balance('mt_at')).toEqual({ available: '13.950', held: '0.000' });
  });

  it('rounds up once per settlement, to the next millitoken', async () => {
    await wallet('mt_round');
    const r = await reserve('mt_round', { variant: 'gpt-4o-mini', estimate: { input_tokens: 1, output_tokens: 1 } });
    // 0.004 + 0.013 mt = 0.017 mt: 1 mt held, 1 mt charged.
    expect(r.body.reserved).toBe('0.001');
    const s = await settle(r.body.id, { usage: { input_tokens: 1, output_tokens: 1 } });
    expect(s.body).toMatchObject({ settled: '0.001', released: '0.000' });
  });

  it('settles above the estimate without max_overage: the rest is uncollected, booked and emitted', async () => {
    await wallet('mt_above0');
    const revenueBefore = await sumEntries(SYSTEM.revenue);
    const uncollectedBefore = await sumEntries(SYSTEM.uncollectedUsage);
    const r = await reserve('mt_above0', LLM);
    // 200000 x 4 / 1000 = 800 + 100000 x 13 / 1000 = 1300: 2.100, of which 1.050 was held.
    const s = await settle(r.body.id, { usage: { input_tokens: 200_000, output_tokens: 100_000 } });
    expect(s.body).toMatchObject({ status: 'settled', settled: '1.050', released: '0.000', overage: '0.000', uncollected: '1.050' });
    expect(await balance('mt_above0')).toEqual({ available: '13.950', held: '0.000' });
    // Revenue is what was delivered; uncollected_usage owes what the wallet did not pay.
    expect((await sumEntries(SYSTEM.revenue)) - revenueBefore).toBe(2100n);
    expect((await sumEntries(SYSTEM.uncollectedUsage)) - uncollectedBefore).toBe(-1050n);
    const [ev] = await events('mt_above0', 'usage.uncollected');
    expect(ev.data).toMatchObject({ reservation_id: r.body.id, amount: '1.050', balance_change: { available: '0.000', held: '0.000' } });
    expect(await events('mt_above0', 'reservation.overage')).toEqual([]);
    const report = await t().verify();
    expect(report.violations).toEqual([]);
  });

  it('settles above the estimate with max_overage: the overage from live buckets in the same call, the rest uncollected', async () => {
    await wallet('mt_above');
    const r = await reserve('mt_above', { ...LLM, max_overage: '0.5' });
    const s = await settle(r.body.id, { usage: { input_tokens: 200_000, output_tokens: 100_000 } });
    expect(s.body).toMatchObject({ settled: '1.050', overage: '0.500', uncollected: '0.550', max_overage: '0.500' });
    expect(await balance('mt_above')).toEqual({ available: '13.450', held: '0.000' });
    const tx = (await call(t(), 'GET', '/v1/wallets/mt_above/transactions?limit=3')).body.data as { type: string; amount: string }[];
    expect(tx.map((x) => x.type).sort()).toEqual(['overage', 'settle', 'uncollected']);
    expect(tx.find((x) => x.type === 'overage')?.amount).toBe('-0.500');
    const [ov] = await events('mt_above', 'reservation.overage');
    expect(ov.data).toMatchObject({ reservation_id: r.body.id, amount: '0.500', balance_change: { available: '-0.500', held: '0.000' } });
    // A usage above the overage cap but within the wallet: max_overage is the cap.
    const r2 = await reserve('mt_above', { ...LLM, max_overage: '10' });
    const s2 = await settle(r2.body.id, { usage: { input_tokens: 200_000, output_tokens: 100_000 } });
    expect(s2.body).toMatchObject({ settled: '1.050', overage: '1.050', uncollected: '0.000' });
    expect(await balance('mt_above')).toEqual({ available: '11.350', held: '0.000' });
  });

  it('takes the overage from what a poor wallet has and records the rest as uncollected', async () => {
    await wallet('mt_poor');
    // 3000000 input tokens x 4 / 1000 = 12.000 held; 3.000 left in the wallet.
    const r = await reserve('mt_poor', { variant: 'gpt-4o-mini', estimate: { input_tokens: 3_000_000 }, max_overage: '100' });
    expect(r.body.reserved).toBe('12.000');
    // 5000000 x 4 / 1000 = 20.000: 8.000 above the hold, of which the wallet has 3.000.
    const s = await settle(r.body.id, { usage: { input_tokens: 5_000_000 } });
    expect(s.body).toMatchObject({ settled: '12.000', overage: '3.000', uncollected: '5.000' });
    expect(await balance('mt_poor')).toEqual({ available: '0.000', held: '0.000' });
    expect((await t().verify()).violations).toEqual([]);
    // ledger verify catches an uncollected share that its transfers do not book.
    const db = t().app.get(Database);
    await db.query(`UPDATE reservations SET uncollected = uncollected + 1 WHERE id = $1`, [r.body.id]);
    try {
      const broken = (await t().verify()).violations.map((v) => v.invariant);
      expect(broken).toEqual([
        "8. a metered reservation's overage and uncollected are its transfers' entries",
        '8. a settled metered reservation charged what its usage costs at its meters',
        '8. the uncollected_usage account is minus all uncollected usage',
      ]);
    } finally {
      await db.query(`UPDATE reservations SET uncollected = uncollected - 1 WHERE id = $1`, [r.body.id]);
    }
    expect((await t().verify()).violations).toEqual([]);
  });

  it('takes no overage from a frozen wallet: beyond the hold is uncollected', async () => {
    await wallet('mt_frozen');
    const r = await reserve('mt_frozen', { ...LLM, max_overage: '5' });
    const frozen = await call(
      t(),
      'POST',
      '/v1/admin/wallets/mt_frozen/freeze',
      { reason: 'fraud review' },
      { key: t().adminKey, idem: idemKey() },
    );
    expect(frozen.body.status).toBe('frozen');
    const s = await settle(r.body.id, { usage: { input_tokens: 200_000, output_tokens: 100_000 } });
    expect(s.body).toMatchObject({ settled: '1.050', overage: '0.000', uncollected: '1.050' });
    expect(await balance('mt_frozen')).toEqual({ available: '13.950', held: '0.000' });
  });

  it('meters video by the second, with fractional seconds', async () => {
    await wallet('mt_video');
    const r = await reserve('mt_video', { variant: 'sora-2', estimate: { seconds: '4.5' } });
    expect(r.body).toMatchObject({ reserved: '9.540', estimate: { seconds: '4.5' } });
    expect(r.body.meters.second).toMatchObject({ tokens: '2.120', version: 1 });
    // 3.333333 s x 2120 mt = 7066.66596 mt -> 7067.
    const s = await settle(r.body.id, { usage: { seconds: 3.333333 } });
    expect(s.body).toMatchObject({ settled: '7.067', released: '2.473', usage: { seconds: '3.333333' } });
    expect(await balance('mt_video')).toEqual({ available: '7.933', held: '0.000' });
  });

  it('refuses bad input as problem+json and changes nothing', async () => {
    await wallet('mt_bad');
    const bad = async (res: Promise<{ status: number; body: { code: string }; headers: Headers }>, status: number, code: string) => {
      const r = await res;
      expect([r.status, r.body.code]).toEqual([status, code]);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    };
    const est = (estimate: unknown) => reserve('mt_bad', { variant: 'gpt-4o-mini', estimate });
    await bad(est({ input_tokens: -1 }), 400, 'validation_error');
    await bad(est({ input_tokens: 1.5 }), 400, 'validation_error');
    await bad(reserve('mt_bad', { variant: 'sora-2', estimate: { seconds: '1.1234567' } }), 400, 'validation_error');
    await bad(reserve('mt_bad', { variant: 'sora-2', estimate: { seconds: 1e-7 } }), 400, 'validation_error');
    await bad(reserve('mt_bad', { variant: 'sora-2', estimate: { seconds: '-1' } }), 400, 'validation_error');
    await bad(est({ tokens: 10 }), 400, 'validation_error');
    await bad(est({ input_tokens: null }), 400, 'validation_error');
    await bad(est({ seconds: '2' }), 422, 'meter_not_priced');
    await bad(est({}), 422, 'empty_estimate');
    await bad(est({ input_tokens: 0 }), 422, 'empty_estimate');
    await bad(reserve('mt_bad', { variant: 'gpt-image-1-min', estimate: { quantity: 1 } }), 422, 'variant_not_metered');
    await bad(reserve('mt_bad', { variant: 'no-such-model', estimate: { quantity: 1 } }), 404, 'variant_not_found');
    await bad(reserve('mt_bad', { variant: 'gpt-4o-mini', quantity: 1 }), 422, 'price_not_found');
    await bad(reserve('mt_bad', { amount: '1', ...LLM }), 400, 'validation_error');
    await bad(reserve('mt_bad', { ...LLM, quantity: 1 }), 400, 'validation_error');
    await bad(reserve('mt_bad', { amount: '1', max_overage: '1' }), 400, 'validation_error');
    await bad(reserve('mt_bad', { variant: 'gpt-4o-mini', max_overage: '1' }), 400, 'validation_error');
    await bad(reserve('mt_bad', { ...LLM, max_overage: '-1' }), 400, 'validation_error');
    await bad(reserve('mt_bad', { ...LLM, max_overage: '0.0001' }), 400, 'validation_error');
    expect(await balance('mt_bad')).toEqual({ available: '15.000', held: '0.000' });

    const metered = await reserve('mt_bad', LLM);
    const flat = await reserve('mt_bad', { amount: '1' });
    await bad(settle(metered.body.id, { usage: { seconds: '1' } }), 422, 'meter_not_priced');
    await bad(settle(metered.body.id, { usage: { input_tokens: -5 } }), 400, 'validation_error');
    await bad(settle(metered.body.id, { usage: { input_tokens: 5, minutes: 1 } }), 400, 'validation_error');
    await bad(settle(metered.body.id, { amount: '0.5' }), 422, 'usage_required');
    await bad(settle(metered.body.id, {}), 422, 'usage_required');
    await bad(settle(metered.body.id, { amount: '0.5', usage: { input_tokens: 5 } }), 400, 'validation_error');
    await bad(settle(flat.body.id, { usage: { input_tokens: 5 } }), 422, 'reservation_not_metered');
    expect(await balance('mt_bad')).toEqual({ available: '12.950', held: '2.050' });
    for (const id of [metered.body.id, flat.body.id])
      expect((await call(t(), 'GET', `/v1/reservations/${id}`)).body.status).toBe('pending');
    // Both still settle as they should.
    expect((await settle(metered.body.id, { usage: { input_tokens: 1000 } })).body).toMatchObject({ settled: '0.004' });
    expect((await settle(flat.body.id, { amount: '0.5' })).body).toMatchObject({ settled: '0.500' });
  });

  it('never double-charges under parallel settles and replays', async () => {
    await wallet('mt_race');
    const r = await reserve('mt_race', { ...LLM, max_overage: '0.5' });
    const usage = { usage: { input_tokens: 200_000, output_tokens: 100_000 } };
    const key = idemKey('mt-race');
    const results = await Promise.all([
      ...Array.from({ length: 6 }, () => settle(r.body.id, usage)),
      ...Array.from({ length: 4 }, () => settle(r.body.id, usage, key)),
    ]);
    const ok = results.filter((x) => x.status === 200);
    // One settle wins; the other keys see it finished; the replays of the winner's key (if it won) return its body.
    const bodies = new Set(ok.map((x) => JSON.stringify(x.body)));
    expect(bodies.size).toBe(1);
    for (const x of results.filter((y) => y.status !== 200)) expect([409]).toContain(x.status);
    const replay = await settle(r.body.id, usage, key);
    expect([200, 409]).toContain(replay.status);
    expect(await balance('mt_race')).toEqual({ available: '13.450', held: '0.000' });
    const got = (await call(t(), 'GET', `/v1/reservations/${r.body.id}`)).body;
    expect(got).toMatchObject({ settled: '1.050', overage: '0.500', uncollected: '0.550' });
    expect(await events('mt_race', 'reservation.overage')).toHaveLength(1);
    expect(await events('mt_race', 'usage.uncollected')).toHaveLength(1);
  });

  it('reports the overage as spent and the uncollected share as not', async () => {
    await wallet('mt_report');
    const summary = async () => (await call(t(), 'GET', '/v1/admin/reports/summary', undefined, { key: t().adminKey })).body;
    const before = await summary();
    const r = await reserve('mt_report', { ...LLM, max_overage: '0.5' });
    await settle(r.body.id, { usage: { input_tokens: 200_000, output_tokens: 100_000 } });
    const after = await summary();
    const mt = (s: string) => Math.round(Number(s) * 1000);
    // 1.050 from the hold and 0.500 of overage were spent; the 0.550 uncollected was not.
    expect(mt(after.tokens.spent) - mt(before.tokens.spent)).toBe(1550);
    const variant = (b: { usd_by_variant: { variant: string; tokens: string }[] }) =>
      mt(b.usd_by_variant.find((v) => v.variant === 'gpt-4o-mini')?.tokens ?? '0');
    expect(variant(after) - variant(before)).toBe(1550);
  });

  it('counts the overage in the budgets of the hold', async () => {
    await wallet('mt_budget');
    const put = await call(t(), 'PUT', '/v1/wallets/mt_budget/budgets/daily', { limit: '5', period: 'day', scope: 'wallet' });
    expect(put.status).toBeLessThan(300);
    const r = await reserve('mt_budget', { ...LLM, max_overage: '0.5' });
    await settle(r.body.id, { usage: { input_tokens: 200_000, output_tokens: 100_000 } });
    const [b] = (await call(t(), 'GET', '/v1/wallets/mt_budget/budgets')).body.data as { used: string }[];
    expect(b.used).toBe('1.550');
    expect((await t().verify()).violations).toEqual([]);
  });

  // Last: it changes the price list for the rest of the file.
  it("charges the reservation's price versions when the price changes between reserve and settle", async () => {
    await wallet('mt_price');
    const r = await reserve('mt_price', LLM);
    const change = await call(
      t(),
      'PUT',
      '/v1/admin/prices/gpt-4o-mini',
      { tokens: '0.100', dimensions: { meter: '1k_input_tokens' }, reason: 'provider price rise' },
      { key: t().adminKey, idem: idemKey('mt-price') },
    );
    expect([change.status, change.body.version, change.body.tokens]).toEqual([200, 2, '0.100']);
    const s = await settle(r.body.id, { usage: { input_tokens: 100_000, output_tokens: 50_000 } });
    expect(s.body).toMatchObject({ settled: '1.050', overage: '0.000', uncollected: '0.000' });
    expect(s.body.meters['1k_input_tokens']).toMatchObject({ version: 1, tokens: '0.004' });
    // A new reservation is priced at the new version: 100 x 100 + 650 = 10.650.
    const r2 = await reserve('mt_price', LLM);
    expect(r2.body).toMatchObject({ reserved: '10.650' });
    expect(r2.body.meters['1k_input_tokens']).toMatchObject({ version: 2, tokens: '0.100' });
    expect(r2.body.meters['1k_output_tokens']).toMatchObject({ version: 1 });
  });
});
