import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { controlClock } from '../support/clock.js';
import { allPages, expectNewestFirst, textOrder } from '../support/paging.js';

interface Transaction {
  id: string;
  type: string;
  created_at: string;
}

/** Spec section 8, Lists: a wallet's transactions in a total order, each exactly once along next_cursor. */
describe('wallet transactions paging', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('pages transfers that share one created_at, newest first and ties by id, each exactly once', async () => {
    // A stopped clock: the weekly grant and every hold get the same created_at.
    const clock = controlClock(t, '2030-03-04T10:00:00Z');
    try {
      expect((await call(t, 'PUT', '/v1/wallets/paged')).status).toBe(201);
      for (let i = 0; i < 12; i++) {
        const r = await call(t, 'POST', '/v1/wallets/paged/reservations', { amount: '0.5' }, { idem: idemKey() });
        expect(r.status).toBe(201);
      }
      clock.advance(1000);
      // Two more a second later: they come first.
      for (let i = 0; i < 2; i++)
        expect((await call(t, 'POST', '/v1/wallets/paged/reservations', { amount: '0.5' }, { idem: idemKey() })).status).toBe(201);
    } finally {
      clock.restore();
    }
    const first = await allPages<Transaction>(t, '/v1/wallets/paged/transactions', 200);
    expect(first).toHaveLength(15);
    expect(first.map((x) => x.created_at)).toEqual([
      ...Array<string>(2).fill('2030-03-04T10:00:01.000Z'),
      ...Array<string>(13).fill('2030-03-04T10:00:00.000Z'),
    ]);
    expectNewestFirst(first, textOrder);
    for (const limit of [1, 4, 7, 14, 15]) {
      const paged = await allPages<Transaction>(t, '/v1/wallets/paged/transactions', limit);
      expect([limit, paged.map((x) => x.id)]).toEqual([limit, first.map((x) => x.id)]);
    }
  });
});
