import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { MaintenanceService, SYSTEM } from '@app/ledger';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { controlClock, TestClock } from '../support/clock.js';

/**
 * The weekly free grant and the expiry of grants and holds (spec section 5),
 * with the services' clock under the test's control.
 */

/** Monday 2030-06-10 (ISO week 2030-W24) plus `week` weeks and `day` days, at a UTC time of day. */
function at(week: number, day: number, h = 0, m = 0, s = 0, ms = 0): Date {
  return new Date(Date.UTC(2030, 5, 10 + 7 * week + day, h, m, s, ms));
}

interface Tx {
  id: string;
  type: string;
  amount: string;
  ref: string | null;
  metadata: Record<string, unknown> | null;
}

async function transactions(t: TestApp, owner: string): Promise<Tx[]> {
  const res = await call(t, 'GET', `/v1/wallets/${owner}/transactions?limit=200`);
  expect(res.status).toBe(200);
  expect(res.body.next_cursor).toBeNull();
  return res.body.data as Tx[];
}

const ofType = (txs: Tx[], type: string) => txs.filter((x) => x.type === type);

describe('weekly free grant and expiry (controlled clock)', () => {
  let t: TestApp;
  let clock: TestClock;
  let maintenance: MaintenanceService;
  let db: Database;

  beforeAll(async () => {
    t = await startApp();
    clock = controlClock(t, at(0, 2, 10));
    maintenance = t.app.get(MaintenanceService);
    db = t.app.get(Database);
  });
  afterAll(async () => {
    if (!t) return;
    clock.restore();
    await expectLedgerConsistent(t);
    await t.close();
  });

  const put = (owner: string) => call(t, 'PUT', `/v1/wallets/${owner}`);
  const get = (owner: string) => call(t, 'GET', `/v1/wallets/${owner}`);
  const reserve = (owner: string, body: unknown) => call(t, 'POST', `/v1/wallets/${owner}/reservations`, body, { idem: idemKey('grant') });
  const settle = (id: string, body?: unknown) => call(t, 'POST', `/v1/reservations/${id}/settle`, body, { idem: idemKey('grant') });
  const release = (id: string) => call(t, 'POST', `/v1/reservations/${id}/release`, undefined, { idem: idemKey('grant') });
  const breakage = async () =>
    BigInt(
      (await db.query<{ s: string }>(`SELECT coalesce(sum(amount), 0)::text AS s FROM entries WHERE account_id = $1`, [SYSTEM.breakage]))[0]
        .s,
    );

  it('creates a wallet with 15 tokens in a free_weekly bucket that expires next Monday, once per week', async () => {
    clock.set(at(0, 2, 10)); // Wednesday of 2030-W24
    const created = await put('g_first');
    expect(created.status).toBe(201);
    expect(created.body.balance).toEqual({ available: '15.000', held: '0.000' });
    expect(created.body.buckets).toEqual([
      { id: expect.any(String), source: 'free_weekly', granted: '15.000', remaining: '15.000', expires_at: '2030-06-17T00:00:00.000Z' },
    ]);
    // Later the same ISO week, up to its last millisecond: PUTs, GETs and spending grant nothing more.
    for (const when of [at(0, 2, 10, 0, 1), at(0, 4, 18), at(0, 6, 23, 59, 59, 999)]) {
      clock.set(when);
      expect((await put('g_first')).status).toBe(200);
      const r = await reserve('g_first', { amount: '1.000' });
      expect(r.status).toBe(201);
      expect((await release(r.body.id)).status).toBe(200);
      const w = await get('g_first');
      expect(w.body.balance).toEqual({ available: '15.000', held: '0.000' });
      expect(w.body.buckets).toHaveLength(1);
    }
    const grants = ofType(await transactions(t, 'g_first'), 'grant');
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ amount: '15.000', ref: 'free_weekly:2030-W24', metadata: { source: 'free_weekly' } });
  });

  it('grants once more on the first read of the next week; the lapsed bucket no longer counts', async () => {
    clock.set(at(1, 2, 10)); // 2030-W25
    expect((await put('g_next')).status).toBe(201);
    const r = await reserve('g_next', { amount: '4.000' });
    expect((await settle(r.body.id)).status).toBe(200);
    const before = await get('g_next');
    expect(before.body.balance).toEqual({ available: '11.000', held: '0.000' });
    const oldBucket = before.body.buckets[0];
    expect(oldBucket).toMatchObject({ remaining: '11.000', expires_at: '2030-06-24T00:00:00.000Z' });

    clock.set(at(2, 0)); // Monday 00:00:00.000 of 2030-W26: the old bucket has lapsed that very millisecond
    const after = await get('g_next');
    expect(after.body.balance).toEqual({ available: '15.000', held: '0.000' });
    expect(after.body.buckets).toEqual([
      { id: expect.any(String), source: 'free_weekly', granted: '15.000', remaining: '15.000', expires_at: '2030-07-01T00:00:00.000Z' },
    ]);
    expect(after.body.buckets[0].id).not.toBe(oldBucket.id);
    for (let i = 0; i < 3; i++) {
      expect((await get('g_next')).body.balance.available).toBe('15.000');
      expect((await put('g_next')).status).toBe(200);
    }
    const grants = ofType(await transactions(t, 'g_next'), 'grant');
    expect(grants.map((g) => [g.ref, g.amount])).toEqual([
      ['free_weekly:2030-W26', '15.000'],
      ['free_weekly:2030-W25', '15.000'],
    ]);
  });

  it('grants on the first reservation of the next week, spending only the new bucket', async () => {
    clock.set(at(1, 3, 9)); // 2030-W25
    expect((await put('g_spend')).status).toBe(201);
    const r = await reserve('g_spend', { amount: '2.000' });
    expect((await settle(r.body.id)).status).toBe(200); // 13.000 left in the old bucket

    clock.set(at(2, 1, 8)); // 2030-W26; no read in between
    const tooMuch = await reserve('g_spend', { amount: '15.001' });
    expect([tooMuch.status, tooMuch.body.code]).toEqual([402, 'insufficient_funds']);
    expect(tooMuch.body.detail).toContain('has 15.000 tokens available');
    const all = await reserve('g_spend', { amount: '15.000' });
    expect(all.status).toBe(201);
    const w = await get('g_spend');
    expect(w.body.balance).toEqual({ available: '0.000', held: '15.000' });
    expect((await settle(all.body.id, { amount: '5.000' })).status).toBe(200);
    expect((await get('g_spend')).body.balance).toEqual({ available: '10.000', held: '0.000' });
    expect(ofType(await transactions(t, 'g_spend'), 'grant').map((g) => g.ref)).toEqual(['free_weekly:2030-W26', 'free_weekly:2030-W25']);
  });

  it('posts the remainder of lapsed buckets to breakage, once', async () => {
    clock.set(at(3, 2, 10)); // 2030-W27
    expect((await put('g_expire')).status).toBe(201);
    const r = await reserve('g_expire', { amount: '3.250' });
    expect((await settle(r.body.id)).status).toBe(200);
    const oldBucket = (await get('g_expire')).body.buckets[0];
    expect(oldBucket.remaining).toBe('11.750');

    clock.set(at(4, 0, 0, 5)); // 2030-W28
    const breakageBefore = await breakage();
    const first = await maintenance.expireLapsedBuckets();
    // Every wallet of this suite has a lapsed bucket by now: g_expire's is one of them.
    expect(first.buckets).toBeGreaterThanOrEqual(1);
    expect(first.amount).toBeGreaterThanOrEqual(11_750n);
    expect((await breakage()) - breakageBefore).toBe(first.amount);

    // The expiry never touched the live balance: the new week's grant (made by this read) is all there is.
    expect((await get('g_expire')).body.balance).toEqual({ available: '15.000', held: '0.000' });
    const txs = await transactions(t, 'g_expire');
    const expired = ofType(txs, 'expire');
    expect(expired).toEqual([expect.objectContaining({ amount: '-11.750', ref: oldBucket.id, metadata: { bucket_id: oldBucket.id } })]);

    const second = await maintenance.expireLapsedBuckets();
    expect(second).toEqual({ buckets: 0, amount: 0n });
    expect(await breakage()).toBe(breakageBefore + first.amount);
    expect(await transactions(t, 'g_expire')).toEqual(txs);
  });

  it('returns a hold that outlives its bucket to the lapsed bucket, which the next sweep expires', async () => {
    clock.set(at(5, 6, 23, 30)); // Sunday 23:30 of 2030-W29
    expect((await put('g_straddle')).status).toBe(201);
    const r = await reserve('g_straddle', { amount: '5.000', expires_in: 3600 });
    expect(r.status).toBe(201);
    const bucket = (await get('g_straddle')).body.buckets[0];

    clock.set(at(6, 0)); // Monday 00:00 of 2030-W30: the bucket lapses with 10.000 in it and 5.000 on hold
    await maintenance.expireLapsedBuckets();
    expect(ofType(await transactions(t, 'g_straddle'), 'expire').map((x) => [x.amount, x.ref])).toEqual([['-10.000', bucket.id]]);

    clock.set(at(6, 0, 0, 10)); // the hold has 50 minutes to go
    const s = await settle(r.body.id, { amount: '2.000' });
    expect([s.status, s.body.status, s.body.released]).toEqual([200, 'settled', '3.000']);
    // The 3.000 went back to the lapsed bucket: not spendable, only this week's grant is.
    expect((await get('g_straddle')).body.balance).toEqual({ available: '15.000', held: '0.000' });
    await maintenance.expireLapsedBuckets();
    expect(ofType(await transactions(t, 'g_straddle'), 'expire').map((x) => [x.amount, x.ref])).toEqual([
      ['-3.000', bucket.id],
      ['-10.000', bucket.id],
    ]);
    expect((await t.verify()).violations).toEqual([]);
  });

  it('refuses to settle or release an expired hold; the sweeper releases it into its bucket', async () => {
    const start = at(7, 2, 10); // 2030-W31
    clock.set(start);
    expect((await put('g_hold')).status).toBe(201);
    const a = await reserve('g_hold', { amount: '4.000', expires_in: 60 });
    const b = await reserve('g_hold', { amount: '3.000', expires_in: 120 });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.expires_at).toBe(new Date(start.getTime() + 60_000).toISOString());

    clock.set(new Date(start.getTime() + 59_999)); // one millisecond before expiry: still pending
    expect((await call(t, 'GET', `/v1/reservations/${a.body.id}`)).body.status).toBe('pending');

    clock.set(new Date(start.getTime() + 60_000)); // expires_at itself: expired
    expect((await call(t, 'GET', `/v1/reservations/${a.body.id}`)).body.status).toBe('expired');
    for (const late of [await settle(a.body.id), await settle(a.body.id, { amount: '1.000' }), await release(a.body.id)]) {
      expect([late.status, late.body.code]).toEqual([409, 'reservation_expired']);
    }

    expect(await maintenance.releaseExpiredReservations()).toBe(1); // a only: b has a minute to go
    const swept = await call(t, 'GET', `/v1/reservations/${a.body.id}`);
    expect(swept.body).toMatchObject({ status: 'expired', reserved: '4.000', settled: '0.000', released: '4.000' });
    const w = await get('g_hold');
    expect(w.body.balance).toEqual({ available: '12.000', held: '3.000' });
    expect(w.body.buckets).toEqual([expect.objectContaining({ source: 'free_weekly', remaining: '12.000' })]);
    const expiredTx = ofType(await transactions(t, 'g_hold'), 'expire');
    expect(expiredTx).toEqual([expect.objectContaining({ amount: '4.000', ref: a.body.id })]);
    expect([(await settle(a.body.id)).body.code, (await release(a.body.id)).body.code]).toEqual([
      'reservation_expired',
      'reservation_expired',
    ]);

    expect(await maintenance.releaseExpiredReservations()).toBe(0);
    const done = await settle(b.body.id, { amount: '1.500' });
    expect([done.status, done.body.status]).toEqual([200, 'settled']);
    expect((await get('g_hold')).body.balance).toEqual({ available: '13.500', held: '0.000' });
  });

  it('creates exactly one grant when 20 reads arrive together in a new week', async () => {
    clock.set(at(8, 2, 10)); // 2030-W32
    expect((await put('g_race')).status).toBe(201);
    const r = await reserve('g_race', { amount: '6.000' });
    expect((await settle(r.body.id)).status).toBe(200);

    clock.set(at(9, 0, 0, 0, 1)); // 2030-W33
    const reads = await Promise.all(Array.from({ length: 20 }, () => get('g_race')));
    expect(reads.map((x) => x.status)).toEqual(Array(20).fill(200));
    expect(reads.map((x) => x.body.balance.available)).toEqual(Array(20).fill('15.000'));
    expect(ofType(await transactions(t, 'g_race'), 'grant').map((g) => g.ref)).toEqual(['free_weekly:2030-W33', 'free_weekly:2030-W32']);

    // Reads, PUTs and reservations racing into the following week: still one grant, and every hold funded by it.
    clock.set(at(10, 0, 0, 0, 1)); // 2030-W34
    const mixed = await Promise.all(
      Array.from({ length: 21 }, (_, i) =>
        i % 3 === 0 ? get('g_race') : i % 3 === 1 ? put('g_race') : reserve('g_race', { amount: '1.000' }),
      ),
    );
    expect(mixed.map((x, i) => [i % 3, x.status])).toEqual(Array.from({ length: 21 }, (_, i) => [i % 3, i % 3 === 2 ? 201 : 200]));
    expect(ofType(await transactions(t, 'g_race'), 'grant')).toHaveLength(3);
    expect((await get('g_race')).body.balance).toEqual({ available: '8.000', held: '7.000' });
  });

  it('creates a new wallet exactly once when 20 PUTs race, with one grant', async () => {
    clock.set(at(10, 3, 12)); // 2030-W34
    const puts = await Promise.all(Array.from({ length: 20 }, () => put('g_put_race')));
    expect(puts.map((x) => x.status).sort()).toEqual([...Array(19).fill(200), 201]);
    expect(puts.every((x) => x.body.balance.available === '15.000')).toBe(true);
    expect(ofType(await transactions(t, 'g_put_race'), 'grant')).toHaveLength(1);
  });

  it('follows ISO weeks across the new year', async () => {
    clock.set(new Date('2030-12-29T23:59:59.999Z')); // Sunday of 2030-W52
    expect((await put('g_newyear')).status).toBe(201);
    expect((await get('g_newyear')).body.buckets[0].expires_at).toBe('2030-12-30T00:00:00.000Z');
    clock.set(new Date('2030-12-30T00:00:00.000Z')); // Monday of 2031-W01 (its Thursday is in 2031)
    const w = await get('g_newyear');
    expect(w.body.buckets).toEqual([expect.objectContaining({ granted: '15.000', expires_at: '2031-01-06T00:00:00.000Z' })]);
    clock.set(new Date('2031-01-05T23:00:00.000Z')); // still 2031-W01
    expect((await get('g_newyear')).body.buckets).toHaveLength(1);
    expect(ofType(await transactions(t, 'g_newyear'), 'grant').map((g) => g.ref)).toEqual(['free_weekly:2031-W01', 'free_weekly:2030-W52']);
  });
});

