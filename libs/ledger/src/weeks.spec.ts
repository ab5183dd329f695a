import { describe, expect, it } from '@jest/globals';
import { isoWeek, nextWeekStart, weekStart } from './weeks.js';

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
