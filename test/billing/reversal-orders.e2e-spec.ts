import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MaintenanceService } from '@app/ledger';
import fc from 'fast-check';
import type Stripe from 'stripe';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { call, expectLedgerConsistent, idemKey, TestApp } from '../support/app.js';
import { controlClock, type TestClock } from '../support/clock.js';
import { checkout, startBillingApp } from './support.js';

/**
 * One payment, every order: a pack of 50 tokens ($5) is credited, refunded
 * $2 (20 tokens), disputed $3 (30 tokens), the dispute won; meanwhile 30
 * tokens are held, and the hold released, settled in part (10) or expired.
 * The Stripe events are signed and delivered over HTTP to the app, the wallet
 * operations go through its API; a small model says what the wallet must show.
 */
const STEPS = ['purchase', 'refund', 'dispute', 'won', 'hold', 'release', 'settle', 'expiry'] as const;
type Step = (typeof STEPS)[number];

const PACK = 50;
const REFUND = 20;
const DISPUTE = 30;
const HOLD = 30;
const SETTLE = 10;

/**
 * What the spec says, not how the ledger does it: reversed tokens never come
 * back (a refund always, a dispute unless won), held tokens are the hold's,
 * spent tokens are gone; what is left is available, never below zero. A
 * dispute freezes the wallet from when both it and the payment are known
 * until it is won.
 */
class Model {
  credited = false;
  refunded = false;
  disputed = false;
  won = false;
  settled = 0;
  holds: number[] = [];

  get reversed() {
    return (this.refunded ? REFUND : 0) + (this.disputed && !this.won ? DISPUTE : 0);
  }
  get frozen() {
    return this.credited && this.disputed && !this.won;
  }
  get held() {
    return this.holds.reduce((a, b) => a + b, 0);
  }
  get available() {
    return this.credited ? Math.max(0, PACK - this.settled - this.held - this.reversed) : 0;
  }
  /** The status a hold of HOLD tokens must get now. */
  holdStatus() {
    if (this.frozen) return 423;
    return HOLD <= this.available ? 201 : 402;
  }
}

const tokens = (n: number) => `${n}.000`;

