import { describe, expect, it } from '@jest/globals';
import { call, grantTokens, idemKey, TestApp, useApp } from '../support/app.js';

/** Alerts (spec section 9): evaluated by the statement that changed the balance or budget, under the wallet lock. */
describe('alerts', () => {
  const app = useApp();

  const reserve = (t: TestApp, owner: string, amount: string) =>
    call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount }, { idem: idemKey('alert') });
  const release = (t: TestApp, id: string) => call(t, 'POST', `/v1/reservations/${id}/release`, undefined, { idem: idemKey('alert') });

  /** Every event of the wallet, following the cursor. */
  async function events(t: TestApp, owner: string, types?: string): Promise<any[]> {
    const out: any[] = [];
    let after: string | null = null;
    for (;;) {
      const q = new URLSearchParams({ owner_id: owner, limit: '500', ...(types ? { types } : {}), ...(after ? { after } : {}) });
      const page = await call(t, 'GET', `/v1/events?${q.toString()}`);
      expect(page.status).toBe(200);
      out.push(...page.body.data);
      if (page.body.data.length === 0) return out;
      after = page.body.next_cursor;
    }
  }

  it('a balance alert crossing down and up 50 times under parallel traffic alternates triggered and resolved', async () => {
    const t = app();
    expect((await call(t, 'PUT', '/v1/wallets/al_flap')).status).toBe(201);
    await grantTokens(t, 'al_flap', 85_000n);
    const put = await call(t, 'PUT', '/v1/wallets/al_flap/alerts/low', { type: 'balance_below', threshold: '45' });
    expect([put.status, put.body]).toEqual([
      201,
      expect.objectContaining({ name: 'low', type: 'balance_below', threshold: '45.000', state: 'ok' }),
    ]);

    // Background traffic: small holds made and released all along. The balance moves in steps of 10
    // and 0.5 (100, 99.5, ..., 50, 49.5, 40, 39.5): it crosses 45 exactly once each way per round.
    let stop = false;
    const noise = (async () => {
      while (!stop) {
        const r = await reserve(t, 'al_flap', '0.5');
        if (r.status === 201) await release(t, r.body.id);
      }
    })();
    for (let i = 0; i < 50; i++) {
      // Six holds of 10 at once take the balance from 100 to 40 (below 45), then all go back.
      const holds = await Promise.all(Array.from({ length: 6 }, () => reserve(t, 'al_flap', '10')));
      expect(holds.map((h) => h.status)).toEqual([201, 201, 201, 201, 201, 201]);
      expect((await call(t, 'GET', '/v1/wallets/al_flap/alerts/low')).body.state).toBe('triggered');
      const ends = await Promise.all(holds.map((h) => release(t, h.body.id)));
      expect(ends.every((e) => e.status === 200)).toBe(true);
    }
    stop = true;
    await noise;

    const alerts = await events(t, 'al_flap', 'alert.triggered,alert.resolved');
    const types = alerts.map((e) => e.type);
    expect(types).toHaveLength(100);
    types.forEach((type, i) => expect([i, type]).toEqual([i, i % 2 === 0 ? 'alert.triggered' : 'alert.resolved']));
    expect(alerts[0].data).toMatchObject({ alert: 'low', type: 'balance_below', threshold: '45.000' });
    expect(Number(alerts[0].data.available)).toBeLessThan(45);
    expect(Number(alerts[1].data.available)).toBeGreaterThanOrEqual(45);
    // Their seqs increase: the stream is in the wallet's order.
    for (let i = 1; i < alerts.length; i++) expect(alerts[i].seq).toBeGreaterThan(alerts[i - 1].seq);
    expect((await call(t, 'GET', '/v1/wallets/al_flap/alerts/low')).body.state).toBe('ok');
  });

  it('fires at once when created while its condition holds, and resolves on a credit', async () => {
    const t = app();
    await call(t, 'PUT', '/v1/wallets/al_now');
    const put = await call(t, 'PUT', '/v1/wallets/al_now/alerts/low', { type: 'balance_below', threshold: '20' });
    expect(put.body.state).toBe('triggered');
    // Replacing it with the same condition fires nothing new.
    expect((await call(t, 'PUT', '/v1/wallets/al_now/alerts/low', { type: 'balance_below', threshold: '19' })).status).toBe(200);
    await grantTokens(t, 'al_now', 10_000n);
    const alerts = await events(t, 'al_now', 'alert.triggered,alert.resolved');
    expect(alerts.map((e) => [e.type, e.data.available])).toEqual([
      ['alert.triggered', '15.000'],
      ['alert.resolved', '25.000'],
    ]);
  });

  it('a budget_used alert follows the budget, and a watched budget cannot be deleted', async () => {
    const t = app();
    await call(t, 'PUT', '/v1/wallets/al_bud');
    const missing = await call(t, 'PUT', '/v1/wallets/al_bud/alerts/most', { type: 'budget_used', budget: 'daily', percent: 80 });
    expect([missing.status, missing.body.code]).toEqual([404, 'budget_not_found']);
    await call(t, 'PUT', '/v1/wallets/al_bud/budgets/daily', { limit: '10', period: 'day', scope: 'wallet' });
    expect((await call(t, 'PUT', '/v1/wallets/al_bud/alerts/most', { type: 'budget_used', budget: 'daily', percent: 80 })).status).toBe(
      201,
    );
    const a = await reserve(t, 'al_bud', '7.999');
    expect((await call(t, 'GET', '/v1/wallets/al_bud/alerts/most')).body.state).toBe('ok');
    const b = await reserve(t, 'al_bud', '0.001');
    expect((await call(t, 'GET', '/v1/wallets/al_bud/alerts/most')).body.state).toBe('triggered');
    await release(t, b.body.id);
    await call(t, 'POST', `/v1/reservations/${a.body.id}/settle`, { amount: '1' }, { idem: idemKey() });
    // Lowering the limit to 1.25 makes 1 used of it 80%.
    await call(t, 'PUT', '/v1/wallets/al_bud/budgets/daily', { limit: '1.25', period: 'day', scope: 'wallet' });
    const alerts = await events(t, 'al_bud', 'alert.triggered,alert.resolved');
    expect(alerts.map((e) => [e.type, e.data.used])).toEqual([
      ['alert.triggered', '8.000'],
      ['alert.resolved', '7.999'],
      ['alert.triggered', '1.000'],
    ]);
    expect(alerts[0].data).toMatchObject({ budget: 'daily', percent: 80, limit: '10.000' });
    const del = await call(t, 'DELETE', '/v1/wallets/al_bud/budgets/daily');
    expect([del.status, del.body.code]).toEqual([409, 'budget_in_use']);
    expect((await call(t, 'DELETE', '/v1/wallets/al_bud/alerts/most')).status).toBe(204);
    expect((await call(t, 'DELETE', '/v1/wallets/al_bud/budgets/daily')).status).toBe(204);
  });

  it('refuses bad alerts with problem+json and changes nothing', async () => {
    const t = app();
    await call(t, 'PUT', '/v1/wallets/al_bad');
    const bad: unknown[] = [
      { type: 'balance_below' },
      { type: 'balance_below', threshold: '-1' },
      { type: 'balance_below', threshold: null },
      { type: 'balance_below', threshold: '1', percent: 5 },
      { type: 'budget_used', budget: 'x' },
      { type: 'budget_used', percent: 50 },
      { type: 'budget_used', budget: 'x', percent: 0 },
      { type: 'budget_used', budget: 'x', percent: 101 },
      { type: 'budget_used', budget: 'x', percent: 50, threshold: '1' },
      { type: 'balance_above', threshold: '1' },
      {},
    ];
    for (const body of bad) {
      const r = await call(t, 'PUT', '/v1/wallets/al_bad/alerts/a', body);
      expect([JSON.stringify(body), r.status, r.body.code]).toEqual([JSON.stringify(body), 400, 'validation_error']);
    }
    expect((await call(t, 'GET', '/v1/wallets/al_bad/alerts')).body).toEqual({ data: [] });
    expect((await call(t, 'GET', '/v1/wallets/al_bad/alerts/a')).body.code).toBe('alert_not_found');
    expect((await call(t, 'DELETE', '/v1/wallets/al_bad/alerts/a')).body.code).toBe('alert_not_found');
    expect((await call(t, 'GET', '/v1/wallets/al%00bad/alerts')).status).toBe(400);
  });
});
