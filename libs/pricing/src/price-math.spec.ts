import { describe, expect, it } from '@jest/globals';
import { formatTokens, formatUsd } from '@app/common';
import { priceOf, PriceVersion, versionAt } from './price-math.js';

const v = (version: number, effectiveAt: string, tokens: bigint): PriceVersion => ({
  id: String(version),
  variant: 'gpt-image-1-min',
  model: 'models/openai/gpt-image',
  unit: 'image',
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
