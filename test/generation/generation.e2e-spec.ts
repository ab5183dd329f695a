import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from './support.js';

const MODEL = 'models/openai/gpt-image';

describe('image generation end to end (real adapters, fake provider over HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(generationEnv());
    for (const o of ['gen_ok', 'gen_partial', 'gen_policy', 'gen_flaky', 'gen_idem', 'gen_cf', 'gen_5xx']) {
      expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
    }
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  const generate = (body: Record<string, unknown>, idem = idemKey('gen')) =>
    call(t, 'POST', '/v1/image/generate', { model: MODEL, ...body }, { idem });
  const balance = async (owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body.balance;

  it('n=2 succeeds, stores two images and charges 2 x 3.540', async () => {
    const r = await generate({ owner_id: 'gen_ok', prompt: 'a red fox', n: 2 });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'queued', model: MODEL, variant: 'gpt-image-1-min', n: 2, reserved: '7.080' });
    expect(r.body.id).toMatch(/^gen_[0-9a-f]{32}$/);
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect(g).toMatchObject({ status: 'succeeded', tokens_used: '7.080', error: null });
    expect(g.output.images).toHaveLength(2);
    expect(g.output.image_url).toBe(g.output.images[0].url);
    const img = await fetch(`${t.baseUrl}${new URL(g.output.image_url).pathname}`);
    expect(img.status).toBe(200);
    expect(
      Buffer.from(await img.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(await balance('gen_ok')).toEqual({ available: '7.920', held: '0.000' });
  });

  it('a partial delivery charges only the images delivered', async () => {
    const r = await generate({ owner_id: 'gen_partial', prompt: 'three cats [fake:partial=1]', n: 3 });
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect(g).toMatchObject({ status: 'succeeded', tokens_used: '3.540' });
    expect(g.output.images).toHaveLength(1);
    expect(await balance('gen_partial')).toEqual({ available: '11.460', held: '0.000' });
  });

  it('a content-policy refusal is not retried and charges nothing', async () => {
    const r = await generate({ owner_id: 'gen_policy', prompt: 'forbidden [fake:fail=content_policy]' });
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect(g).toMatchObject({ status: 'failed', tokens_used: '0.000', output: { images: [] } });
    expect(g.error.code).toBe('content_policy');
    expect(await balance('gen_policy')).toEqual({ available: '15.000', held: '0.000' });
  });

  it('a provider failing every attempt releases everything', async () => {
    const r = await generate({ owner_id: 'gen_5xx', prompt: 'down [fake:fail=server_error]' });
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect(g).toMatchObject({ status: 'failed', tokens_used: '0.000' });
    expect(g.error.code).toBe('server_error');
    expect(await balance('gen_5xx')).toEqual({ available: '15.000', held: '0.000' });
  });

  it('a flaky provider is retried and the generation charged once', async () => {
    const r = await generate({ owner_id: 'gen_flaky', prompt: `flaky ${idemKey()} [fake:flaky=2]` });
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect(g).toMatchObject({ status: 'succeeded', tokens_used: '3.540' });
    const tx = await call(t, 'GET', '/v1/wallets/gen_flaky/transactions?limit=50');
    expect(tx.body.data.filter((d: { type: string }) => d.type === 'settle')).toHaveLength(1);
    expect(await balance('gen_flaky')).toEqual({ available: '11.460', held: '0.000' });
  });

  it('the Cloudflare variant goes through the Workers AI adapter at 0.850 per image', async () => {
    const r = await generate({ owner_id: 'gen_cf', variant: 'gpt-image-2-cloudflare', prompt: 'budget lighthouse', n: 3 });
    expect(r.body.reserved).toBe('2.550');
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect(g).toMatchObject({ status: 'succeeded', tokens_used: '2.550' });
    expect(g.output.images).toHaveLength(3);
  });

  it('the same Idempotency-Key twice makes one generation', async () => {
    const key = idemKey('same-gen');
    const body = { owner_id: 'gen_idem', prompt: 'only once' };
    const [a, b] = await Promise.all([generate(body, key), generate(body, key)]);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body.id).toBe(a.body.id);
    await waitFinished(t, `/v1/generations/${a.body.id}`);
    const again = await generate(body, key);
    expect(again.body.id).toBe(a.body.id);
    expect(await balance('gen_idem')).toEqual({ available: '11.460', held: '0.000' });
  });

  it('refuses bad input with problem+json and holds nothing', async () => {
    for (const [body, field] of [
      [{ owner_id: 'gen_ok', prompt: '' }, 'prompt'],
      [{ owner_id: 'gen_ok', prompt: 'x', n: 11 }, 'n'],
      [{ owner_id: 'gen_ok', prompt: 'x', size: '999x999' }, 'size'],
      [{ owner_id: 'gen_ok', prompt: 'x', quality: 'ultra' }, 'quality'],
      [{ owner_id: 'gen_ok', prompt: 'x'.repeat(32_001) }, 'prompt'],
      [{ owner_id: 'bad owner', prompt: 'x' }, 'owner_id'],
    ] as const) {
      const r = await generate(body);
      expect([r.status, r.body.code, r.body.errors?.[0]?.field]).toEqual([400, 'validation_error', field]);
    }
    expect((await generate({ owner_id: 'gen_ok', prompt: 'x', variant: 'nope' })).body.code).toBe('variant_not_found');
    expect(
      (await call(t, 'POST', '/v1/image/generate', { model: 'models/none', owner_id: 'gen_ok', prompt: 'x' }, { idem: idemKey() })).body
        .code,
    ).toBe('model_not_found');
    expect((await generate({ owner_id: 'no_wallet_here', prompt: 'x' })).status).toBe(404);
    const big = await generate({ owner_id: 'gen_ok', prompt: 'x', n: 3 });
    expect([big.status, big.body.code]).toEqual([402, 'insufficient_funds']);
    expect((await call(t, 'GET', '/v1/generations/gen_unknown')).status).toBe(404);
    expect(await balance('gen_ok')).toEqual({ available: '7.920', held: '0.000' });
  });
});
