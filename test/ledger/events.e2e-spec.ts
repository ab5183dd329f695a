import { describe, expect, it } from '@jest/globals';
import { MaintenanceService } from '@app/ledger';
import { call, grantTokens, idemKey, useApp } from '../support/app.js';
import { controlClock } from '../support/clock.js';
import { expectFeedMatchesLedger, FeedConsumer } from './feed.js';

/** The wallet event stream (spec section 9): one event per change, in the change's transaction. */
describe('events', () => {
  const app = useApp();

  it('writes an event for every change of a wallet, numbered without gaps', async () => {
    const t = app();
    const clock = controlClock(t, '2032-01-05T10:00:00.000Z');
    try {
      expect((await call(t, 'PUT', '/v1/wallets/ev_types')).status).toBe(201);
      const a = (await call(t, 'POST', '/v1/wallets/ev_types/reservations', { amount: '4', spender_id: 'sam' }, { idem: idemKey() })).body;
      await call(t, 'POST', `/v1/reservations/${a.id}/settle`, { amount: '1.5' }, { idem: idemKey() });
      const b = (await call(t, 'POST', '/v1/wallets/ev_types/reservations', { amount: '2' }, { idem: idemKey() })).body;
      await call(t, 'POST', `/v1/reservations/${b.id}/release`, undefined, { idem: idemKey() });
      const c = (await call(t, 'POST', '/v1/wallets/ev_types/reservations', { amount: '1', expires_in: 60 }, { idem: idemKey() })).body;
      const frozen = await call(
        t,
        'POST',
        '/v1/admin/wallets/ev_types/freeze',
        { reason: 'checking' },
        { key: t.adminKey, idem: idemKey() },
      );
      expect(frozen.status).toBe(200);
      await call(t, 'POST', '/v1/admin/wallets/ev_types/unfreeze', { reason: 'fine' }, { key: t.adminKey, idem: idemKey() });
      clock.set('2032-01-05T10:05:00.000Z');
      await t.app.get(MaintenanceService).releaseExpiredReservations();
      // The next ISO week: last week's free tokens lapse (credit.expired) and this week's come (credit.created).
      clock.set('2032-01-12T00:00:01.000Z');
      await t.app.get(MaintenanceService).expireLapsedBuckets();
      await call(t, 'GET', '/v1/wallets/ev_types');

      const feed = new FeedConsumer(t, { ownerId: 'ev_types' });
      await feed.drain();
      const events = feed.events;
      expect(events.map((e) => [e.seq, e.type])).toEqual([
        [1, 'wallet.created'],
        [2, 'credit.created'],
        [3, 'reservation.created'],
        [4, 'reservation.settled'],
        [5, 'reservation.created'],
        [6, 'reservation.released'],
        [7, 'reservation.created'],
        [8, 'wallet.frozen'],
        [9, 'wallet.unfrozen'],
        [10, 'reservation.expired'],
        [11, 'credit.expired'],
        [12, 'credit.created'],
      ]);
      expect(events.every((e) => e.owner_id === 'ev_types' && /^evt_\d+$/.test(e.id))).toBe(true);
      expect(events[1].data).toMatchObject({ kind: 'grant', amount: '15.000', balance_change: { available: '15.000', held: '0.000' } });
      expect(events[2].data).toMatchObject({
        reservation_id: a.id,
        reserved: '4.000',
        balance_change: { available: '-4.000', held: '4.000' },
      });
      expect(events[3].data).toMatchObject({
        reservation_id: a.id,
        reserved: '4.000',
        settled: '1.500',
        released: '2.500',
        balance_change: { available: '2.500', held: '-4.000' },
      });
      expect(events[7].data).toMatchObject({ cause: 'admin', causes: ['admin'] });
      expect(events[9].data).toMatchObject({ reservation_id: c.id, settled: '0.000', released: '1.000' });
      expect(events[10].data).toMatchObject({ kind: 'expire', amount: '-13.500' });
      expect(events[2].created_at).toBe('2032-01-05T10:00:00.000Z');
      // Only some types, and paging by the cursor, return the same events.
      const settled = await call(t, 'GET', '/v1/events?owner_id=ev_types&types=reservation.settled,reservation.released');
      expect(settled.body.data.map((e: any) => e.seq)).toEqual([4, 6]);
      const one = await call(t, 'GET', `/v1/events?owner_id=ev_types&limit=1&after=${events[4].id}`);
      expect(one.body.data.map((e: any) => e.id)).toEqual([events[5].id]);
      expect(one.body.next_cursor).toBe(events[5].id);
      const end = await call(t, 'GET', `/v1/events?owner_id=ev_types&after=${events[11].id}`);
      expect(end.body).toEqual({ data: [], next_cursor: events[11].id });
      await expectFeedMatchesLedger(t, feed, ['ev_types']);
    } finally {
      clock.restore();
    }
  });

  it('a consumer following the feed during parallel traffic on many wallets sees every event exactly once', async () => {
    const t = app();
    const owners = Array.from({ length: 12 }, (_, i) => `ev_par_${i}`);
    for (const o of owners) await call(t, 'PUT', `/v1/wallets/${o}`);
    await Promise.all(owners.map((o) => grantTokens(t, o, 20_000n)));
    const feed = new FeedConsumer(t, { limit: 37 });
    const following = feed.follow();
    // 16 clients, each doing 25 reserve-then-settle-or-release pairs on random wallets.
    await Promise.all(
      Array.from({ length: 16 }, async (_, c) => {
        for (let i = 0; i < 25; i++) {
          const owner = owners[(c * 7 + i * 5) % owners.length];
          const r = await call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount: '0.25' }, { idem: idemKey() });
          expect(r.status).toBe(201);
          const end = i % 3 === 0 ? 'release' : 'settle';
          expect((await call(t, 'POST', `/v1/reservations/${r.body.id}/${end}`, undefined, { idem: idemKey() })).status).toBe(200);
        }
      }),
    );
    await feed.stop(following);
    await feed.drain();
    // 12 wallets x (created, weekly grant, promo grant) + 400 pairs x 2.
    expect(feed.events.filter((e) => e.owner_id.startsWith('ev_par_'))).toHaveLength(12 * 3 + 800);
    await expectFeedMatchesLedger(t, feed, owners);
  });

  it('refuses a bad query with problem+json', async () => {
    const t = app();
    for (const q of ['after=12', 'after=evt_x', 'limit=0', 'limit=1001', 'types=nope', 'types=reservation.created,', 'owner_id=a%00b']) {
      const r = await call(t, 'GET', `/v1/events?${q}`);
      expect([q, r.status, r.body.code, r.headers.get('content-type')?.split(';')[0]]).toEqual([
        q,
        400,
        'validation_error',
        'application/problem+json',
      ]);
    }
    expect((await call(t, 'GET', '/v1/events?owner_id=nobody_at_all')).body.code).toBe('wallet_not_found');
    expect((await call(t, 'GET', '/v1/events', undefined, { key: null })).status).toBe(401);
  });
});
