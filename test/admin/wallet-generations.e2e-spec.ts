import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, grantTokens, idemKey, startApp, TestApp } from '../support/app.js';
import { controlClock } from '../support/clock.js';
import { allPages, expectNewestFirst, textOrder } from '../support/paging.js';

interface Generation {
  id: string;
  batch_id: string | null;
  created_at: string;
}

/** GET /v1/admin/wallets/{owner_id}/generations: newest first, ties by id, every generation exactly once. */
describe('admin: a wallet’s generations, paged', () => {
  let t: TestApp;
  const list = (path: string) => call(t, 'GET', path, undefined, { key: t.adminKey });

  beforeAll(async () => {
    t = await startApp();
    const clock = controlClock(t, '2030-03-04T10:00:00Z');
    try {
      expect((await call(t, 'PUT', '/v1/wallets/gens')).status).toBe(201);
      await grantTokens(t, 'gens', 100_000n);
      // One batch: its 12 generations share a created_at.
      const batch = await call(
        t,
        'POST',
        '/v1/batches',
        { owner_id: 'gens', variant: 'gpt-image-1-min', items: Array.from({ length: 12 }, (_, i) => ({ prompt: `item ${i}` })) },
        { idem: idemKey() },
      );
      expect(batch.status).toBe(202);
      clock.advance(1000);
      for (const prompt of ['later 1', `later 2 ${'x'.repeat(250)}`]) {
        const g = await call(
          t,
          'POST',
          '/v1/image/generate',
          { owner_id: 'gens', model: 'models/openai/gpt-image', prompt },
          { idem: idemKey() },
        );
        expect(g.status).toBe(202);
      }
    } finally {
      clock.restore();
    }
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('pages 14 generations, 12 of them tied on created_at, each exactly once', async () => {
    const first = await allPages<Generation>(t, '/v1/admin/wallets/gens/generations', 200, t.adminKey);
    expect(first).toHaveLength(14);
    expect(first.slice(0, 2).every((g) => g.batch_id === null)).toBe(true);
    expect(new Set(first.slice(2).map((g) => g.batch_id)).size).toBe(1);
    expectNewestFirst(first, textOrder);
    for (const limit of [1, 3, 5, 13, 14])
      expect([limit, (await allPages<Generation>(t, '/v1/admin/wallets/gens/generations', limit, t.adminKey)).map((g) => g.id)]).toEqual([
        limit,
        first.map((g) => g.id),
      ]);
  });

  it('shows each generation’s prompt (its first 200 characters), what it delivered and why it failed', async () => {
    // The two were made in one instant: the id orders them, so find each by its prompt.
    const page: Array<{ prompt: string }> = (await list('/v1/admin/wallets/gens/generations?limit=2')).body.data;
    const long = page.find((g) => g.prompt.startsWith('later 2'));
    expect(long).toMatchObject({
      prompt: `later 2 ${'x'.repeat(192)}`,
      prompt_truncated: true,
      status: 'queued',
      n: 1,
      delivered: 0,
      image_url: null,
      error: null,
      refunded: '0.000',
    });
    expect(page.find((g) => g.prompt.startsWith('later 1'))).toMatchObject({
      prompt: 'later 1',
      prompt_truncated: false,
      finished_at: null,
      // What it was priced at, and why: the default variant's flat price, version 1.
      kind: 'generate',
      price: { dimensions: {}, version: 1, unit_price: '3.540' },
    });
  });

  it('answers 404 for an unknown wallet and 400 for a bad cursor or limit', async () => {
    expect((await list('/v1/admin/wallets/nobody/generations')).body.code).toBe('wallet_not_found');
    for (const q of ['cursor=gen_x', 'cursor=res_00000000000000000000000000000000', 'limit=0', 'limit=201'])
      expect([q, (await list(`/v1/admin/wallets/gens/generations?${q}`)).status]).toEqual([q, 400]);
    expect((await call(t, 'GET', '/v1/admin/wallets/gens/generations')).status).toBe(403);
  });
});
