import { describe, expect, it } from '@jest/globals';
import { call, grantTokens, idemKey, TestApp, useApp } from '../support/app.js';
import { generationEnv, waitFinished } from '../generation/support.js';

const MODEL = 'models/openai/gpt-image';

/**
 * The seeded gpt-image-1 grid, computed by hand from OpenAI's per-image cost
 * (micro-USD) and today's margin, $0.354 / $0.167: ceil(cost x 354 / 16700) mt.
 */
const GRID: [quality: string, size: string, tokens: string][] = [
  ['low', '1024x1024', '0.234'], // 11000 x 354 / 16700 = 233.17
  ['low', '1024x1536', '0.340'], // 16000 -> 339.16
  ['low', '1536x1024', '0.340'],
  ['medium', '1024x1024', '0.891'], // 42000 -> 890.30
  ['medium', '1024x1536', '1.336'], // 63000 -> 1335.45
  ['medium', '1536x1024', '1.336'],
  ['high', '1024x1024', '3.540'], // 167000 -> 3540.00, today's flat price
  ['high', '1024x1536', '5.300'], // 250000 -> 5299.40
  ['high', '1536x1024', '5.300'],
];

describe('keyed prices: a generation pays the price of its size and quality', () => {
  const app = useApp(generationEnv());
  const t = (): TestApp => app();
  const generate = (body: Record<string, unknown>) =>
    call(t(), 'POST', '/v1/image/generate', { model: MODEL, ...body }, { idem: idemKey('dim') });
  const wallet = async (owner: string) => (await call(t(), 'GET', `/v1/wallets/${owner}`)).body.balance;

  it('lists every combination with its dimensions, priced as computed by hand', async () => {
    const r = await call(t(), 'GET', '/v1/prices');
    expect(r.status).toBe(200);
    const keyed = r.body.data.filter((p: { variant: string }) => p.variant === 'gpt-image-1');
    for (const [quality, size, tokens] of GRID) {
      expect(keyed.find((p: { dimensions: object }) => JSON.stringify(p.dimensions) === JSON.stringify({ quality, size }))).toMatchObject({
        tokens,
        version: 1,
        unit: 'image',
      });
    }
    // An edit adds 765 image tokens x $10/1M = 7650 micro-USD an input image: high 1024x1024 with 2 inputs
    // costs 167000 + 15300 = 182300 -> 3864.3 -> 3.865.
    const edit2 = keyed.find(
      (p: { dimensions: Record<string, string> }) =>
        p.dimensions.input_images === '2' && p.dimensions.quality === 'high' && p.dimensions.size === '1024x1024',
    );
    expect(edit2.tokens).toBe('3.865');
  });

  it('GET /v1/prices/{variant} prices the dimensions asked for, and 422s a combination without a price', async () => {
    const one = await call(t(), 'GET', '/v1/prices/gpt-image-1?size=1536x1024&quality=high');
    expect([one.status, one.body.tokens, one.body.dimensions]).toEqual([200, '5.300', { quality: 'high', size: '1536x1024' }]);
    const none = await call(t(), 'GET', '/v1/prices/gpt-image-1?size=1024x1024');
    expect([none.status, none.body.code]).toEqual([422, 'price_not_found']);
    expect(none.body.detail).toContain('priced by input_images, quality, size');
    // A flat variant has one price whatever is asked.
    const flat = await call(t(), 'GET', '/v1/prices/gpt-image-1-min?quality=low');
    expect([flat.status, flat.body.tokens, flat.body.dimensions]).toEqual([200, '3.540', {}]);
    const bad = await call(t(), 'GET', '/v1/prices/gpt-image-1?size=big');
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_error']);
  });

  it('every size x quality reserves and charges its own price', async () => {
    await call(t(), 'PUT', '/v1/wallets/dim_grid');
    await grantTokens(t(), 'dim_grid', 100_000n);
    const started = [];
    for (const [quality, size, tokens] of GRID) {
      const r = await generate({ owner_id: 'dim_grid', variant: 'gpt-image-1', prompt: `grid ${quality} ${size}`, size, quality, n: 2 });
      expect(r.status).toBe(202);
      const unit = BigInt(tokens.replace('.', ''));
      expect(r.body.reserved).toBe(fmt(unit * 2n));
      expect(r.body.price).toEqual({ dimensions: { quality, size }, version: 1, unit_price: tokens });
      expect(r.body.quality).toBe(quality);
      started.push({ id: r.body.id as string, charged: fmt(unit * 2n) });
    }
    let total = 0n;
    for (const s of started) {
      const g = await waitFinished(t(), `/v1/generations/${s.id}`);
      expect([g.status, g.tokens_used]).toEqual(['succeeded', s.charged]);
      total += BigInt(s.charged.replace('.', ''));
    }
    expect(await wallet('dim_grid')).toEqual({ available: fmt(115_000n - total), held: '0.000' });
  });

  it('no quality on a variant priced by quality is its default (medium), sent to the provider as billed', async () => {
    await call(t(), 'PUT', '/v1/wallets/dim_default');
    const r = await generate({ owner_id: 'dim_default', variant: 'gpt-image-1', prompt: 'default quality' });
    expect([r.status, r.body.reserved, r.body.quality, r.body.size]).toEqual([202, '0.891', 'medium', '1024x1024']);
    expect((await waitFinished(t(), `/v1/generations/${r.body.id}`)).tokens_used).toBe('0.891');
  });

  it('a combination with no price is 422 price_not_found and reserves nothing', async () => {
    await call(t(), 'PUT', '/v1/wallets/dim_none');
    const auto = await generate({ owner_id: 'dim_none', variant: 'gpt-image-1', prompt: 'x', quality: 'auto' });
    expect([auto.status, auto.body.code]).toEqual([422, 'price_not_found']);
    expect(auto.headers.get('content-type')).toContain('application/problem+json');
    expect(auto.body.detail).toContain('quality=auto');
    // A batch is priced at the variant's default size and quality.
    const batch = await call(
      t(),
      'POST',
      '/v1/batches',
      { owner_id: 'dim_none', variant: 'gpt-image-1', items: [{ prompt: 'a' }, { prompt: 'b', n: 2 }] },
      { idem: idemKey('dim-batch') },
    );
    expect([batch.status, batch.body.reserved]).toEqual([202, '2.673']);
    await waitFinished(t(), `/v1/batches/${batch.body.id}`);
    expect(await wallet('dim_none')).toEqual({ available: '12.327', held: '0.000' });
    const tx = await call(t(), 'GET', '/v1/wallets/dim_none/transactions?limit=50');
    expect(tx.body.data.filter((d: { type: string }) => d.type === 'reserve')).toHaveLength(2);
  });

  it('a price change between reserve and settle charges the version reserved; the next request pays the new one', async () => {
    await call(t(), 'PUT', '/v1/wallets/dim_change');
    const slow = await generate({
      owner_id: 'dim_change',
      variant: 'gpt-image-1',
      prompt: 'slow [fake:delay_ms=1500]',
      quality: 'high',
      size: '1024x1024',
    });
    expect([slow.status, slow.body.reserved]).toEqual([202, '3.540']);
    const change = await call(
      t(),
      'PUT',
      '/v1/admin/prices/gpt-image-1',
      { tokens: '4.000', dimensions: { size: '1024x1024', quality: 'high' }, reason: 'provider price rise' },
      { key: t().adminKey, idem: idemKey('dim-change') },
    );
    expect([change.status, change.body.version, change.body.dimensions, change.body.tokens]).toEqual([
      200,
      2,
      { quality: 'high', size: '1024x1024' },
      '4.000',
    ]);
    // The other combinations keep their version.
    expect((await call(t(), 'GET', '/v1/prices/gpt-image-1?size=1024x1536&quality=high')).body).toMatchObject({
      version: 1,
      tokens: '5.300',
    });
    const g = await waitFinished(t(), `/v1/generations/${slow.body.id}`);
    expect([g.status, g.tokens_used, g.price.version]).toEqual(['succeeded', '3.540', 1]);
    const res = await call(t(), 'GET', `/v1/reservations/${slow.body.reservation_id}`);
    expect([res.body.settled, res.body.price_version]).toEqual(['3.540', 1]);
    const next = await generate({ owner_id: 'dim_change', variant: 'gpt-image-1', prompt: 'after', quality: 'high', size: '1024x1024' });
    expect([next.body.reserved, next.body.price.version]).toEqual(['4.000', 2]);
    expect((await waitFinished(t(), `/v1/generations/${next.body.id}`)).tokens_used).toBe('4.000');
    expect(await wallet('dim_change')).toEqual({ available: '7.460', held: '0.000' });
  });
});

function fmt(mt: bigint): string {
  return `${mt / 1000n}.${(mt % 1000n).toString().padStart(3, '0')}`;
}
