import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { fakePng } from '@app/generation';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, expectLedgerConsistent, grantTokens, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from './support.js';

const MODEL = 'models/openai/gpt-image';

/**
 * A request priced, resolved or fetched before its Idempotency-Key is claimed
 * (a generation, an edit, a batch, a reservation by variant): its retry
 * replays the first answer even when what it was checked against is gone
 * since (the price retired, an input image no longer served); the same key
 * with another body, or a new key, still gets the refusal, and nothing moves.
 */
describe('a retry replays after its price or inputs changed', () => {
  let t: TestApp;
  let files: Server;
  let filesUrl = '';
  let served = 0;

  beforeAll(async () => {
    t = await startApp(generationEnv());
    // /once.png is served the first time only, as an input URL that expired would be.
    files = createServer((req, res) => {
      if (req.url === '/once.png' && served++ === 0) return res.writeHead(200, { 'content-type': 'image/png' }).end(fakePng('once'));
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
    await new Promise<void>((resolve) => files.close(() => resolve()));
  });

  const balance = async (owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body.balance;
  const wallet = async (owner: string) => {
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    await grantTokens(t, owner, 20_000n);
  };
  const setActive = async (variant: string, tokens: string, active: boolean) => {
    const r = await call(
      t,
      'PUT',
      `/v1/admin/prices/${variant}`,
      { tokens, active, reason: active ? 'back on sale' : 'retired' },
      { key: t.adminKey, idem: idemKey('price') },
    );
    expect(r.status).toBe(200);
  };
  const expectReplay = (r: Awaited<ReturnType<typeof call>>, first: Awaited<ReturnType<typeof call>>) => {
    expect([r.status, r.headers.get('idempotent-replayed')]).toEqual([first.status, 'true']);
    expect(r.body).toEqual(first.body);
  };

  it('a generation: the retry after its variant was retired replays; another body or key gets 404, and nothing more is held', async () => {
    await wallet('rp_gen');
    const key = idemKey('rp');
    const body = { model: MODEL, variant: 'gpt-image-1-min', owner_id: 'rp_gen', prompt: 'a fox' };
    const first = await call(t, 'POST', '/v1/image/generate', body, { idem: key });
    expect([first.status, first.body.variant]).toEqual([202, 'gpt-image-1-min']);
    await waitFinished(t, `/v1/generations/${first.body.id}`);
    await setActive('gpt-image-1-min', '3.540', false);
    try {
      expectReplay(await call(t, 'POST', '/v1/image/generate', body, { idem: key }), first);
      const other = await call(t, 'POST', '/v1/image/generate', { ...body, prompt: 'a hen' }, { idem: key });
      expect([other.status, other.body.code]).toEqual([404, 'variant_not_found']);
      const fresh = await call(t, 'POST', '/v1/image/generate', body, { idem: idemKey('rp') });
      expect([fresh.status, fresh.body.code]).toEqual([404, 'variant_not_found']);
    } finally {
      await setActive('gpt-image-1-min', '3.540', true);
    }
    expect(await balance('rp_gen')).toEqual({ available: '31.460', held: '0.000' });
    const rows = await t.app.get(Database).query<{ id: string }>(`SELECT id FROM generations WHERE owner_id = 'rp_gen'`);
    expect(rows.map((g) => g.id)).toEqual([first.body.id]);
  });

  it('a batch: the retry after its variant was retired replays the same batch', async () => {
    await wallet('rp_bat');
    const key = idemKey('rp');
    const body = { owner_id: 'rp_bat', variant: 'gpt-image-2-cloudflare', items: [{ prompt: 'one' }, { prompt: 'two', n: 2 }] };
    const first = await call(t, 'POST', '/v1/batches', body, { idem: key });
    expect([first.status, first.body.reserved]).toEqual([202, '2.550']);
    await waitFinished(t, `/v1/batches/${first.body.id}`);
    await setActive('gpt-image-2-cloudflare', '0.850', false);
    try {
      expectReplay(await call(t, 'POST', '/v1/batches', body, { idem: key }), first);
      const fresh = await call(t, 'POST', '/v1/batches', body, { idem: idemKey('rp') });
      expect([fresh.status, fresh.body.code]).toEqual([404, 'variant_not_found']);
    } finally {
      await setActive('gpt-image-2-cloudflare', '0.850', true);
    }
    expect(await balance('rp_bat')).toEqual({ available: '32.450', held: '0.000' });
  });

  it('a reservation by variant: the retry after the price was retired replays; a new key gets 404 and holds nothing', async () => {
    await wallet('rp_res');
    const key = idemKey('rp');
    const body = { variant: 'gpt-image-2-cloudflare', quantity: 3 };
    const first = await call(t, 'POST', '/v1/wallets/rp_res/reservations', body, { idem: key });
    expect([first.status, first.body.reserved]).toEqual([201, '2.550']);
    await setActive('gpt-image-2-cloudflare', '0.850', false);
    try {
      expectReplay(await call(t, 'POST', '/v1/wallets/rp_res/reservations', body, { idem: key }), first);
      const other = await call(t, 'POST', '/v1/wallets/rp_res/reservations', { ...body, quantity: 4 }, { idem: key });
      expect([other.status, other.body.code]).toEqual([404, 'variant_not_found']);
      const fresh = await call(t, 'POST', '/v1/wallets/rp_res/reservations', body, { idem: idemKey('rp') });
      expect([fresh.status, fresh.body.code]).toEqual([404, 'variant_not_found']);
    } finally {
      await setActive('gpt-image-2-cloudflare', '0.850', true);
    }
    expect(await balance('rp_res')).toEqual({ available: '32.450', held: '2.550' });
    const settled = await call(t, 'POST', `/v1/reservations/${first.body.id}/settle`, undefined, { idem: idemKey() });
    expect(settled.status).toBe(200);
  });

  it('an edit: the retry after its input URL stopped answering replays instead of a 400', async () => {
    await wallet('rp_edit');
    const key = idemKey('rp');
    const body = { model: MODEL, owner_id: 'rp_edit', prompt: 'add a hat', images: [{ url: `${filesUrl}/once.png` }] };
    const first = await call(t, 'POST', '/v1/image/edits', body, { idem: key });
    expect(first.status).toBe(202);
    expect((await waitFinished(t, `/v1/generations/${first.body.id}`)).status).toBe('succeeded');
    const after = await balance('rp_edit');
    expect(after.held).toBe('0.000');
    expectReplay(await call(t, 'POST', '/v1/image/edits', body, { idem: key }), first);
    const fresh = await call(t, 'POST', '/v1/image/edits', body, { idem: idemKey('rp') });
    expect([fresh.status, fresh.body.code]).toEqual([400, 'validation_error']);
    expect(fresh.body.detail).toContain('could not be fetched');
    expect(await balance('rp_edit')).toEqual(after);
  });
});
