import { describe, expect, it } from '@jest/globals';
import { backoffDelay, MAX_BACKOFF_MS } from './backoff.js';

describe('webhook backoff', () => {
  it('doubles from the base and caps each wait at an hour', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 2_000, 0))).toEqual([2_000, 4_000, 8_000, 16_000]);
    expect(backoffDelay(12, 2_000, 0)).toBe(MAX_BACKOFF_MS);
    expect(backoffDelay(1_000, 2_000, 0)).toBe(MAX_BACKOFF_MS);
  });

  it('jitters waits down by at most a fifth', () => {
    expect(backoffDelay(3, 2_000, 1)).toBe(6_400);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(20, 2_000);
      expect(d).toBeGreaterThanOrEqual(MAX_BACKOFF_MS * 0.8);
      expect(d).toBeLessThanOrEqual(MAX_BACKOFF_MS);
    }
  });
});
