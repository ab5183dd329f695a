import { randomUUID } from 'node:crypto';
import { reservationAge, type Sql } from '@app/common';
import { postTransfer, SYSTEM } from './journal.js';
import type { BucketSource, Funding, SpendableBucket } from './spending.js';
import { isoWeek, nextWeekStart } from './weeks.js';

/**
 * The ledger's statements as plain functions over {@link Sql}, so services run
 * them in TypeORM transactions and the benchmark runs the same ones over `pg`.
 */
export interface WalletRow {
  id: string;
  owner_id: string;
  status: 'active' | 'frozen';
  flagged: boolean;
  free_week: string | null;
  plan: unknown;
  created_at: Date;
}

const WALLET_COLUMNS = 'id, owner_id, status, flagged, free_week, plan, created_at';

/** Takes the wallet's row lock: every change to its buckets and holds happens under it. */
export async function lockWalletByOwner(sql: Sql, ownerId: string): Promise<WalletRow | null> {
  const { rows } = await sql.query<WalletRow>(`SELECT ${WALLET_COLUMNS} FROM wallets WHERE owner_id = $1 FOR UPDATE`, [ownerId]);
  return rows[0] ?? null;
}

export async function lockWalletById(sql: Sql, id: string): Promise<WalletRow> {
  const { rows } = await sql.query<WalletRow>(`SELECT ${WALLET_COLUMNS} FROM wallets WHERE id = $1 FOR UPDATE`, [id]);
  if (!rows[0]) throw new Error(`wallet ${id} vanished`);
  return rows[0];
}

/** Inserts the wallet unless it exists; returns it locked and whether it was created. */
export async function createWallet(sql: Sql, ownerId: string, at: Date): Promise<{ wallet: WalletRow; created: boolean }> {
  const ins = await sql.query<WalletRow>(
    `INSERT INTO wallets (owner_id, created_at, updated_at) VALUES ($1, $2, $2)
     ON CONFLICT (owner_id) DO NOTHING RETURNING ${WALLET_COLUMNS}`,
    [ownerId, at],
  );
  if (ins.rows[0]) return { wallet: ins.rows[0], created: true };
  const wallet = await lockWalletByOwner(sql, ownerId);
  if (!wallet) throw new Error(`wallet ${ownerId} neither inserted nor found`);
  return { wallet, created: false };
}

interface BucketRow {
  id: string;
  source: BucketSource;
  remaining: string;
  expires_at: Date | null;
  created_at: Date;
}

export async function liveBuckets(sql: Sql, walletId: string, now: Date): Promise<SpendableBucket[]> {
  const { rows } = await sql.query<BucketRow>(
    `SELECT id, source, remaining::text, expires_at, created_at FROM buckets
     WHERE wallet_id = $1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $2)`,
    [walletId, now],
  );
  return rows.map((r) => ({
    id: r.id,
    source: r.source,
    remaining: BigInt(r.remaining),
    expiresAt: r.expires_at,
    createdAt: r.created_at,
  }));
}

export interface CreditDraft {
  walletId: string;
  source: BucketSource;
  amount: bigint;
  expiresAt: Date | null;
  /** Unique: a second credit with the same key is a no-op. */
  grantKey: string | null;
  /** The system account the value comes from. */
  from: string;
  kind: 'grant' | 'purchase' | 'plan' | 'refund' | 'adjustment';
  at: Date;
  ref?: string | null;
  metadata?: Record<string, unknown> | null;
}

/** Opens a bucket and funds it from a system account; null when `grantKey` was already credited. */
export async function credit(sql: Sql, d: CreditDraft): Promise<string | null> {
  const id = randomUUID();
  // The account row is inserted only for a bucket that was (the key check of
  // buckets.id -> accounts.id runs at the end of the statement).
  const { rows } = await sql.query<{ id: string }>(
    `WITH b AS (
       INSERT INTO buckets (id, wallet_id, source, granted, remaining, expires_at, grant_key, created_at)
       VALUES ($1, $2, $3, $4, 0, $5, $6, $7)
       ON CONFLICT (grant_key) DO NOTHING RETURNING id
     )
     INSERT INTO accounts (id, kind, wallet_id) SELECT id, 'bucket', $2 FROM b RETURNING id`,
    [id, d.walletId, d.source, d.amount.toString(), d.expiresAt, d.grantKey, d.at],
  );
  if (!rows[0]) return null;
  await postTransfer(sql, {
    walletId: d.walletId,
    kind: d.kind,
    legs: [
      { accountId: d.from, amount: -d.amount },
      { accountId: id, amount: d.amount },
    ],
    at: d.at,
    ref: d.ref ?? d.grantKey,
    metadata: { source: d.source, bucket_id: id, ...(d.metadata ?? {}) },
  });
  return id;
}

/**
 * The weekly free grant, lazily: the first locked operation of an ISO week
 * credits it, keyed by wallet and week so it can never be given twice. The
 * wallet's `free_week` lets every later operation that week skip the check.
 */
