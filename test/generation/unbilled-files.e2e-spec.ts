import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from './support.js';

const MODEL = 'models/openai/gpt-image';

/**
 * An image is never delivered unbilled: /files serves an image only once its
 * generation's settle committed, and only the images it charged. The files a
 * worker wrote for a generation whose hold ended first (released by the
 * gateway, lapsed) are there on disk, and a 404.
 */
describe('stored images are served only once billed', () => {
  let t: TestApp;
  let storage = '';
  beforeAll(async () => {
    const env = generationEnv();
    storage = env.STORAGE_DIR;
    t = await startApp(env);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  const get = (path: string) => fetch(`${t.baseUrl}${path}`);

  it('a released hold: the provider delivers, nothing is charged, and its files are not served', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/uf_rel')).status).toBe(201);
    const r = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'uf_rel', model: MODEL, prompt: 'slow [fake:delay_ms=3000]', n: 2 },
      { idem: idemKey('uf') },
    );
    expect(r.status).toBe(202);
    // The gateway may release a generation's hold (it cancels): here while the provider works,
    // once the worker has started it (a hold gone before the start is never sent to the provider).
    for (let i = 0; i < 200 && (await call(t, 'GET', `/v1/generations/${r.body.id}`)).body.status !== 'running'; i++) {
      await new Promise((res) => setTimeout(res, 25));
    }
    await new Promise((res) => setTimeout(res, 500));
    expect((await call(t, 'POST', `/v1/reservations/${r.body.reservation_id}/release`, undefined, { idem: idemKey() })).status).toBe(200);
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect([g.status, g.tokens_used, g.error?.code]).toEqual(['failed', '0.000', 'hold_expired']);
    expect((await call(t, 'GET', '/v1/wallets/uf_rel')).body.balance).toEqual({ available: '15.000', held: '0.000' });
    // The worker wrote them before it learned the hold was gone: on disk, never served.
    const written = readdirSync(storage).filter((f) => f.startsWith(r.body.id));
    expect(written.sort()).toEqual([`${r.body.id}-0.png`, `${r.body.id}-1.png`]);
    for (const f of written) {
      const res = await get(`/files/${f}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code).toBe('file_not_found');
    }
  });

  it('a partial delivery serves what was charged; a settled one serves its images; any other name is a 404', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/uf_ok')).status).toBe(201);
    const r = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'uf_ok', model: MODEL, prompt: 'half [fake:partial=1]', n: 2 },
      { idem: idemKey('uf') },
    );
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect([g.status, g.tokens_used, g.output.images.length]).toEqual(['succeeded', '3.540', 1]);
    const served = await get(new URL(g.output.images[0].url).pathname);
    expect([served.status, served.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(
      Buffer.from(await served.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect((await get(`/files/${r.body.id}-1.png`)).status).toBe(404);
    expect(existsSync(join(storage, `${r.body.id}-0.png`))).toBe(true);
    for (const name of [
      'nothing.png',
      `${r.body.id}-0.gif`,
      `..%2F${r.body.id}-0.png`,
      `${r.body.id}-0.png.gz`,
      `gen_${'0'.repeat(32)}-0.png`,
    ]) {
      const res = await get(`/files/${name}`);
      expect([name, res.status]).toEqual([name, 404]);
    }
  });
});
