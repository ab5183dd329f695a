import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { MaintenanceService } from '@app/ledger';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { controlClock, TestClock } from '../support/clock.js';

/** POST /v1/reservations/{id}/extend: later only, at most 48 h after the hold was made, idempotent, and nothing else moves. */
describe('extending a hold', () => {
  const T0 = new Date('2030-05-06T10:00:00.000Z');
  const H = 3_600_000;
  let t: TestApp;
  let clock: TestClock;
  let n = 0;

  beforeAll(async () => {
    t = await startApp();
    clock = controlClock(t, T0);
  });
  afterAll(async () => {
    clock.restore();
    await expectLedgerConsistent(t);
    await t.close();
  });

  const hold = async (amount = '2.000', expiresIn = 600) => {
    const owner = `extend_${n++}`;
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const r = await call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount, expires_in: expiresIn }, { idem: idemKey() });
    expect(r.status).toBe(201);
    return { owner, id: r.body.id as string, created: r.body.created_at as string };
  };
  const extend = (id: string, body: unknown, idem = idemKey()) => call(t, 'POST', `/v1/reservations/${id}/extend`, body, { idem });
  const snapshot = async () =>
    t.app
      .get(Database)
      .query(
        `SELECT (SELECT json_agg(r ORDER BY r.id) FROM reservations r) AS r, (SELECT count(*) FROM transfers) AS t, (SELECT count(*) FROM events) AS e`,
      );

  it('moves a pending hold later, and the sweeper keeps it until then', async () => {
    clock.set(T0);
    const h = await hold();
    clock.advance(5 * 60_000);
    const e = await extend(h.id, { expires_in: 3600 });
    expect(e.status).toBe(200);
    expect(e.body).toMatchObject({
      id: h.id,
      status: 'pending',
      reserved: '2.000',
      expires_at: new Date(T0.getTime() + 5 * 60_000 + H).toISOString(),
    });
    // Past the first expiry, before the new one: still pending, and settles.
    clock.advance(30 * 60_000);
    expect(await t.app.get(MaintenanceService).releaseExpiredReservations()).toBe(0);
    const s = await call(t, 'POST', `/v1/reservations/${h.id}/settle`, {}, { idem: idemKey() });
    expect([s.status, s.body.status, s.body.settled]).toEqual([200, 'settled', '2.000']);
  });

  it('never moves an expiry earlier', async () => {
    clock.set(T0);
    const h = await hold('1.000', 7200);
    const e = await extend(h.id, { expires_in: 60 });
    expect([e.status, e.body.expires_at]).toEqual([200, new Date(T0.getTime() + 2 * H).toISOString()]);
  });

  it('stops at 48 h after the hold was made, however often it is asked', async () => {
    clock.set(T0);
    const h = await hold();
    const cap = new Date(T0.getTime() + 48 * H).toISOString();
    for (let i = 0; i < 3; i++) {
      const e = await extend(h.id, { expires_in: 172_800 });
      expect([e.status, e.body.expires_at]).toEqual([200, cap]);
      clock.advance(20 * H);
    }
    expect((await call(t, 'GET', `/v1/reservations/${h.id}`)).body.expires_at).toBe(cap);
    // At the cap the hold lapses like any other and its tokens come back.
    clock.set(new Date(Date.parse(cap) + 1000));
    expect(await t.app.get(MaintenanceService).releaseExpiredReservations()).toBeGreaterThanOrEqual(1);
    const got = await call(t, 'GET', `/v1/reservations/${h.id}`);
    expect([got.body.status, got.body.released]).toEqual(['expired', '2.000']);
    expect((await call(t, 'GET', `/v1/wallets/${h.owner}`)).body.balance).toEqual({ available: '15.000', held: '0.000' });
  });

  it('is idempotent: the same key replays, the same key with another body is refused', async () => {
    clock.set(T0);
    const h = await hold();
    const key = idemKey('ext');
    const first = await extend(h.id, { expires_in: 1800 }, key);
    clock.advance(60_000);
    const again = await extend(h.id, { expires_in: 1800 }, key);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await extend(h.id, { expires_in: 3600 }, key);
    expect([other.status, other.body.code]).toEqual([409, 'idempotency_key_reused']);
    expect((await call(t, 'GET', `/v1/reservations/${h.id}`)).body.expires_at).toBe(first.body.expires_at);
  });

  it('refuses a hold that is not pending: settled, released, expired, unknown', async () => {
    clock.set(T0);
    const settled = await hold();
    await call(t, 'POST', `/v1/reservations/${settled.id}/settle`, {}, { idem: idemKey() });
    const released = await hold();
    await call(t, 'POST', `/v1/reservations/${released.id}/release`, undefined, { idem: idemKey() });
    const lapsed = await hold('1.000', 60);
    clock.advance(61_000);
    const swept = await hold('1.000', 60);
    clock.advance(61_000);
    await t.app.get(MaintenanceService).releaseExpiredReservations();
    const before = await snapshot();
    for (const [id, status, code] of [
      [settled.id, 409, 'reservation_not_pending'],
      [released.id, 409, 'reservation_not_pending'],
      [lapsed.id, 409, 'reservation_expired'],
      [swept.id, 409, 'reservation_expired'],
      ['res_00000000000000000000000000000000', 404, 'reservation_not_found'],
    ] as const) {
      const e = await extend(id, { expires_in: 600 });
      expect([id, e.status, e.body.code]).toEqual([id, status, code]);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses bad input with a problem and changes nothing', async () => {
    clock.set(T0);
    const h = await hold();
    const before = await snapshot();
    for (const body of [
      {},
      { expires_in: 0 },
      { expires_in: -5 },
      { expires_in: 1.5 },
      { expires_in: '600' },
      { expires_in: null },
      { expires_in: 172_801 },
      { expires_in: 600, extra: 1 },
      '[600]',
    ]) {
      const e = await extend(h.id, body);
      expect([JSON.stringify(body), e.status, e.headers.get('content-type')?.split(';')[0], e.body.code]).toEqual([
        JSON.stringify(body),
        400,
        'application/problem+json',
        'validation_error',
      ]);
    }
    const noKey = await call(t, 'POST', `/v1/reservations/${h.id}/extend`, { expires_in: 600 });
    expect([noKey.status, noKey.body.code, noKey.body.errors?.[0]?.field]).toEqual([400, 'validation_error', 'Idempotency-Key']);
    const bogus = await call(t, 'POST', '/v1/reservations/not-an-id/extend', { expires_in: 600 }, { idem: idemKey() });
    expect([bogus.status, bogus.body.code]).toEqual([404, 'reservation_not_found']);
    const text = await call(t, 'POST', `/v1/reservations/${h.id}/extend`, '{"expires_in": 600}', {
      idem: idemKey(),
      headers: { 'content-type': 'text/plain' },
    });
    expect([text.status, text.body.code]).toEqual([415, 'unsupported_media_type']);
    expect(await snapshot()).toEqual(before);
  });

  it('races a settle: one order or the other, never both half-done', async () => {
    clock.set(T0);
    for (let i = 0; i < 10; i++) {
      const h = await hold();
      const [e, s] = await Promise.all([
        extend(h.id, { expires_in: 3600 }),
        call(t, 'POST', `/v1/reservations/${h.id}/settle`, {}, { idem: idemKey() }),
      ]);
      expect(s.status).toBe(200);
      // Extended first (200, pending), or settled first (409 not pending).
      expect([200, 409]).toContain(e.status);
      if (e.status === 409) expect(e.body.code).toBe('reservation_not_pending');
      const got = await call(t, 'GET', `/v1/reservations/${h.id}`);
      expect([got.body.status, got.body.settled, got.body.released]).toEqual(['settled', '2.000', '0.000']);
    }
  });
});
