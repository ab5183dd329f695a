import type Stripe from 'stripe';

/**
 * What a payment's refunds and disputes add up to, whatever order Stripe
 * sent them in. Each field only grows: refunds are cumulative on the charge
 * (`amount_refunded`), a dispute's amount is fixed, and a dispute moves from
 * open to lost to won (a lost dispute can still be won on appeal; a won one is
 * final). Merging is therefore a join: any order, any repetition, same state.
 */
export type DisputeState = 'open' | 'lost' | 'won';

export interface ReversalState {
  refundedCents: bigint;
  disputedCents: bigint;
  dispute: DisputeState | null;
}

export const NO_REVERSAL: ReversalState = { refundedCents: 0n, disputedCents: 0n, dispute: null };

const RANK: Record<DisputeState, number> = { open: 1, lost: 2, won: 3 };

/**
 * Stripe's dispute statuses in our three: `won`, and the ones where the money
 * was never taken or came back (`warning_closed`: an inquiry that closed,
 * `prevented`); `lost`; everything else is still open.
 */
export function disputeState(status: Stripe.Dispute.Status): DisputeState {
  if (status === 'won' || status === 'warning_closed' || status === 'prevented') return 'won';
  if (status === 'lost') return 'lost';
  return 'open';
}

export function mergeDispute(a: DisputeState | null, b: DisputeState | null): DisputeState | null {
  if (!a) return b;
  if (!b) return a;
  return RANK[b] > RANK[a] ? b : a;
}

export function mergeReversals(a: ReversalState, b: ReversalState): ReversalState {
  return {
    refundedCents: a.refundedCents > b.refundedCents ? a.refundedCents : b.refundedCents,
    disputedCents: a.disputedCents > b.disputedCents ? a.disputedCents : b.disputedCents,
    dispute: mergeDispute(a.dispute, b.dispute),
  };
}

/** A dispute takes the money while it is open or once it is lost; a won one gives it back. */
export const disputing = (s: ReversalState) => s.dispute === 'open' || s.dispute === 'lost';

/** The cents of a payment of `amountCents` that its reversals take back now: never more than was paid. */
export function reversedCents(s: ReversalState, amountCents: bigint): bigint {
  const total = s.refundedCents + (disputing(s) ? s.disputedCents : 0n);
  return total > amountCents ? amountCents : total;
}

/** The share of the tokens bought (`grantedMt`) that those cents paid for: exact for packs, proportional for plans. */
export function reversedTokens(s: ReversalState, amountCents: bigint, grantedMt: bigint): bigint {
  return (grantedMt * reversedCents(s, amountCents)) / amountCents;
}
