import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv } from './support.js';

const MODEL = 'models/openai/gpt-image';

/** Requests the generation routes must refuse with a problem, never a 500, changing nothing. */
describe('generation routes refuse what they cannot make', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(generationEnv());
    expect((await call(t, 'PUT', '/v1/wallets/gr_1')).status).toBe(201);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  const nothingChanged = async () => {
    expect((await call(t, 'GET', '/v1/wallets/gr_1')).body.balance).toEqual({ available: '15.000', held: '0.000' });
    const [n] = await t.app
      .get(Database)
      .query<{ g: number; b: number }>(`SELECT (SELECT count(*)::int FROM generations) AS g, (SELECT count(*)::int FROM batches) AS b`);
    expect(n).toEqual({ g: 0, b: 0 });
  };

  it('batch items and edit images that are not objects: 400 naming the field', async () => {
    const batch = { owner_id: 'gr_1', variant: 'gpt-image-2-cloudflare' };
    for (const items of [[[]], [[{ prompt: 'x' }]], ['x'], [1], [true], [{ prompt: 'ok' }, []]]) {
      const r = await call(t, 'POST', '/v1/batches', { ...batch, items }, { idem: idemKey() });
      expect([JSON.stringify(items), r.status, r.body.code]).toEqual([JSON.stringify(items), 400, 'validation_error']);
      expect(r.body.errors.map((e: { field: string }) => e.field).join(' ')).toContain('items');
    }
    for (const images of [[[]], ['https://example.com/a.png'], [[{ url: 'https://example.com/a.png' }]]]) {
      const r = await call(t, 'POST', '/v1/image/edits', { owner_id: 'gr_1', model: MODEL, prompt: 'x', images }, { idem: idemKey() });
      expect([JSON.stringify(images), r.status, r.body.code]).toEqual([JSON.stringify(images), 400, 'validation_error']);
    }
    await nothingChanged();
  });

  it('a variant priced at 0 tokens: a generation and a batch are 422 zero_price, as a reservation by variant is', async () => {
    const price = (tokens: string) =>
      call(t, 'PUT', '/v1/admin/prices/gpt-image-2-cloudflare', { tokens, reason: 'promo' }, { key: t.adminKey, idem: idemKey('price') });
    expect((await price('0')).status).toBe(200);
    try {
      const gen = await call(
        t,
        'POST',
        '/v1/image/generate',
        { owner_id: 'gr_1', model: MODEL, variant: 'gpt-image-2-cloudflare', prompt: 'x' },
        { idem: idemKey() },
      );
      const bat = await call(
        t,
        'POST',
        '/v1/batches',
        { owner_id: 'gr_1', variant: 'gpt-image-2-cloudflare', items: [{ prompt: 'x' }] },
        { idem: idemKey() },
      );
      const res = await call(
        t,
        'POST',
        '/v1/wallets/gr_1/reservations',
        { variant: 'gpt-image-2-cloudflare', quantity: 1 },
        { idem: idemKey() },
      );
      for (const r of [gen, bat, res]) expect([r.status, r.body.code]).toEqual([422, 'zero_price']);
    } finally {
      expect((await price('0.850')).status).toBe(200);
    }
    await nothingChanged();
  });
});
