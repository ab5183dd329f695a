import { describe, expect, it } from '@jest/globals';
import { call, idemKey, TestApp, useApp } from '../support/app.js';

/**
 * A metered hold's overage and the wallet's budgets (migration
 * BudgetOverage): the overage stops at the least room left in the budgets the
 * hold counts in, the rest is uncollected, and a budget made later in the
 * period counts the overage already paid. gpt-4o-mini is 4 mt per 1K input
 * tokens: an estimate of 1,000 holds 0.004; a usage of 2,500,000 costs 10.000.
 * The suite ends with every ledger invariant checked (budget counters included).
 */
describe('metered overage within budgets', () => {
  const app = useApp();
  const t = (): TestApp => app();
  const wallet = async (owner: string) => expect((await call(t(), 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
  const putBudget = (owner: string, name: string, body: unknown) => call(t(), 'PUT', `/v1/wallets/${owner}/budgets/${name}`, body);
  const budget = async (owner: string, name: string) => (await call(t(), 'GET', `/v1/wallets/${owner}/budgets/${name}`)).body;
  const balance = async (owner: string) => (await call(t(), 'GET', `/v1/wallets/${owner}`)).body.balance;
  const reserve = async (owner: string, extra: Record<string, unknown> = {}) => {
    const r = await call(
      t(),
      'POST',
      `/v1/wallets/${owner}/reservations`,
      { variant: 'gpt-4o-mini', estimate: { input_tokens: 1000 }, max_overage: '10', ...extra },
      { idem: idemKey() },
    );
    expect([r.status, r.body.reserved]).toEqual([201, '0.004']);
    return r.body.id as string;
  };
  const settle = async (id: string, inputTokens: number) => {
    const r = await call(t(), 'POST', `/v1/reservations/${id}/settle`, { usage: { input_tokens: inputTokens } }, { idem: idemKey() });
    expect(r.status).toBe(200);
    return r.body;
  };

  it('takes no more overage than a budget has room for; the rest is uncollected', async () => {
    await wallet('bo_cap');
    expect((await putBudget('bo_cap', 'day', { limit: '1', period: 'day', scope: 'wallet' })).status).toBe(201);
    const s = await settle(await reserve('bo_cap'), 2_500_000);
    expect(s).toMatchObject({ status: 'settled', settled: '0.004', overage: '0.996', uncollected: '9.000' });
    expect(await budget('bo_cap', 'day')).toMatchObject({ limit: '1.000', used: '1.000', remaining: '0.000' });
    expect(await balance('bo_cap')).toEqual({ available: '14.000', held: '0.000' });
    // A full budget: the next hold is refused, so nothing more is taken.
    const next = await call(t(), 'POST', '/v1/wallets/bo_cap/reservations', { amount: '0.001' }, { idem: idemKey() });
    expect([next.status, next.body.code]).toEqual([402, 'budget_exceeded']);
  });

  it('stops at the tightest of several budgets, a spender budget included', async () => {
    await wallet('bo_two');
    expect((await putBudget('bo_two', 'wallet_week', { limit: '5', period: 'week', scope: 'wallet' })).status).toBe(201);
    expect((await putBudget('bo_two', 'ann', { limit: '2', period: 'day', scope: 'spender', subject: 'ann' })).status).toBe(201);
    const s = await settle(await reserve('bo_two', { spender_id: 'ann' }), 2_500_000);
    expect(s).toMatchObject({ overage: '1.996', uncollected: '8.000' });
    expect(await budget('bo_two', 'ann')).toMatchObject({ used: '2.000', remaining: '0.000' });
    expect(await budget('bo_two', 'wallet_week')).toMatchObject({ used: '2.000', remaining: '3.000' });
    // Another spender's hold is not limited by ann's budget, only by the wallet's room (3.000).
    const other = await settle(await reserve('bo_two', { spender_id: 'bob' }), 2_500_000);
    expect(other).toMatchObject({ overage: '2.996', uncollected: '7.000' });
    expect(await budget('bo_two', 'wallet_week')).toMatchObject({ used: '5.000', remaining: '0.000' });
  });

  it('is limited by max_overage alone once the budget is gone, and by nothing it did not count in', async () => {
    await wallet('bo_gone');
    expect((await putBudget('bo_gone', 'day', { limit: '1', period: 'day', scope: 'wallet' })).status).toBe(201);
    const id = await reserve('bo_gone', { max_overage: '3' });
    expect((await call(t(), 'DELETE', '/v1/wallets/bo_gone/budgets/day')).status).toBe(204);
    expect(await settle(id, 2_500_000)).toMatchObject({ overage: '3.000', uncollected: '6.996' });
    // Without any budget, usage under the estimate plus max_overage is collected whole.
    expect(await settle(await reserve('bo_gone'), 1_000_000)).toMatchObject({ overage: '3.996', uncollected: '0.000' });
    expect(await balance('bo_gone')).toEqual({ available: '7.996', held: '0.000' });
  });

  it('counts the overage already paid in a budget made later in the period', async () => {
    await wallet('bo_late');
    const s = await settle(await reserve('bo_late'), 1_000_000);
    expect(s).toMatchObject({ settled: '0.004', overage: '3.996' });
    const pending = await reserve('bo_late');
    const made = await putBudget('bo_late', 'later', { limit: '10', period: 'day', scope: 'wallet' });
    expect([made.status, made.body.used]).toEqual([201, '4.004']);
    // The pending hold counts in it too: its overage stops at the room left (10 - 4.004).
    expect(await settle(pending, 2_500_000)).toMatchObject({ overage: '5.996', uncollected: '4.000' });
    expect(await budget('bo_late', 'later')).toMatchObject({ used: '10.000', remaining: '0.000' });
  });
});
