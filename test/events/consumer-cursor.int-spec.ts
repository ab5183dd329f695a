import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventsService } from '@app/ledger';
import { call, expectLedgerConsistent, idemKey, startApp, type TestApp } from '../support/app.js';

/**
 * The service's own feed consumers (EventsService.take, used by auto top-up):
 * while other processes position events at the same time (every dispatcher
 * and every GET /v1/events calls sequence()), a consumer that advances to the
 * cursor take() gives still sees every event of its types, once.
 */
describe('event feed: a consumer cursor', () => {
  let t: TestApp;
  let events: EventsService;
  beforeAll(async () => {
    t = await startApp();
    events = t.app.get(EventsService);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('misses nothing and sees nothing twice while positions are given concurrently, for full and partial pages', async () => {
    // Three consumers, each with its own cursor, starting after what is already in the feed.
    const consumers = [0, 1, 2].map((i) => `test_cursor_${i}_${Date.now()}`);
    for (const c of consumers) {
      await events.take(c, ['reservation.created'], 1);
      await events.advance(c, await events.head());
    }
    const owners = Array.from({ length: 6 }, (_, i) => `cur_${i}_${Date.now()}`);
    for (const o of owners) expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);

    let producing = true;
    const seen = consumers.map((): string[] => []);
    const producers = owners.map(async (owner) => {
      for (let i = 0; i < 100; i++) {
        const r = await call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount: '0.01' }, { idem: idemKey('cur') });
        expect(r.status).toBe(201);
      }
    });
    // Other processes' sequencers, positioning as fast as they can.
    const sequencers = Array.from({ length: 3 }, async () => {
      while (producing) await events.sequence();
    });
    // The consumers: small pages (full ones move the cursor to the last row, short and empty ones to the head).
    const consuming = consumers.map(async (consumer, i) => {
      for (;;) {
        const stop = !producing;
        const page = await events.take(consumer, ['reservation.created'], 7);
        seen[i].push(...page.events.filter((e) => owners.includes(e.owner_id)).map((e) => e.id));
        await events.advance(consumer, page.cursor);
        if (stop && page.events.length === 0) return;
      }
    });
    await Promise.all(producers);
    producing = false;
    await Promise.all(sequencers);
    await Promise.all(consuming);

    const all: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await events.list({ after, limit: 1000, types: 'reservation.created' });
      all.push(...page.data.filter((e) => owners.includes(e.owner_id)).map((e) => e.id));
      if (page.data.length === 0) break;
      after = page.next_cursor!;
    }
    expect(all).toHaveLength(owners.length * 100);
    for (const s of seen) expect(s).toEqual(all);
  });
});
