import { describe, expect, it } from '@jest/globals';
import { findExponentNumber, findInexactNumber } from './json-numbers.js';
import { parseJsonBody } from './strict-input.js';

describe('findInexactNumber', () => {
  it.each([
    '{"amount": 0.00099999999999999999}',
    '{"amount": 1.0000000000000001}',
    '{"amount": 1.99999999999999999}',
    '{"amount": -2.00000000000000001}',
    '{"n": 12345678901234567890}',
    '{"items": [{"amount": "1"}, {"amount": 3.5400000000000000001}]}',
    '[0.1, 9007199254740993]',
    '{"metadata": {"t": 0.12345678901234567}}',
    '{"n": 123456789012345678901234567890000000}',
  ])('refuses the digits a double would drop in %s', (text) => {
    expect(findInexactNumber(text)).not.toBeNull();
    expect(() => parseJsonBody(text)).toThrow(/exactly representable/);
  });

  it.each([
    '{"amount": 0.001}',
    '{"amount": 3.540}',
    '{"amount": 1.00000000000000000000}',
    '{"amount": 0.1}',
    '{"n": 9007199254740992}',
    '{"n": 100000000000000000000000}',
    '{"x": 0.000000100000000000000}',
    '{"x": -0.0000000000000000000}',
    '{"ref": "0.00099999999999999999", "s": "\\"12345678901234567890"}',
  ])('keeps %s, whose digits survive parsing (or sit in a string)', (text) => {
    expect(findInexactNumber(text)).toBeNull();
  });

  it('leaves exponents to findExponentNumber', () => {
    expect(findInexactNumber('{"amount": 1.00000000000000001e3}')).toBeNull();
    expect(findExponentNumber('{"amount": 1.00000000000000001e3}')).toBe('1.00000000000000001e3');
  });
});
