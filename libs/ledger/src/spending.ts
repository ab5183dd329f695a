/**
 * Pure spending decisions (spec section 4, "Spending order"), kept apart from
 * I/O so they are tested without a database.
 */
export type BucketSource = 'free_weekly' | 'promo' | 'plan' | 'purchase' | 'refund' | 'adjustment';

export interface SpendableBucket {
  id: string;
  source: BucketSource;
  remaining: bigint;
  expiresAt: Date | null;
  createdAt: Date;
}

export interface Funding {
  bucketId: string;
  amount: bigint;
}

/**
 * Free and promotional tokens go first (they are given away and lapse),
 * refunds and adjustments next (they replace tokens the customer had), then
 * plan tokens (they lapse at period end), purchases last (paid for, and what
 * a refund would claw back).
 */
export const SOURCE_RANK: Record<BucketSource, number> = {
  free_weekly: 0,
  promo: 0,
  refund: 1,
  adjustment: 1,
  plan: 2,
  purchase: 3,
};

/** Soonest expiry first (no expiry last), then by source, then oldest, then id for a total order. */
export function compareSpending(a: SpendableBucket, b: SpendableBucket): number {
  const ea = a.expiresAt ? a.expiresAt.getTime() : Number.POSITIVE_INFINITY;
  const eb = b.expiresAt ? b.expiresAt.getTime() : Number.POSITIVE_INFINITY;
  if (ea !== eb) return ea < eb ? -1 : 1;
  const ra = SOURCE_RANK[a.source];
  const rb = SOURCE_RANK[b.source];
  if (ra !== rb) return ra - rb;
  const ca = a.createdAt.getTime();
  const cb = b.createdAt.getTime();
  if (ca !== cb) return ca - cb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function isLive(b: Pick<SpendableBucket, 'remaining' | 'expiresAt'>, now: Date): boolean {
  return b.remaining > 0n && (b.expiresAt === null || b.expiresAt.getTime() > now.getTime());
}

export function availableOf(buckets: SpendableBucket[], now: Date): bigint {
  return buckets.reduce((sum, b) => (isLive(b, now) ? sum + b.remaining : sum), 0n);
}

/** Which buckets pay `amount`, in spending order; null when the live buckets hold less. */
export function planSpend(buckets: SpendableBucket[], amount: bigint, now: Date): Funding[] | null {
  if (amount <= 0n) throw new RangeError('amount must be positive');
  const plan: Funding[] = [];
  let left = amount;
  for (const b of buckets.filter((x) => isLive(x, now)).sort(compareSpending)) {
    if (left === 0n) break;
    const take = b.remaining < left ? b.remaining : left;
    plan.push({ bucketId: b.id, amount: take });
    left -= take;
  }
  return left === 0n ? plan : null;
}

/**
 * Splits a hold's funding when `charge` of it is settled: the charge comes
 * from the fundings in the order they were taken (so the settled part is what
 * the spending order would have spent), the rest goes back where it came from.
 */
export function splitSettlement(funding: Funding[], charge: bigint): { charged: Funding[]; returned: Funding[] } {
  const total = funding.reduce((s, f) => s + f.amount, 0n);
  if (charge < 0n || charge > total) throw new RangeError('charge must be between 0 and the funded amount');
  const charged: Funding[] = [];
  const returned: Funding[] = [];
  let left = charge;
  for (const f of funding) {
    const c = f.amount < left ? f.amount : left;
    left -= c;
    if (c > 0n) charged.push({ bucketId: f.bucketId, amount: c });
    if (f.amount - c > 0n) returned.push({ bucketId: f.bucketId, amount: f.amount - c });
  }
  return { charged, returned };
}
