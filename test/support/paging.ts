import { expect } from '@jest/globals';
import { call, TestApp } from './app.js';

/**
 * Follows next_cursor from the first page to the last and returns every item
 * in the order served. `path` may carry a query already; each page must be
 * a 200 of at most `limit` items.
 */
export async function allPages<T>(t: TestApp, path: string, limit: number, key = t.gatewayKey): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  const sep = path.includes('?') ? '&' : '?';
  for (let page = 0; page < 1000; page++) {
    const r = await call(t, 'GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, {
      key,
    });
    expect([r.status, r.body?.code]).toEqual([200, undefined]);
    expect(r.body.data.length).toBeLessThanOrEqual(limit);
    items.push(...(r.body.data as T[]));
    cursor = r.body.next_cursor as string | null;
    if (!cursor) return items;
  }
  throw new Error(`${path}: next_cursor never ran out`);
}

/** Newest first, ties on created_at broken by id descending (`byId` compares two ids). */
export function expectNewestFirst<T extends { id: string; created_at: string }>(items: T[], byId: (a: string, b: string) => number): void {
  for (let i = 1; i < items.length; i++) {
    const [a, b] = [items[i - 1], items[i]];
    const order = a.created_at === b.created_at ? byId(a.id, b.id) : Date.parse(a.created_at) - Date.parse(b.created_at);
    expect([a.id, b.id, order > 0]).toEqual([a.id, b.id, true]);
  }
}

export const textOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const numericOrder = (a: string, b: string) => {
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};