describe('Stripe reversals and holds of one payment, in every order', () => {
  let t: TestApp;
  let stripe: FakeStripe;
  let clock: TestClock;
  let runs = 0;
  beforeAll(async () => {
    ({ t, stripe } = await startBillingApp({ FREE_WEEKLY_TOKENS: '0' }));
    clock = controlClock(t, new Date());
  });
  afterAll(async () => {
    clock.restore();
    await expectLedgerConsistent(t);
    await t.close();
    await stripe.close();
  });

  /** A paid pack and its refund, dispute and won dispute, built but not delivered. */
  async function payment(owner: string): Promise<Record<'purchase' | 'refund' | 'dispute' | 'won', Stripe.Event>> {
    expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const id = await checkout(t, owner, { pack_id: 'pack_50' });
    const [purchase] = (await stripe.completeCheckout(id, { deliver: false })).events;
    const pi = stripe.sessions.get(id)!.payment_intent as string;
    const [refund] = (await stripe.refund(pi, REFUND * 10, { deliver: false })).events;
    const [dispute] = (await stripe.dispute(pi, DISPUTE * 10, { deliver: false })).events;
    const [won] = (await stripe.closeDispute(pi, 'won', { deliver: false })).events;
    return { purchase, refund, dispute, won };
  }

  /** `verify`: check every ledger invariant after this run (only where no other run is in flight). */
  async function run(steps: Step[], verify = false): Promise<void> {
    const owner = `order_${++runs}`;
    const events = await payment(owner);
    const m = new Model();
    const pending: string[] = [];
    const done = (what: string) => `${owner} after ${what} of [${steps.join(', ')}]`;
    for (const step of steps) {
      switch (step) {
        case 'purchase':
        case 'refund':
        case 'dispute':
        case 'won': {
          expect([done(step), await stripe.deliver(events[step])]).toEqual([done(step), 200]);
          if (step === 'purchase') m.credited = true;
          if (step === 'refund') m.refunded = true;
          if (step === 'dispute') m.disputed = true;
          if (step === 'won') m.won = true;
          break;
        }
        case 'hold': {
          const want = m.holdStatus();
          const r = await call(
            t,
            'POST',
            `/v1/wallets/${owner}/reservations`,
            { amount: tokens(HOLD), expires_in: 60 },
            { idem: idemKey() },
          );
          expect([done(step), r.status]).toEqual([done(step), want]);
          if (r.status === 201) {
            pending.push(r.body.id as string);
            m.holds.push(HOLD);
          }
          break;
        }
        case 'release':
        case 'settle': {
          const id = pending.pop();
          if (!id) break;
          const body = step === 'settle' ? { amount: tokens(SETTLE) } : undefined;
          const r = await call(t, 'POST', `/v1/reservations/${id}/${step}`, body, { idem: idemKey() });
          expect([done(step), r.status]).toEqual([done(step), 200]);
          m.holds.pop();
          if (step === 'settle') m.settled += SETTLE;
          break;
        }
        case 'expiry': {
          clock.advance(120_000);
          await t.app.get(MaintenanceService).releaseExpiredReservations();
          pending.length = 0;
          m.holds = [];
          break;
        }
      }
    }
    const w = (await call(t, 'GET', `/v1/wallets/${owner}`)).body;
    expect([done('all'), w.balance, w.status]).toEqual([
      done('all'),
      { available: tokens(m.available), held: tokens(m.held) },
      m.frozen ? 'frozen' : 'active',
    ]);
    for (const b of w.buckets as { remaining: string }[]) expect(b.remaining.startsWith('-')).toBe(false);
    if (verify) await expectLedgerConsistent(t);
  }

  it('ends where the model says for every order of the four Stripe events around a hold', async () => {
    const stripeSteps: Step[] = ['purchase', 'refund', 'dispute', 'won'];
    const orders = (xs: Step[]): Step[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => orders(xs.filter((_, j) => j !== i)).map((o) => [x, ...o]));
    // The hold is taken as soon as the purchase is in, and released at the end. No expiry here
    // (it moves the one clock), so the 24 runs go six at a time: each has its own wallet and payment.
    const all = orders(stripeSteps).map((order) => {
      const at = order.indexOf('purchase') + 1;
      return [...order.slice(0, at), 'hold', ...order.slice(at), 'release'] as Step[];
    });
    expect(all).toHaveLength(24);
    for (let i = 0; i < all.length; i += 6) await Promise.all(all.slice(i, i + 6).map((steps) => run(steps)));
    await expectLedgerConsistent(t);
  });

  it('ends where the model says for random orders of all eight steps, with repeats', async () => {
    const sequence = fc
      .tuple(
        fc.shuffledSubarray([...STEPS], { minLength: STEPS.length, maxLength: STEPS.length }),
        fc.array(fc.tuple(fc.constantFrom(...STEPS), fc.nat()), { maxLength: 4 }),
      )
      .map(([order, repeats]) => {
        const steps = [...order];
        for (const [step, at] of repeats) steps.splice(at % (steps.length + 1), 0, step);
        return steps;
      });
    await fc.assert(
      fc.asyncProperty(sequence, (steps) => run(steps, runs % 10 === 0)),
      {
        numRuns: 60,
        examples: [
          [['hold', 'purchase', 'hold', 'refund', 'dispute', 'settle', 'won', 'release', 'expiry']],
          [['won', 'refund', 'purchase', 'hold', 'dispute', 'expiry', 'hold', 'settle', 'release']],
          [['purchase', 'hold', 'dispute', 'refund', 'release', 'won', 'hold', 'settle', 'expiry']],
        ],
      },
    );
  });
});
