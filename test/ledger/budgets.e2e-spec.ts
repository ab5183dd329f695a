import { describe, expect, it } from '@jest/globals';
import { ApiKeyService, Database } from '@app/common';
import { call, grantTokens, idemKey, TestApp, useApp } from '../support/app.js';
import { controlClock } from '../support/clock.js';

/** Budgets (spec section 9): atomic with the reservation, per wallet, API key and spender, per UTC period. */
describe('budgets', () => {
  const app = useApp();

  const reserve = (t: TestApp, owner: string, amount: string, extra: Record<string, unknown> = {}, key?: string) =>
    call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount, ...extra }, { idem: idemKey('bud'), key });
  const putBudget = (t: TestApp, owner: string, name: string, body: unknown) =>
    call(t, 'PUT', `/v1/wallets/${owner}/budgets/${name}`, body);
  const budget = async (t: TestApp, owner: string, name: string) => (await call(t, 'GET', `/v1/wallets/${owner}/budgets/${name}`)).body;
  const balance = async (t: TestApp, owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body.balance;

  async function wallet(t: TestApp, owner: string, tokens: number): Promise<void> {
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    // 15 free tokens come with the wallet; top it up to `tokens`.
    if (tokens > 15) await grantTokens(t, owner, BigInt((tokens - 15) * 1000));
  }

  it('200 parallel reservations never pass a spender budget, and the wallet budget holds with it', async () => {
    const t = app();
    await wallet(t, 'bud_par', 100);
    expect((await putBudget(t, 'bud_par', 'alice-daily', { limit: '20', period: 'day', scope: 'spender', subject: 'alice' })).status).toBe(
      201,
    );
    expect((await putBudget(t, 'bud_par', 'all-daily', { limit: '60', period: 'day', scope: 'wallet' })).status).toBe(201);

    // 200 for alice and 60 for bob, all at once: alice is capped at 20, the wallet at 60 in all.
    const results = await Promise.all([
      ...Array.from({ length: 200 }, () => reserve(t, 'bud_par', '1', { spender_id: 'alice' })),
      ...Array.from({ length: 60 }, () => reserve(t, 'bud_par', '1', { spender_id: 'bob' })),
    ]);
    const alice = results.slice(0, 200);
    const bob = results.slice(200);
    const ok = (rs: typeof results) => rs.filter((r) => r.status === 201).length;
    expect(ok(alice)).toBe(20);
    // Bob is not limited by alice's budget, only by the wallet's: 60 - 20 = 40.
    expect(ok(bob)).toBe(40);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect([r.status, r.body.code, r.headers.get('content-type')?.split(';')[0]]).toEqual([
        402,
        'budget_exceeded',
        'application/problem+json',
      ]);
    }
    const refusedAlice = alice.find((r) => r.status === 402)!;
    expect(refusedAlice.body.budget).toMatchObject({
      limit: '20.000',
      period: 'day',
      scope: 'spender',
      subject: 'alice',
      requested: '1.000',
    });
    expect(refusedAlice.body.budget.name).toMatch(/^(alice-daily|all-daily)$/);
    expect(refusedAlice.body.detail).toMatch(/Budget (alice-daily|all-daily): limit/);
    expect(refusedAlice.body.budget.resets_at).toMatch(/T00:00:00\.000Z$/);

    // Nothing refused was held: 60 tokens held, 40 available.
    expect(await balance(t, 'bud_par')).toEqual({ available: '40.000', held: '60.000' });
    expect(await budget(t, 'bud_par', 'alice-daily')).toMatchObject({ used: '20.000', remaining: '0.000', limit: '20.000' });
    expect(await budget(t, 'bud_par', 'all-daily')).toMatchObject({ used: '60.000', remaining: '0.000' });
    // A spender without a budget still meets the wallet's.
    expect((await reserve(t, 'bud_par', '1', { spender_id: 'carol' })).body.code).toBe('budget_exceeded');
    expect((await reserve(t, 'bud_par', '1')).body.code).toBe('budget_exceeded');
  });

  it('gives back what a release or a partial settle did not charge, and counts what was settled', async () => {
    const t = app();
    await wallet(t, 'bud_back', 50);
    await putBudget(t, 'bud_back', 'd', { limit: '10', period: 'day', scope: 'wallet' });
    const a = (await reserve(t, 'bud_back', '4')).body;
    const b = (await reserve(t, 'bud_back', '4')).body;
    expect((await reserve(t, 'bud_back', '4')).body.code).toBe('budget_exceeded');
    expect(await budget(t, 'bud_back', 'd')).toMatchObject({ used: '8.000', remaining: '2.000' });
    expect((await call(t, 'POST', `/v1/reservations/${a.id}/settle`, { amount: '1.5' }, { idem: idemKey() })).status).toBe(200);
    expect(await budget(t, 'bud_back', 'd')).toMatchObject({ used: '5.500' });
    expect((await call(t, 'POST', `/v1/reservations/${b.id}/release`, undefined, { idem: idemKey() })).status).toBe(200);
    expect(await budget(t, 'bud_back', 'd')).toMatchObject({ used: '1.500', remaining: '8.500' });
    expect((await reserve(t, 'bud_back', '8.5')).status).toBe(201);
    expect((await reserve(t, 'bud_back', '0.001')).body.code).toBe('budget_exceeded');
  });

  it('limits one API key and not another', async () => {
    const t = app();
    await wallet(t, 'bud_key', 30);
    const keys = t.app.get(ApiKeyService);
    const k1 = await keys.create('budget-key-1', 'gateway');
    const k2 = await keys.create('budget-key-2', 'gateway');
    expect((await putBudget(t, 'bud_key', 'k1', { limit: '3', period: 'month', scope: 'api_key', subject: k1.principal.id })).status).toBe(
      201,
    );
    const r1 = await Promise.all(Array.from({ length: 10 }, () => reserve(t, 'bud_key', '1', {}, k1.key)));
    const r2 = await Promise.all(Array.from({ length: 10 }, () => reserve(t, 'bud_key', '1', {}, k2.key)));
    expect(r1.filter((r) => r.status === 201)).toHaveLength(3);
    expect(r2.filter((r) => r.status === 201)).toHaveLength(10);
    expect(r1.find((r) => r.status === 201)!.body.api_key_id).toBe(k1.principal.id);
    // The wallet's transactions filtered by key and by spender.
    const byKey = await call(t, 'GET', `/v1/wallets/bud_key/transactions?api_key_id=${k1.principal.id}&limit=200`);
    expect(byKey.body.data.map((x: any) => x.type)).toEqual(['reserve', 'reserve', 'reserve']);
    const unknown = await putBudget(t, 'bud_key', 'k3', {
      limit: '3',
      period: 'month',
      scope: 'api_key',
      subject: '00000000-0000-4000-8000-00000000dead',
    });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'api_key_not_found']);
  });

  it('filters transactions by spender', async () => {
    const t = app();
    await wallet(t, 'bud_tx', 20);
    const a = (await reserve(t, 'bud_tx', '1', { spender_id: 'ann' })).body;
    await reserve(t, 'bud_tx', '2', { spender_id: 'ben' });
    await call(t, 'POST', `/v1/reservations/${a.id}/settle`, undefined, { idem: idemKey() });
    const ann = await call(t, 'GET', `/v1/wallets/bud_tx/transactions?spender_id=ann`);
    expect(ann.body.data.map((x: any) => [x.type, x.ref])).toEqual([
      ['settle', a.id],
      ['reserve', a.id],
    ]);
    expect((await call(t, 'GET', `/v1/wallets/bud_tx/transactions?spender_id=bad%20id`)).status).toBe(400);
  });

  it('counts a hold in the day it was made, across midnight', async () => {
    const t = app();
    const clock = controlClock(t, '2031-03-04T23:59:00.000Z');
    try {
      await wallet(t, 'bud_night', 40);
      await putBudget(t, 'bud_night', 'daily', { limit: '5', period: 'day', scope: 'wallet' });
      const late = (await reserve(t, 'bud_night', '4')).body;
      expect(await budget(t, 'bud_night', 'daily')).toMatchObject({
        used: '4.000',
        period_start: '2031-03-04T00:00:00.000Z',
        resets_at: '2031-03-05T00:00:00.000Z',
      });
      clock.set('2031-03-05T00:00:30.000Z');
      // A new day: the held tokens of yesterday do not count today.
      expect(await budget(t, 'bud_night', 'daily')).toMatchObject({
        used: '0.000',
        remaining: '5.000',
        period_start: '2031-03-05T00:00:00.000Z',
      });
      expect((await reserve(t, 'bud_night', '5')).status).toBe(201);
      expect((await reserve(t, 'bud_night', '0.5')).body.code).toBe('budget_exceeded');
      // Releasing yesterday's hold gives back to yesterday's count, not today's.
      expect((await call(t, 'POST', `/v1/reservations/${late.id}/release`, undefined, { idem: idemKey() })).status).toBe(200);
      expect((await reserve(t, 'bud_night', '0.5')).body.code).toBe('budget_exceeded');
      const counters = await t.app
        .get(Database)
        .query<{ period_start: Date; used: string }>(
          `SELECT c.period_start, c.used::text FROM budget_counters c JOIN wallets w ON w.id = c.wallet_id WHERE w.owner_id = 'bud_night' ORDER BY 1`,
        );
      expect(counters.map((c) => [c.period_start.toISOString(), c.used])).toEqual([
        ['2031-03-04T00:00:00.000Z', '0'],
        ['2031-03-05T00:00:00.000Z', '5000'],
      ]);
      // ISO week and calendar month boundaries.
      await putBudget(t, 'bud_night', 'weekly', { limit: '100', period: 'week', scope: 'wallet' });
      await putBudget(t, 'bud_night', 'monthly', { limit: '100', period: 'month', scope: 'wallet' });
      await putBudget(t, 'bud_night', 'ever', { limit: '100', period: 'total', scope: 'wallet' });
      expect(await budget(t, 'bud_night', 'weekly')).toMatchObject({
        period_start: '2031-03-03T00:00:00.000Z',
        resets_at: '2031-03-10T00:00:00.000Z',
      });
      expect(await budget(t, 'bud_night', 'monthly')).toMatchObject({
        period_start: '2031-03-01T00:00:00.000Z',
        resets_at: '2031-04-01T00:00:00.000Z',
      });
      // A new definition counts what this period already took: 4 settled... released, so 5 held today; all time 5 too.
      expect(await budget(t, 'bud_night', 'ever')).toMatchObject({ used: '5.000', period_start: null, resets_at: null });
    } finally {
      clock.restore();
    }
  });

  it('a budget made after spending counts the period, and its holds give back to it', async () => {
    const t = app();
    await wallet(t, 'bud_late', 30);
    const held = (await reserve(t, 'bud_late', '3', { spender_id: 'dan' })).body;
    const settled = (await reserve(t, 'bud_late', '2', { spender_id: 'dan' })).body;
    await call(t, 'POST', `/v1/reservations/${settled.id}/settle`, { amount: '1' }, { idem: idemKey() });
    await reserve(t, 'bud_late', '5', { spender_id: 'eve' });
    expect((await putBudget(t, 'bud_late', 'dan', { limit: '5', period: 'week', scope: 'spender', subject: 'dan' })).body).toMatchObject({
      used: '4.000',
      remaining: '1.000',
    });
    // Changing only the limit keeps the count; the hold made before the budget gives back to it.
    expect((await putBudget(t, 'bud_late', 'dan', { limit: '6', period: 'week', scope: 'spender', subject: 'dan' })).status).toBe(200);
    await call(t, 'POST', `/v1/reservations/${held.id}/release`, undefined, { idem: idemKey() });
    expect(await budget(t, 'bud_late', 'dan')).toMatchObject({ used: '1.000', limit: '6.000', remaining: '5.000' });
    // Replacing it with another period starts a new count of that period.
    expect((await putBudget(t, 'bud_late', 'dan', { limit: '6', period: 'day', scope: 'spender', subject: 'dan' })).body.used).toBe(
      '1.000',
    );
    expect((await call(t, 'GET', '/v1/wallets/bud_late/budgets')).body.data.map((b: any) => b.name)).toEqual(['dan']);
    expect((await call(t, 'DELETE', '/v1/wallets/bud_late/budgets/dan')).status).toBe(204);
    expect((await call(t, 'DELETE', '/v1/wallets/bud_late/budgets/dan')).body.code).toBe('budget_not_found');
    expect((await reserve(t, 'bud_late', '10', { spender_id: 'dan' })).status).toBe(201);
  });

  it('refuses bad budgets with problem+json and changes nothing', async () => {
    const t = app();
    await wallet(t, 'bud_bad', 15);
    const bad: [string, unknown, number, string][] = [
      ['ok', { limit: '1', period: 'year', scope: 'wallet' }, 400, 'validation_error'],
      ['ok', { limit: '-1', period: 'day', scope: 'wallet' }, 400, 'validation_error'],
      ['ok', { limit: '1.0001', period: 'day', scope: 'wallet' }, 400, 'validation_error'],
      ['ok', { limit: null, period: 'day', scope: 'wallet' }, 400, 'validation_error'],
      ['ok', { limit: '1', period: 'day', scope: 'wallet', subject: 'x' }, 400, 'validation_error'],
      ['ok', { limit: '1', period: 'day', scope: 'spender' }, 400, 'validation_error'],
      ['ok', { limit: '1', period: 'day', scope: 'api_key', subject: 'not-a-uuid' }, 400, 'validation_error'],
      ['ok', { limit: '1', period: 'day', scope: 'team' }, 400, 'validation_error'],
      ['ok', { period: 'day', scope: 'wallet' }, 400, 'validation_error'],
      ['bad name!', { limit: '1', period: 'day', scope: 'wallet' }, 400, 'validation_error'],
      ['x'.repeat(65), { limit: '1', period: 'day', scope: 'wallet' }, 400, 'validation_error'],
    ];
    for (const [name, body, status, code] of bad) {
      const r = await putBudget(t, 'bud_bad', encodeURIComponent(name), body);
      expect([name, JSON.stringify(body), r.status, r.body.code]).toEqual([name, JSON.stringify(body), status, code]);
    }
    const text = await call(t, 'PUT', '/v1/wallets/bud_bad/budgets/ok', 'limit=1', { headers: { 'content-type': 'text/plain' } });
    expect([text.status, text.body.code]).toEqual([415, 'unsupported_media_type']);
    expect((await putBudget(t, 'nobody_here', 'ok', { limit: '1', period: 'day', scope: 'wallet' })).body.code).toBe('wallet_not_found');
    expect((await call(t, 'GET', '/v1/wallets/bud_bad/budgets')).body).toEqual({ data: [] });
    expect((await call(t, 'GET', '/v1/wallets/bud_bad/budgets/ok')).body.code).toBe('budget_not_found');
    // A zero limit is a stop.
    await putBudget(t, 'bud_bad', 'stop', { limit: '0', period: 'total', scope: 'wallet' });
    expect((await reserve(t, 'bud_bad', '0.001')).body.code).toBe('budget_exceeded');
  });

  it('a batch is reserved all or nothing against a budget', async () => {
    const t = app();
    await wallet(t, 'bud_batch', 100);
    await putBudget(t, 'bud_batch', 'team', { limit: '5', period: 'day', scope: 'spender', subject: 'team-a' });
    const batch = (n: number) =>
      call(
        t,
        'POST',
        '/v1/batches',
        {
          owner_id: 'bud_batch',
          spender_id: 'team-a',
          variant: 'gpt-image-2-cloudflare',
          items: Array.from({ length: n }, (_, i) => ({ prompt: `p${i}` })),
        },
        { idem: idemKey('batch') },
      );
    // 7 x 0.850 = 5.950 > 5: nothing is held.
    const refused = await batch(7);
    expect([refused.status, refused.body.code]).toEqual([402, 'budget_exceeded']);
    expect(await balance(t, 'bud_batch')).toEqual({ available: '100.000', held: '0.000' });
    expect((await budget(t, 'bud_batch', 'team')).used).toBe('0.000');
  });
});
