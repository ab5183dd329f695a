import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, startApp, TestApp } from '../support/app.js';

describe('price list and HTTP edge', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('lists the seed prices of the spec with token and dollar strings', async () => {
    const r = await call(t, 'GET', '/v1/prices');
    expect(r.status).toBe(200);
    const flat = r.body.data.filter((p: { dimensions: object }) => Object.keys(p.dimensions).length === 0);
    const byVariant = Object.fromEntries(flat.map((p: { variant: string }) => [p.variant, p]));
    expect(byVariant['gpt-image-1-min']).toMatchObject({
      model: 'models/openai/gpt-image',
      unit: 'image',
      tokens: '3.540',
      usd: '0.354',
      version: 1,
      default: true,
      dimensions: {},
    });
    expect(byVariant['gpt-image-1-max']).toMatchObject({ tokens: '3.540', usd: '0.354', default: false });
    expect(byVariant['gpt-image-2-cloudflare']).toMatchObject({ tokens: '0.850', usd: '0.085' });
    expect(flat).toHaveLength(3);
    // gpt-image-1 keyed by quality x size (9) and, for edits, by 1-4 input images as well (36).
    expect(r.body.data.filter((p: { variant: string }) => p.variant === 'gpt-image-1')).toHaveLength(45);
    // Metered variants: one price per unit, keyed by meter; ceil(cost_micro_usd x 354 / 16700) mt.
    const metered = r.body.data
      .filter((p: { dimensions: Record<string, string> }) => p.dimensions.meter !== undefined)
      .map((p: { variant: string; unit: string; tokens: string; dimensions: Record<string, string> }) => [
        p.variant,
        p.unit,
        p.tokens,
        p.dimensions.meter,
      ]);
    expect(metered).toEqual([
      ['gpt-4o-mini', '1k_input_tokens', '0.004', '1k_input_tokens'], // $0.15 / 1M: 150 micro-USD per 1K -> 3.18 -> 4 mt
      ['gpt-4o-mini', '1k_output_tokens', '0.013', '1k_output_tokens'], // $0.60 / 1M: 600 -> 12.72 -> 13 mt
      ['sora-2', 'second', '2.120', 'second'], // $0.10 a second: 100000 -> 2119.76 -> 2120 mt
    ]);
    expect(r.body.data).toHaveLength(51);
  });

  it('gets the price of one meter of a metered variant', async () => {
    const out = await call(t, 'GET', '/v1/prices/gpt-4o-mini?meter=1k_output_tokens');
    expect([out.status, out.body.tokens, out.body.unit, out.body.dimensions]).toEqual([
      200,
      '0.013',
      '1k_output_tokens',
      { meter: '1k_output_tokens' },
    ]);
    const none = await call(t, 'GET', '/v1/prices/gpt-4o-mini');
    expect([none.status, none.body.code]).toEqual([422, 'price_not_found']);
    expect(none.body.detail).toContain('priced by meter');
    const bad = await call(t, 'GET', '/v1/prices/sora-2?meter=minute');
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_error']);
  });

  it('gets one variant, and 404s an unknown one', async () => {
    const one = await call(t, 'GET', '/v1/prices/gpt-image-2-cloudflare');
    expect(one.status).toBe(200);
    expect(one.body.description).toContain('Cloudflare');
    const none = await call(t, 'GET', '/v1/prices/no-such-thing');
    expect([none.status, none.body.code]).toEqual([404, 'variant_not_found']);
  });

  it('answers unknown routes, oversized bodies and wrong content as problem+json', async () => {
    const route = await call(t, 'GET', '/v1/nothing-here');
    expect([route.status, route.body.code]).toEqual([404, 'not_found']);
    expect(route.headers.get('content-type')).toContain('application/problem+json');
    const big = await call(
      t,
      'POST',
      '/v1/wallets/x/reservations',
      { amount: '1', metadata: { blob: 'x'.repeat(300_000) } },
      { idem: 'big-1' },
    );
    expect([big.status, big.body.code]).toEqual([413, 'payload_too_large']);
    const meta = await call(
      t,
      'POST',
      '/v1/wallets/x/reservations',
      { amount: '1', metadata: { blob: 'x'.repeat(5_000) } },
      { idem: 'meta-1' },
    );
    expect([meta.status, meta.body.code, meta.body.errors?.[0]?.field]).toEqual([400, 'validation_error', 'metadata']);
    const badKey = await call(t, 'POST', '/v1/wallets/x/reservations', { amount: '1' }, { idem: 'x'.repeat(256) });
    expect([badKey.status, badKey.body.errors?.[0]?.field]).toEqual([400, 'Idempotency-Key']);
    expect(route.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const traced = await call(t, 'GET', '/v1/prices', undefined, { headers: { 'x-request-id': 'trace-123' } });
    expect(traced.headers.get('x-request-id')).toBe('trace-123');
  });
});
