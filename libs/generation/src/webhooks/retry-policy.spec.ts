import { describe, expect, it } from '@jest/globals';
import type { MinimalJob } from 'bullmq';
import { backoffDelay } from '@app/common';
import { attemptsForWindow, webhookBackoffStrategy } from './retry-policy.js';

const DAY_MS = 86_400_000;

function fakeJob(deadline: number, delay = 2_000): MinimalJob {
  return { data: { deadline }, opts: { backoff: { type: 'webhook', delay } } } as unknown as MinimalJob;
}

describe('webhook retry policy', () => {
  it('budgets enough attempts for the shortest waits to span the window', () => {
    const attempts = attemptsForWindow(DAY_MS, 2_000);
    const span = (n: number) => Array.from({ length: n - 1 }, (_, i) => backoffDelay(i + 1, 2_000, 1)).reduce((a, b) => a + b, 0);
    expect(span(attempts)).toBeGreaterThanOrEqual(DAY_MS);
    expect(span(attempts - 1)).toBeLessThan(DAY_MS);
    expect(attempts).toBe(41);
    expect(attemptsForWindow(DAY_MS, 100)).toBeGreaterThan(attempts);
  });

  it('stops retrying once the next attempt would fall after the deadline', async () => {
    const now = Date.now();
    const err = new Error('500');
    expect(await webhookBackoffStrategy(1, 'webhook', err, fakeJob(now + DAY_MS))).toBeGreaterThanOrEqual(1_600);
    expect(await webhookBackoffStrategy(1, 'webhook', err, fakeJob(now + 1_000))).toBe(-1);
    expect(await webhookBackoffStrategy(20, 'webhook', err, fakeJob(now + 1_800_000))).toBe(-1);
  });
});
