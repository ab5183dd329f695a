import { randomUUID } from 'node:crypto';
import { ledgerOperations, type Sql } from '@app/common';

/** System accounts (seeded by the CreateLedger migration). Never locked, never balance-updated. */
export const SYSTEM = {
  stripeClearing: '00000000-0000-4000-8000-000000000001',
  promotionalGrants: '00000000-0000-4000-8000-000000000002',
  revenue: '00000000-0000-4000-8000-000000000003',
  pendingHolds: '00000000-0000-4000-8000-000000000004',
  breakage: '00000000-0000-4000-8000-000000000005',
  chargebackLosses: '00000000-0000-4000-8000-000000000006',
  adjustments: '00000000-0000-4000-8000-000000000007',
} as const;

const SYSTEM_IDS = new Set<string>(Object.values(SYSTEM));

export type TransferKind =
  'grant' | 'reserve' | 'settle' | 'release' | 'expire' | 'purchase' | 'plan' | 'refund' | 'adjustment' | 'clawback';

export interface Leg {
  accountId: string;
  amount: bigint;
}

export interface TransferDraft {
  walletId: string | null;
  kind: TransferKind;
  legs: Leg[];
  at: Date;
  ref?: string | null;
  metadata?: Record<string, unknown> | null;
}

export class UnbalancedTransferError extends Error {}

/** Drops zero legs and checks the rest sum to zero: a transfer that creates or destroys value is a bug. */
export function balancedLegs(legs: Leg[]): Leg[] {
  const kept = legs.filter((l) => l.amount !== 0n);
  const sum = kept.reduce((s, l) => s + l.amount, 0n);
  if (sum !== 0n) throw new UnbalancedTransferError(`transfer legs sum to ${sum}, not 0`);
  if (kept.length < 2) throw new UnbalancedTransferError('a transfer needs at least two non-zero legs');
  return kept;
}

/**
 * Posts one transfer: the transfer row, its entries, and the `remaining` of
 * every bucket it touches, in one statement. The caller holds the wallet lock;
 * system accounts get entries only, so they never become hot rows. The
 * buckets' CHECK (remaining >= 0) refuses any overdraft.
 */
export async function postTransfer(sql: Sql, draft: TransferDraft): Promise<string> {
  const legs = balancedLegs(draft.legs);
  const id = randomUUID();
  const bucketLegs = legs.filter((l) => !SYSTEM_IDS.has(l.accountId));
  const available = bucketLegs.reduce((s, l) => s + l.amount, 0n);
  const buckets = new Set(bucketLegs.map((l) => l.accountId));
  const { rows } = await sql.query<{ updated: string }>(
    `WITH t AS (
       INSERT INTO transfers (id, wallet_id, kind, amount, ref, metadata, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
     ), e AS (
       INSERT INTO entries (transfer_id, account_id, wallet_id, amount)
       SELECT $1, x.a, $2, x.m FROM unnest($8::uuid[], $9::bigint[]) AS x(a, m)
     ), b AS (
       UPDATE buckets SET remaining = buckets.remaining + d.m
       FROM (SELECT a, sum(m) AS m FROM unnest($8::uuid[], $9::bigint[]) AS x(a, m) GROUP BY a) AS d
       WHERE buckets.id = d.a
       RETURNING buckets.id
     )
     SELECT count(*)::text AS updated FROM b`,
    [
      id,
      draft.walletId,
      draft.kind,
      available.toString(),
      draft.ref ?? null,
      draft.metadata ? JSON.stringify(draft.metadata) : null,
      draft.at,
      legs.map((l) => l.accountId),
      legs.map((l) => l.amount.toString()),
    ],
  );
  ledgerOperations.inc({ type: draft.kind, outcome: 'ok' });
  if (Number(rows[0]?.updated) !== buckets.size) {
    throw new Error(`transfer ${id} names ${buckets.size} buckets but ${rows[0]?.updated} exist`);
  }
  return id;
}
