import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { type BucketSource, isoWeek, Ledger, nextWeekStart } from '@app/ledger';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { controlClock, TestClock } from '../support/clock.js';

/**
 * The spending order has one definition, in SQL (ledger_spend_plan and
 * ledger_split, SQL statements since the LeanHotPath migration). This table of cases
 * runs against it: there is no TypeScript copy that could disagree.
 */

const NOW = new Date('2030-03-13T12:00:00.000Z');
const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000);

interface B {
  name: string;
  source: BucketSource;
  tokens: number;
  expires?: Date | null;
  created?: Date;
}

interface Case {
  title: string;
  buckets: B[];
  amount: number;
  /** [bucket name, tokens] in the order they are spent; null when the live buckets hold less. */
  plan: [string, number][] | null;
}

const CASES: Case[] = [
  {
    title: 'an amount that ends exactly where a bucket ends takes nothing of the next',
    buckets: [
      { name: 'soon', source: 'purchase', tokens: 1.5, expires: day(1) },
      { name: 'late', source: 'purchase', tokens: 1, expires: day(2) },
    ],
    amount: 1.5,
    plan: [['soon', 1.5]],
  },
  {
    title: 'an amount that takes the last millitoken of the last bucket',
    buckets: [
      { name: 'a', source: 'promo', tokens: 0.001, expires: day(1) },
      { name: 'b', source: 'promo', tokens: 0.002, expires: day(2) },
    ],
    amount: 0.003,
    plan: [
      ['a', 0.001],
      ['b', 0.002],
    ],
  },
  {
    title: 'soonest expiry first, no expiry last',
    buckets: [
      { name: 'never', source: 'promo', tokens: 1, expires: null },
      { name: 'late', source: 'purchase', tokens: 1, expires: day(30) },
      { name: 'soon', source: 'purchase', tokens: 1, expires: day(1) },
    ],
    amount: 3,
    plan: [
      ['soon', 1],
      ['late', 1],
      ['never', 1],
    ],
  },
  {
    title: 'an expiry tie: free and promo, then refunds and adjustments, then plan, then purchase',
    buckets: [
      { name: 'purchase', source: 'purchase', tokens: 1, expires: day(5) },
      { name: 'plan', source: 'plan', tokens: 1, expires: day(5) },
      { name: 'refund', source: 'refund', tokens: 1, expires: day(5) },
      { name: 'free', source: 'free_weekly', tokens: 1, expires: day(5) },
    ],
    amount: 4,
    plan: [
      ['free', 1],
      ['refund', 1],
      ['plan', 1],
      ['purchase', 1],
    ],
  },
  {
    title: 'no expiry on both: promo before adjustment before purchase',
    buckets: [
      { name: 'p', source: 'purchase', tokens: 2, expires: null },
      { name: 'adj', source: 'adjustment', tokens: 2, expires: null },
      { name: 'promo', source: 'promo', tokens: 2, expires: null },
    ],
    amount: 5,
    plan: [
      ['promo', 2],
      ['adj', 2],
      ['p', 1],
    ],
  },
  {
    title: 'same expiry and source: the oldest first',
    buckets: [
      { name: 'new', source: 'purchase', tokens: 1, created: day(-1) },
      { name: 'old', source: 'purchase', tokens: 1, created: day(-5) },
    ],
    amount: 1,
    plan: [['old', 1]],
  },
  {
    title: 'across several buckets, the last one partly',
    buckets: [
      { name: 'purchase', source: 'purchase', tokens: 10 },
      { name: 'free', source: 'free_weekly', tokens: 15, expires: day(3) },
    ],
    amount: 20,
    plan: [
      ['free', 15],
      ['purchase', 5],
    ],
  },
  {
    title: 'a lapsed bucket is not spent, and more than is live is refused',
    buckets: [
      { name: 'purchase', source: 'purchase', tokens: 10 },
      { name: 'free', source: 'free_weekly', tokens: 15, expires: day(3) },
      { name: 'gone', source: 'promo', tokens: 5, expires: day(-1), created: day(-9) },
    ],
    amount: 26,
    plan: null,
  },
  {
    title: 'a bucket expiring at this very instant is lapsed',
    buckets: [
      { name: 'now', source: 'promo', tokens: 1, expires: NOW, created: day(-2) },
      { name: 'later', source: 'promo', tokens: 1, expires: day(1) },
    ],
    amount: 1,
    plan: [['later', 1]],
  },
  {
    title: 'the exact amount available empties every bucket',
    buckets: [
      { name: 'a', source: 'plan', tokens: 3, expires: day(20) },
      { name: 'b', source: 'purchase', tokens: 4 },
    ],
    amount: 7,
    plan: [
      ['a', 3],
      ['b', 4],
    ],
  },
];

