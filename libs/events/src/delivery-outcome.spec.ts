import { describe, expect, it } from '@jest/globals';
import { attemptOutcome, errorText } from './delivery-outcome.js';

describe('attemptOutcome', () => {
  it('is delivered on any 2xx and only then', () => {
    for (const s of [200, 201, 204, 299]) expect(attemptOutcome(s, null)).toEqual({ delivered: true, error: null });
    for (const s of [199, 300, 400, 410, 500, 503]) expect(attemptOutcome(s, null).delivered).toBe(false);
  });

  it('names what went wrong', () => {
    expect(attemptOutcome(302, null).error).toBe('redirects are not followed');
    expect(attemptOutcome(500, null).error).toBe('answered 500');
    expect(attemptOutcome(null, 'ETIMEDOUT: no response within 300 ms')).toEqual({
      delivered: false,
      error: 'ETIMEDOUT: no response within 300 ms',
    });
    expect(attemptOutcome(null, null).error).toBe('no response');
  });

  it('writes errors code first, cut to 1000 characters', () => {
    expect(errorText(Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED: connect refused');
    expect(errorText('x'.repeat(2000))).toHaveLength(1000);
  });
});
