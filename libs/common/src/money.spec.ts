import { describe, expect, it } from '@jest/globals';
import { formatTokens, formatUsd, parseTokens, MAX_TOKENS_MT } from './money.js';

describe('parseTokens', () => {
  it.each([
    ['15', 15_000n],
    ['3.54', 3_540n],
    ['3.540', 3_540n],
    ['0.001', 1n],
    ['0.85', 850n],
    [3.54, 3_540n],
    [15, 15_000n],
    [0.001, 1n],
    ['1000000000', MAX_TOKENS_MT],
  ])('parses %p', (input, expected) => {
    expect(parseTokens(input)).toBe(expected);
  });

  it.each([
    ['1.0001', /at most 3 decimal/],
    [1.0001, /at most 3 decimal/],
    [0.1 + 0.2, /at most 3 decimal/],
    ['1e3', /exponent/],
    ['1E3', /exponent/],
    [1e21, /exponent/],
    [1e-7, /exponent/],
    [Number.NaN, /finite/],
    [Number.POSITIVE_INFINITY, /finite/],
    ['NaN', /decimal number/],
    ['Infinity', /decimal number/],
    ['', /decimal number/],
    [' 1', /decimal number/],
    ['1 ', /decimal number/],
    ['+1', /decimal number/],
    ['01', /decimal number/],
    ['1.', /decimal number/],
    ['.5', /decimal number/],
    ['0x10', /decimal number/],
    ['1,5', /decimal number/],
    ['-1', /negative/],
    [-1, /negative/],
    ['0', /greater than zero/],
    ['0.000', /greater than zero/],
    ['1000000000.001', /out of range/],
    [1e15, /out of range/],
    [null, /decimal string or a number/],
    [true, /decimal string or a number/],
    [{}, /decimal string or a number/],
    [[1], /decimal string or a number/],
  ])('rejects %p', (input, reason) => {
    expect(() => parseTokens(input)).toThrow(reason);
  });

  it('accepts negatives and zero only when asked', () => {
    expect(parseTokens('-2.5', { signed: true })).toBe(-2_500n);
    expect(parseTokens('0', { allowZero: true })).toBe(0n);
    expect(() => parseTokens('-1000000000.001', { signed: true })).toThrow(/out of range/);
  });
});

describe('formatting', () => {
  it('writes tokens with exactly three decimals', () => {
    expect(formatTokens(15_000n)).toBe('15.000');
    expect(formatTokens(3_540n)).toBe('3.540');
    expect(formatTokens(1n)).toBe('0.001');
    expect(formatTokens(0n)).toBe('0.000');
    expect(formatTokens(-2_500n)).toBe('-2.500');
  });

  it('writes dollars at 1 token = $0.10', () => {
    expect(formatUsd(3_540n)).toBe('0.354');
    expect(formatUsd(850n)).toBe('0.085');
    expect(formatUsd(15_000n)).toBe('1.500');
    expect(formatUsd(1n)).toBe('0.0001');
  });

  it('round-trips every 3-decimal string', () => {
    for (const s of ['0.001', '3.540', '999999999.999', '12.340']) {
      expect(formatTokens(parseTokens(s))).toBe(s);
    }
  });
});
