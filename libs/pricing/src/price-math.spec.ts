import { describe, expect, it } from '@jest/globals';
import { formatTokens, formatUsd } from '@app/common';
import { costAt, matchPrice, priceOf, PriceVersion, ProviderCost, versionAt } from './price-math.js';

const v = (
  version: number,
  effectiveAt: string,
  tokens: bigint,
  dimensions: Record<string, string> = {},
  variant = 'gpt-image-1-min',
): PriceVersion => ({
  id: `${variant}:${JSON.stringify(dimensions)}:${version}`,
  variant,
  model: 'models/openai/gpt-image',
  unit: 'image',
  dimensions,
  tokens,
  version,
  active: true,
  isDefault: true,
  effectiveAt: new Date(effectiveAt),
  description: '',
});

describe('price math', () => {
  it('charges n x the unit price exactly', () => {
    expect(formatTokens(priceOf(3_540n, 2))).toBe('7.080');
    expect(formatTokens(priceOf(850n, 10))).toBe('8.500');
    expect(formatUsd(priceOf(3_540n, 3))).toBe('1.062');
    expect(() => priceOf(3_540n, 0)).toThrow(RangeError);
    expect(() => priceOf(3_540n, 1.5)).toThrow(RangeError);
  });

  it('picks the latest version already in effect', () => {
    const versions = [v(1, '2026-01-01T00:00:00Z', 3_540n), v(2, '2026-06-01T00:00:00Z', 4_000n), v(3, '2027-01-01T00:00:00Z', 5_000n)];
    expect(versionAt(versions, new Date('2026-03-01T00:00:00Z'))?.version).toBe(1);
    expect(versionAt(versions, new Date('2026-06-01T00:00:00Z'))?.version).toBe(2);
    expect(versionAt(versions, new Date('2026-11-25T00:00:00Z'))?.tokens).toBe(4_000n);
    expect(versionAt(versions, new Date('2025-01-01T00:00:00Z'))).toBeNull();
  });

  it('breaks a tie of effective time by the higher version', () => {
    const versions = [v(1, '2026-01-01T00:00:00Z', 3_540n), v(2, '2026-01-01T00:00:00Z', 3_000n)];
    expect(versionAt(versions, new Date('2026-02-01T00:00:00Z'))?.version).toBe(2);
  });
});

describe('keyed prices', () => {
  const T0 = '2026-01-01T00:00:00Z';
  const at = new Date('2026-03-01T00:00:00Z');
  const keyed = (version: number, tokens: bigint, dims: Record<string, string>, effectiveAt = T0) =>
    v(version, effectiveAt, tokens, dims, 'gpt-image-1');
  const grid = [
    keyed(1, 234n, { quality: 'low', size: '1024x1024' }),
    keyed(1, 5_300n, { size: '1024x1536', quality: 'high' }),
    keyed(1, 3_865n, { quality: 'high', size: '1024x1024', input_images: '2' }),
  ];
  const matched = (m: ReturnType<typeof matchPrice>) => (m.kind === 'matched' ? m.price.tokens : m.kind);

  it('matches the price of exactly the dimensions asked, whatever their order', () => {
    expect(matched(matchPrice(grid, { size: '1024x1024', quality: 'low' }, at))).toBe(234n);
    expect(matched(matchPrice(grid, { quality: 'high', size: '1024x1536' }, at))).toBe(5_300n);
    expect(matched(matchPrice(grid, { input_images: '2', size: '1024x1024', quality: 'high' }, at, ['input_images']))).toBe(3_865n);
  });

  it('a combination without a price is no_price, naming the keys it is priced by', () => {
    const m = matchPrice(grid, { quality: 'medium', size: '1024x1024' }, at);
    expect(m).toEqual({ kind: 'no_price', keys: ['input_images', 'quality', 'size'], asked: { quality: 'medium', size: '1024x1024' } });
    // A generation (no input_images) never takes an edit's price, nor an edit a generation's.
    expect(matched(matchPrice(grid, { quality: 'high', size: '1024x1024' }, at))).toBe('no_price');
    expect(matched(matchPrice(grid, { quality: 'low', size: '1024x1024', input_images: '1' }, at, ['input_images']))).toBe('no_price');
    expect(matched(matchPrice([], { quality: 'low' }, at))).toBe('no_variant');
  });

  it('a flat variant ignores the dimensions it is not priced by, except a strict one', () => {
    const flat = [v(1, T0, 3_540n)];
    expect(matched(matchPrice(flat, { size: '1024x1024', quality: 'high' }, at))).toBe(3_540n);
    expect(matched(matchPrice(flat, { size: '1024x1024', input_images: '1' }, at, ['input_images']))).toBe('no_price');
  });

  it('versions count per combination: a new version of one leaves the others as they were', () => {
    const later = [...grid, keyed(2, 300n, { quality: 'low', size: '1024x1024' }, '2026-02-01T00:00:00Z')];
    expect(matched(matchPrice(later, { quality: 'low', size: '1024x1024' }, at))).toBe(300n);
    expect(matched(matchPrice(later, { quality: 'low', size: '1024x1024' }, new Date('2026-01-15T00:00:00Z')))).toBe(234n);
    expect(matched(matchPrice(later, { quality: 'high', size: '1024x1536' }, at))).toBe(5_300n);
    const withdrawn = [...grid, { ...keyed(2, 234n, { quality: 'low', size: '1024x1024' }, '2026-02-01T00:00:00Z'), active: false }];
    expect(matched(matchPrice(withdrawn, { quality: 'low', size: '1024x1024' }, at))).toBe('no_price');
  });

  it('a cost is the most specific row the request has, or unknown', () => {
    const c = (dims: Record<string, string>, micro: bigint, effectiveAt = T0): ProviderCost => ({
      variant: 'gpt-image-1-min',
      dimensions: dims,
      costMicroUsd: micro,
      effectiveAt: new Date(effectiveAt),
    });
    const costs = [c({}, 167_000n), c({ quality: 'low' }, 11_000n), c({ quality: 'low' }, 9_000n, '2027-01-01T00:00:00Z')];
    expect(costAt(costs, { quality: 'low', size: '1024x1024' }, at)).toBe(11_000n);
    expect(costAt(costs, { quality: 'low' }, new Date('2027-06-01T00:00:00Z'))).toBe(9_000n);
    expect(costAt(costs, { size: '1024x1024' }, at)).toBe(167_000n);
    expect(costAt(costs.slice(1), { quality: 'high' }, at)).toBeNull();
  });
});
