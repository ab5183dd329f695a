import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { disputeState, mergeReversals, NO_REVERSAL, type ReversalState, reversedCents, reversedTokens } from './reversal-state.js';

const refund = (c: number): ReversalState => ({ ...NO_REVERSAL, refundedCents: BigInt(c) });
const dispute = (c: number, d: 'open' | 'lost' | 'won'): ReversalState => ({ refundedCents: 0n, disputedCents: BigInt(c), dispute: d });

describe('reversal state', () => {
  it('maps Stripe dispute statuses: won and never-withdrawn ones give back, lost keeps, the rest is open', () => {
    expect(
      ['won', 'warning_closed', 'prevented', 'lost', 'needs_response', 'under_review', 'warning_needs_response'].map(disputeState),
    ).toEqual(['won', 'won', 'won', 'lost', 'open', 'open', 'open']);
  });

  it('counts refunds and open or lost disputes, never more than was paid', () => {
    const s = mergeReversals(refund(200), dispute(300, 'open'));
    expect(reversedCents(s, 500n)).toBe(500n);
    expect(reversedCents(mergeReversals(s, dispute(300, 'won')), 500n)).toBe(200n);
    expect(reversedCents(mergeReversals(s, dispute(300, 'lost')), 500n)).toBe(500n);
    expect(reversedCents(mergeReversals(refund(400), dispute(500, 'open')), 500n)).toBe(500n);
    // A plan's tokens are reversed in proportion: 10% of $99 of 1500 tokens.
    expect(reversedTokens(refund(990), 9900n, 1_500_000n)).toBe(150_000n);
  });

  it('merges events to the same state whatever their order or repetition', () => {
    const event = fc.oneof(
      fc.integer({ min: 0, max: 500 }).map(refund),
      fc
        .tuple(fc.integer({ min: 0, max: 500 }), fc.constantFrom('open' as const, 'lost' as const, 'won' as const))
        .map(([c, d]) => dispute(c, d)),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), fc.func(fc.integer()), (events, rank) => {
        const shuffled = [...events, ...events.slice(0, 2)].sort((a, b) => rank(a) - rank(b));
        expect(shuffled.reduce(mergeReversals, NO_REVERSAL)).toEqual(events.reduce(mergeReversals, NO_REVERSAL));
      }),
    );
    // A dispute closed before it was reported as created ends won, as in the other order.
    expect(mergeReversals(dispute(500, 'won'), dispute(500, 'open')).dispute).toBe('won');
  });
});