/** [funding tokens], charge -> [charged, returned] per funding, in order. */
const SPLITS: { funding: number[]; charge: number; charged: number[]; returned: number[] }[] = [
  { funding: [2, 3], charge: 2.5, charged: [2, 0.5], returned: [0, 2.5] },
  { funding: [2, 3], charge: 0, charged: [0, 0], returned: [2, 3] },
  { funding: [2, 3], charge: 5, charged: [2, 3], returned: [0, 0] },
  { funding: [1, 1, 1], charge: 2, charged: [1, 1, 0], returned: [0, 0, 1] },
  { funding: [0.001], charge: 0.001, charged: [0.001], returned: [0] },
  { funding: [2, 3], charge: 2, charged: [2, 0], returned: [0, 3] },
  { funding: [1, 2, 3, 4], charge: 6, charged: [1, 2, 3, 0], returned: [0, 0, 0, 4] },
  { funding: [0.5, 0.5, 0.5], charge: 1.499, charged: [0.5, 0.5, 0.499], returned: [0, 0, 0.001] },
];

const mt = (tokens: number) => BigInt(Math.round(tokens * 1000));

describe('the spending order (one definition, in SQL)', () => {
  let t: TestApp;
  let db: Database;
  let ledger: Ledger;
  let clock: TestClock;
  let n = 0;

  beforeAll(async () => {
    t = await startApp({ FREE_WEEKLY_TOKENS: '0' });
    db = t.app.get(Database);
    ledger = t.app.get(Ledger);
    clock = controlClock(t, NOW);
  });
  afterAll(async () => {
    clock.restore();
    await expectLedgerConsistent(t);
    await t.close();
  });

  it.each(CASES)('$title', async (c) => {
    const owner = `spend_${n++}`;
    const put = await call(t, 'PUT', `/v1/wallets/${owner}`);
    expect([put.status, put.body]).toMatchObject([201, {}]);
    const ids = new Map<string, string>();
    await db.transaction(async (tx) => {
      const w = await ledger.lock(tx, { ownerId: owner }, NOW);
      for (const b of c.buckets) {
        const id = await ledger.credit(
          tx,
          {
            walletId: w.id,
            source: b.source,
            amount: mt(b.tokens),
            expiresAt: b.expires ?? null,
            from: 'promotionalGrants',
            kind: 'grant',
          },
          b.created ?? day(-10),
        );
        ids.set(id as string, b.name);
      }
    });
    const rows = await db.query<{ bucket_id: string; amount: string }>(
      `SELECT p.bucket_id, p.amount::text FROM wallets w, ledger_spend_plan(w.id, $2, $3) p WHERE w.owner_id = $1`,
      [owner, mt(c.amount).toString(), NOW],
    );
    const plan = rows.map((r): [string, number] => [ids.get(r.bucket_id) as string, Number(r.amount) / 1000]);
    const funded = rows.reduce((s, r) => s + BigInt(r.amount), 0n);
    expect(funded === mt(c.amount) ? plan : null).toEqual(c.plan);

    // And a reservation of that amount takes exactly that plan, or is refused.
    const res = await call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount: String(c.amount) }, { idem: idemKey('spend') });
    if (c.plan === null) {
      expect([res.status, res.body.code]).toEqual([402, 'insufficient_funds']);
    } else {
      expect(res.status).toBe(201);
      const [r] = await db.query<{ funding: { bucket_id: string; amount: string }[] }>(`SELECT funding FROM reservations WHERE id = $1`, [
        res.body.id,
      ]);
      expect(r.funding.map((f) => [ids.get(f.bucket_id), Number(f.amount) / 1000])).toEqual(c.plan);
    }
  });

  it.each(SPLITS)('settling $charge of $funding charges the fundings in order', async (s) => {
    const funding = s.funding.map((tokens, i) => ({
      bucket_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      amount: mt(tokens).toString(),
    }));
    const rows = await db.query<{ charged: string; returned: string }>(`SELECT charged::text, returned::text FROM ledger_split($1, $2)`, [
      JSON.stringify(funding),
      mt(s.charge).toString(),
    ]);
    expect(rows.map((r) => Number(r.charged) / 1000)).toEqual(s.charged);
    expect(rows.map((r) => Number(r.returned) / 1000)).toEqual(s.returned);
  });

  it.each(['2030-03-13T12:00:00Z', '2021-01-03T10:00:00Z', '2024-12-30T00:00:00Z', '2026-12-27T23:59:59.999Z', '2027-01-04T00:00:00Z'])(
    'the SQL ISO week of %s is the one the wallet view checks',
    async (at) => {
      const d = new Date(at);
      const [r] = await db.query<{ week: string; next: Date }>(
        `SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week,
           (date_trunc('week', $1::timestamptz AT TIME ZONE 'UTC') + interval '7 days') AT TIME ZONE 'UTC' AS next`,
        [d],
      );
      expect([r.week, r.next.toISOString()]).toEqual([isoWeek(d), nextWeekStart(d).toISOString()]);
    },
  );
});