export async function ensureWeeklyGrant(sql: Sql, wallet: WalletRow, amount: bigint, now: Date): Promise<void> {
  const week = isoWeek(now);
  if (amount <= 0n || wallet.free_week === week) return;
  await credit(sql, {
    walletId: wallet.id,
    source: 'free_weekly',
    amount,
    expiresAt: nextWeekStart(now),
    grantKey: `free_weekly:${wallet.id}:${week}`,
    from: SYSTEM.promotionalGrants,
    kind: 'grant',
    at: now,
    ref: `free_weekly:${week}`,
  });
  await sql.query(`UPDATE wallets SET free_week = $2, updated_at = $3 WHERE id = $1`, [wallet.id, week, now]);
  wallet.free_week = week;
}

export interface ReservationRow {
  id: string;
  wallet_id: string;
  status: 'pending' | 'settled' | 'released' | 'expired';
  reserved: string;
  settled: string;
  released: string;
  funding: { bucket_id: string; amount: string }[];
  expires_at: Date;
  price_id: string | null;
  price_version: number | null;
  variant: string | null;
  quantity: number | null;
  ref: string | null;
  metadata: Record<string, unknown> | null;
  created_at: Date;
  finished_at: Date | null;
}

export interface HoldDraft {
  id: string;
  walletId: string;
  amount: bigint;
  funding: Funding[];
  expiresAt: Date;
  at: Date;
  priceId?: string | null;
  priceVersion?: number | null;
  variant?: string | null;
  quantity?: number | null;
  ref?: string | null;
  metadata?: Record<string, unknown> | null;
}

/** Moves the funding from the buckets to pending holds and records the reservation. */
export async function hold(sql: Sql, d: HoldDraft): Promise<ReservationRow> {
  await postTransfer(sql, {
    walletId: d.walletId,
    kind: 'reserve',
    legs: [...d.funding.map((f) => ({ accountId: f.bucketId, amount: -f.amount })), { accountId: SYSTEM.pendingHolds, amount: d.amount }],
    at: d.at,
    ref: d.id,
    metadata: d.ref ? { ref: d.ref } : null,
  });
  const { rows } = await sql.query<ReservationRow>(
    `INSERT INTO reservations (id, wallet_id, status, reserved, funding, expires_at, price_id, price_version, variant, quantity, ref, metadata, created_at)
     VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     RETURNING *, reserved::text, settled::text, released::text, price_id::text`,
    [
      d.id,
      d.walletId,
      d.amount.toString(),
      JSON.stringify(d.funding.map((f) => ({ bucket_id: f.bucketId, amount: f.amount.toString() }))),
      d.expiresAt,
      d.priceId ?? null,
      d.priceVersion ?? null,
      d.variant ?? null,
      d.quantity ?? null,
      d.ref ?? null,
      d.metadata ? JSON.stringify(d.metadata) : null,
      d.at,
    ],
  );
  return rows[0];
}

export async function findReservation(sql: Sql, id: string): Promise<ReservationRow | null> {
  const { rows } = await sql.query<ReservationRow>(
    `SELECT *, reserved::text, settled::text, released::text, price_id::text FROM reservations WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export function fundingOf(r: ReservationRow): Funding[] {
  return r.funding.map((f) => ({ bucketId: f.bucket_id, amount: BigInt(f.amount) }));
}

/**
 * Finishes a pending reservation: `charged` goes to revenue, `returned` back
 * to its buckets. The conditional UPDATE (status = 'pending') is the last
 * guard against finishing a reservation twice.
 */
export async function finish(
  sql: Sql,
  r: ReservationRow,
  status: 'settled' | 'released' | 'expired',
  charge: bigint,
  returned: Funding[],
  at: Date,
): Promise<ReservationRow> {
  const reserved = BigInt(r.reserved);
  await postTransfer(sql, {
    walletId: r.wallet_id,
    kind: status === 'settled' ? 'settle' : status === 'released' ? 'release' : 'expire',
    legs: [
      { accountId: SYSTEM.pendingHolds, amount: -reserved },
      { accountId: SYSTEM.revenue, amount: charge },
      ...returned.map((f) => ({ accountId: f.bucketId, amount: f.amount })),
    ],
    at,
    ref: r.id,
    metadata: r.ref ? { ref: r.ref } : null,
  });
  const { rows } = await sql.query<ReservationRow>(
    `UPDATE reservations SET status = $2, settled = $3, released = $4, finished_at = $5
     WHERE id = $1 AND status = 'pending'
     RETURNING *, reserved::text, settled::text, released::text, price_id::text`,
    [r.id, status, charge.toString(), (reserved - charge).toString(), at],
  );
  if (!rows[0]) throw new Error(`reservation ${r.id} was finished concurrently despite the wallet lock`);
  reservationAge.observe({ status }, (at.getTime() - r.created_at.getTime()) / 1000);
  return rows[0];
}
