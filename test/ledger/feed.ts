import { expect } from '@jest/globals';
import { Database } from '@app/common';
import { call, TestApp } from '../support/app.js';

export interface FeedEvent {
  id: string;
  seq: number;
  type: string;
  created_at: string;
  owner_id: string;
  data: Record<string, any>;
}

const mt = (tokens: string) => Math.round(Number(tokens) * 1000);

/** A consumer of GET /v1/events that follows next_cursor, as a gateway would. */
export class FeedConsumer {
  events: FeedEvent[] = [];
  cursor: string | null = null;
  private stopping = false;

  constructor(
    private readonly t: TestApp | (() => TestApp),
    private readonly opts: { ownerId?: string; limit?: number; base?: () => string } = {},
  ) {}

  private app(): TestApp {
    return typeof this.t === 'function' ? this.t() : this.t;
  }

  /** One page; false when it was empty (or the API was unreachable: a consumer just polls again). */
  async poll(): Promise<boolean> {
    const q = new URLSearchParams({ limit: String(this.opts.limit ?? 100) });
    if (this.opts.ownerId) q.set('owner_id', this.opts.ownerId);
    if (this.cursor) q.set('after', this.cursor);
    let page;
    try {
      page = await call(this.app(), 'GET', `/v1/events?${q.toString()}`);
    } catch {
      return false;
    }
    if (page.status !== 200) return false;
    this.events.push(...(page.body.data as FeedEvent[]));
    this.cursor = page.body.next_cursor;
    return page.body.data.length > 0;
  }

  /** Polls until stopped. */
  async follow(): Promise<void> {
    while (!this.stopping) {
      if (!(await this.poll())) await new Promise((r) => setTimeout(r, 5));
    }
  }

  async stop(following: Promise<void>): Promise<void> {
    this.stopping = true;
    await following;
    this.stopping = false;
  }

  /** Reads to the end of what is committed now. */
  async drain(): Promise<void> {
    while (await this.poll());
  }
}

/**
 * What a consumer got is the ledger's stream exactly: every event once, each
 * wallet's numbered 1..n in order, and replaying balance_change gives every
 * wallet's buckets total and held amount.
 */
export async function expectFeedMatchesLedger(t: TestApp, feed: FeedConsumer, owners: string[]): Promise<void> {
  const ids = feed.events.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  const positions = ids.map((id) => Number(id.slice(4)));
  for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]);
  const rows = await t.app.get(Database).query<{ owner_id: string; n: number; available: string; held: string }>(
    `SELECT w.owner_id, (SELECT count(*)::int FROM events e WHERE e.wallet_id = w.id) AS n,
            (SELECT coalesce(sum(remaining), 0)::text FROM buckets b WHERE b.wallet_id = w.id) AS available,
            (SELECT coalesce(sum(reserved), 0)::text FROM reservations r WHERE r.wallet_id = w.id AND r.status = 'pending') AS held
     FROM wallets w WHERE w.owner_id = ANY ($1)`,
    [owners],
  );
  expect(rows).toHaveLength(owners.length);
  for (const row of rows) {
    const mine = feed.events.filter((e) => e.owner_id === row.owner_id);
    expect([row.owner_id, mine.map((e) => e.seq)]).toEqual([row.owner_id, Array.from({ length: row.n }, (_, i) => i + 1)]);
    let available = 0;
    let held = 0;
    for (const e of mine) {
      if (!e.data.balance_change) continue;
      available += mt(e.data.balance_change.available);
      held += mt(e.data.balance_change.held);
    }
    expect([row.owner_id, available, held]).toEqual([row.owner_id, Number(row.available), Number(row.held)]);
  }
}
