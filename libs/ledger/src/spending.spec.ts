import { describe, expect, it } from '@jest/globals';
import { availableOf, compareSpending, planSpend, SpendableBucket, splitSettlement } from './spending.js';
import { isoWeek, nextWeekStart, weekStart } from './weeks.js';

const now = new Date('2026-11-25T12:00:00Z');
const day = (n: number) => new Date(now.getTime() + n * 86_400_000);
const b = (
  id: string,
  source: SpendableBucket['source'],
  remaining: bigint,
  expiresAt: Date | null,
  createdAt = day(-10),
): SpendableBucket => ({
  id,
  source,
  remaining,
  expiresAt,
  createdAt,
});

describe('spending order', () => {
  it('spends the soonest expiry first and no expiry last', () => {
    const list = [b('never', 'promo', 1n, null), b('late', 'purchase', 1n, day(30)), b('soon', 'purchase', 1n, day(1))];
    expect(list.sort(compareSpending).map((x) => x.id)).toEqual(['soon', 'late', 'never']);
  });

  it('breaks expiry ties free/promo, then plan, then purchase', () => {
    const list = [b('purchase', 'purchase', 1n, day(5)), b('plan', 'plan', 1n, day(5)), b('free', 'free_weekly', 1n, day(5))];
    expect(list.sort(compareSpending).map((x) => x.id)).toEqual(['free', 'plan', 'purchase']);
    const open = [b('p', 'purchase', 1n, null), b('promo', 'promo', 1n, null)];
    expect(open.sort(compareSpending).map((x) => x.id)).toEqual(['promo', 'p']);
  });

  it('then the oldest first', () => {
    const list = [b('new', 'purchase', 1n, null, day(-1)), b('old', 'purchase', 1n, null, day(-5))];
    expect(list.sort(compareSpending).map((x) => x.id)).toEqual(['old', 'new']);
  });
});

describe('planSpend', () => {
  const wallet = [b('purchase', 'purchase', 10_000n, null), b('free', 'free_weekly', 15_000n, day(3)), b('gone', 'promo', 5_000n, day(-1))];

  it('takes from buckets in order across several', () => {
    expect(planSpend(wallet, 20_000n, now)).toEqual([
      { bucketId: 'free', amount: 15_000n },
      { bucketId: 'purchase', amount: 5_000n },
    ]);
  });

  it('ignores expired buckets and refuses more than is available', () => {
    expect(availableOf(wallet, now)).toBe(25_000n);
    expect(planSpend(wallet, 25_001n, now)).toBeNull();
    expect(planSpend(wallet, 25_000n, now)?.map((f) => f.bucketId)).toEqual(['free', 'purchase']);
  });

  it('rejects a non-positive amount', () => {
    expect(() => planSpend(wallet, 0n, now)).toThrow(RangeError);
  });
});

describe('splitSettlement', () => {
  const funding = [
    { bucketId: 'a', amount: 2_000n },
    { bucketId: 'b', amount: 3_000n },
  ];
  it('charges the first fundings and returns the rest', () => {
    expect(splitSettlement(funding, 2_500n)).toEqual({
      charged: [
        { bucketId: 'a', amount: 2_000n },
        { bucketId: 'b', amount: 500n },
      ],
      returned: [{ bucketId: 'b', amount: 2_500n }],
    });
  });
  it('returns everything on zero and nothing on the full amount', () => {
    expect(splitSettlement(funding, 0n).returned).toEqual(funding);
    expect(splitSettlement(funding, 5_000n).returned).toEqual([]);
    expect(() => splitSettlement(funding, 5_001n)).toThrow(RangeError);
  });
});

describe('ISO weeks', () => {
  it.each([
    ['2026-11-25T12:00:00Z', '2026-W48', '2026-11-23T00:00:00.000Z'],
    ['2026-11-23T00:00:00Z', '2026-W48', '2026-11-23T00:00:00.000Z'],
    ['2026-11-22T23:59:59Z', '2026-W47', '2026-11-16T00:00:00.000Z'],
    ['2021-01-03T10:00:00Z', '2020-W53', '2020-12-28T00:00:00.000Z'],
    ['2024-12-30T10:00:00Z', '2025-W01', '2024-12-30T00:00:00.000Z'],
  ])('%s is in %s starting %s', (at, week, start) => {
    const d = new Date(at);
    expect(isoWeek(d)).toBe(week);
    expect(weekStart(d).toISOString()).toBe(start);
    expect(nextWeekStart(d).getTime() - weekStart(d).getTime()).toBe(7 * 86_400_000);
  });
});