describe('FREE_WEEKLY_TOKENS=0 disables the weekly grant', () => {
  let t: TestApp;
  let clock: TestClock;
  beforeAll(async () => {
    t = await startApp({ FREE_WEEKLY_TOKENS: '0' });
    clock = controlClock(t, at(0, 2, 10));
  });
  afterAll(async () => {
    if (!t) return;
    clock.restore();
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('creates an empty wallet that cannot reserve, this week or the next', async () => {
    const created = await call(t, 'PUT', '/v1/wallets/g_none');
    expect(created.status).toBe(201);
    expect(created.body.balance).toEqual({ available: '0.000', held: '0.000' });
    expect(created.body.buckets).toEqual([]);
    const r = await call(t, 'POST', '/v1/wallets/g_none/reservations', { amount: '1' }, { idem: idemKey('grant') });
    expect([r.status, r.body.code]).toEqual([402, 'insufficient_funds']);
    expect(r.body.detail).toContain('has 0.000 tokens available');

    clock.set(at(1, 0, 0, 0, 1));
    expect((await call(t, 'GET', '/v1/wallets/g_none')).body.balance).toEqual({ available: '0.000', held: '0.000' });
    const again = await call(t, 'POST', '/v1/wallets/g_none/reservations', { amount: '0.001' }, { idem: idemKey('grant') });
    expect([again.status, again.body.code]).toEqual([402, 'insufficient_funds']);
    const txs = await transactions(t, 'g_none');
    expect(txs).toEqual([]);
  });
});

describe('FREE_WEEKLY_TOKENS sets the weekly grant', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ FREE_WEEKLY_TOKENS: '2.5' });
  });
  afterAll(async () => {
    if (!t) return;
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('grants the configured amount', async () => {
    const created = await call(t, 'PUT', '/v1/wallets/g_small');
    expect(created.body.balance).toEqual({ available: '2.500', held: '0.000' });
    expect(created.body.buckets).toEqual([expect.objectContaining({ source: 'free_weekly', granted: '2.500' })]);
  });
});
