import { Tx } from '@app/common';
import { Ledger, WalletRow } from '@app/ledger';
import { Inject, Injectable } from '@nestjs/common';
import type Stripe from 'stripe';
import { CATALOG, type Catalog } from './catalog.js';
import { planInvoiceCredit, planOfPrice, type PlanPrice } from './plan-invoice.js';
import {
  type DisputeState,
  disputing,
  mergeReversals,
  NO_REVERSAL,
  type ReversalState,
  reversedCents,
  reversedTokens,
} from './reversal-state.js';
import { idOf, isWalletId } from './stripe.client.js';

/** What an effect did, for the event log and the reconcile report. */
export type EffectResult =
  | 'credited'
  | 'already_credited'
  /** A plan invoice that owes no tokens (a downgrade, a free invoice). */
  | 'nothing_due'
  /** An invoice whose billing_reason or lines credit nothing (manual, not our plan): reconcile reports it. */
  | 'odd'
  | 'ignored'
  | 'updated'
  | 'reversed'
  /** A reversal went down (a dispute won): tokens and losses given back. */
  | 'restored'
  /** A reversal of a payment not credited yet: kept, and applied when the payment is credited. */
  | 'pending'
  | 'no_wallet';

/** A refund or a dispute as one event tells it; amounts are cumulative, as Stripe reports them. */
export interface ReversalEvent {
  paymentIntent: string | null;
  /** The plan invoice the payment paid, when Stripe's invoice payments said (a plan payment may be stored by invoice). */
  invoiceId: string | null;
  refundedCents?: number;
  dispute?: { id: string; amountCents: number; state: DisputeState };
}

/** A credited payment (stripe_payments) and the tokens its bucket was given. */
interface Payment {
  key: string;
  walletId: string;
  bucketId: string;
  kind: 'pack' | 'plan';
  sourceId: string;
  amountCents: bigint;
  grantedMt: bigint;
}

const MT_PER_TOKEN = 1000n;

/**
 * The ledger side of Stripe. Owns `stripe_payments`, `stripe_reversals` and
 * `subscriptions`; changes the ledger only through its front door (Ledger).
 * Each effect is idempotent on its own (a credit is keyed by payment intent
 * or invoice, a reversal is a merge of cumulative amounts that tells the
 * ledger an absolute number), so a replayed event, a reconcile run and the
 * webhook may all call it, in any order.
 *
 * Lock order, everywhere: the payment's advisory locks (by payment intent and
 * invoice, sorted), then the wallet. The payment lock makes "is it credited?"
 * and "is a reversal waiting?" one question: a refund and its purchase
 * arriving at once cannot each miss the other.
 */
@Injectable()
export class StripeEffects {
  constructor(
    private readonly ledger: Ledger,
    @Inject(CATALOG) private readonly catalog: Catalog,
  ) {}

  /** Our metadata first (we set it on every session and subscription), then the customer id. */
  async walletFor(tx: Tx, metadata: Stripe.Metadata | null | undefined, customer: string | null): Promise<WalletRow | null> {
    let id = isWalletId(metadata?.wallet_id) ? metadata.wallet_id : null;
    if (!id && customer) {
      const { rows } = await tx.sql.query<{ id: string }>(`SELECT wallet_id AS id FROM stripe_customers WHERE customer_id = $1`, [
        customer,
      ]);
      id = rows[0]?.id ?? null;
    }
    if (!id) return null;
    const { rows } = await tx.sql.query<{ id: string }>(`SELECT id FROM wallets WHERE id = $1`, [id]);
    return rows[0] ? this.ledger.lock(tx, { walletId: id }) : null;
  }

  private async lockPayment(tx: Tx, keys: (string | null)[]): Promise<void> {
    for (const k of [...new Set(keys.filter((x): x is string => Boolean(x)))].sort()) {
      await tx.sql.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`stripe:payment:${k}`]);
    }
  }

  /** A paid pack: a purchase bucket, no expiry, keyed by the payment intent. */
  async creditPack(tx: Tx, session: Stripe.Checkout.Session, at: Date): Promise<EffectResult> {
    if (session.mode !== 'payment' || session.payment_status !== 'paid') return 'ignored';
    const pi = idOf(session.payment_intent);
    const tokens = Number(session.metadata?.tokens);
    if (!pi || !Number.isSafeInteger(tokens) || tokens <= 0 || !session.amount_total) return 'ignored';
    await this.lockPayment(tx, [pi]);
    const wallet = await this.walletFor(tx, session.metadata, idOf(session.customer));
    if (!wallet) return 'no_wallet';
    return this.creditPayment(tx, wallet, {
      kind: 'pack',
      paymentIntent: pi,
      sourceId: session.id,
      invoiceId: null,
      amountCents: session.amount_total,
      mt: BigInt(tokens) * MT_PER_TOKEN,
      expiresAt: null,
      at,
      metadata: { checkout_session: session.id, pack_id: session.metadata?.pack_id ?? null },
    });
  }

  /**
   * An auto top-up's off-session PaymentIntent succeeded: a purchase bucket
   * for the pack in its metadata, keyed by the payment intent like any pack.
   */
  async creditAutoTopUp(tx: Tx, pi: Stripe.PaymentIntent, at: Date): Promise<EffectResult> {
    if (pi.status !== 'succeeded' || pi.metadata?.auto_top_up !== 'true') return 'ignored';
    const tokens = Number(pi.metadata.tokens);
    if (!Number.isSafeInteger(tokens) || tokens <= 0 || !pi.amount_received) return 'ignored';
    await this.lockPayment(tx, [pi.id]);
    const wallet = await this.walletFor(tx, pi.metadata, idOf(pi.customer));
    if (!wallet) return 'no_wallet';
    return this.creditPayment(tx, wallet, {
      kind: 'pack',
      paymentIntent: pi.id,
      sourceId: pi.id,
      invoiceId: null,
      amountCents: pi.amount_received,
      mt: BigInt(tokens) * MT_PER_TOKEN,
      expiresAt: null,
      at,
      metadata: { auto_top_up: true, pack_id: pi.metadata.pack_id ?? null, crossing: pi.metadata.crossing ?? null },
    });
  }

  /**
   * A paid plan invoice: a plan bucket for what its billing_reason and the
   * prices of its lines owe (plan-invoice.ts), expiring at the end of the
   * period, keyed by the invoice. `prices` are the plans its lines sell,
   * read from Stripe before the transaction (PlanPrices).
   */
  async creditPlanInvoice(tx: Tx, invoice: Stripe.Invoice, prices: ReadonlyMap<string, PlanPrice>, at: Date): Promise<EffectResult> {
    if (invoice.status !== 'paid') return 'ignored';
    const credit = planInvoiceCredit(invoice, prices);
    if (credit.kind !== 'credit') return credit.kind;
    const sub = invoice.parent?.subscription_details;
    const metadata = sub?.metadata ?? null;
    const payment = invoice.payments?.data?.[0]?.payment;
    const pi = (payment && 'payment_intent' in payment ? idOf(payment.payment_intent) : null) ?? `invoice:${invoice.id}`;
    await this.lockPayment(tx, [pi, invoice.id]);
    const wallet = await this.walletFor(tx, metadata, idOf(invoice.customer));
    if (!wallet) return 'no_wallet';
    const subscription = idOf(sub?.subscription);
    const result = await this.creditPayment(tx, wallet, {
      kind: 'plan',
      paymentIntent: pi,
      sourceId: invoice.id,
      invoiceId: invoice.id,
      // The payment is worth the invoice's total: the customer's Stripe balance may have paid some or all of it
      // (amount_paid 0), and a refund of the card's part reverses only that part's share.
      amountCents: Math.max(invoice.amount_paid, invoice.total),
      mt: credit.mt,
      expiresAt: credit.periodEnd,
      at,
      metadata: { invoice: invoice.id, plan_id: credit.planId, billing_reason: credit.reason, subscription },
    });
    // The invoice may arrive before customer.subscription.created: it is enough to show the plan.
    if (subscription) {
      await this.upsertSubscription(tx, wallet.id, {
        id: subscription,
        planId: credit.planId,
        status: 'active',
        periodEnd: credit.periodEnd,
        cancelAtPeriodEnd: false,
        eventAt: new Date(invoice.created * 1000),
        onlyIfAbsent: true,
      });
    }
    return result;
  }

  private async creditPayment(
    tx: Tx,
    wallet: WalletRow,
    p: {
      kind: 'pack' | 'plan';
      paymentIntent: string;
      sourceId: string;
      invoiceId: string | null;
      amountCents: number;
      mt: bigint;
      expiresAt: Date | null;
      at: Date;
      metadata: Record<string, unknown>;
    },
  ): Promise<EffectResult> {
    const key = p.kind === 'pack' ? `stripe:pi:${p.paymentIntent}` : `stripe:invoice:${p.sourceId}`;
    const bucket = await this.ledger.credit(
      tx,
      {
        walletId: wallet.id,
        source: p.kind === 'pack' ? 'purchase' : 'plan',
        amount: p.mt,
        expiresAt: p.expiresAt,
        grantKey: key,
        from: 'stripeClearing',
        kind: p.kind === 'pack' ? 'purchase' : 'plan',
        ref: key,
        metadata: { ...p.metadata, amount_cents: p.amountCents },
      },
      p.at,
    );
    if (!bucket) return 'already_credited';
    await tx.sql.query(
      `INSERT INTO stripe_payments (payment_intent, wallet_id, bucket_id, kind, source_id, amount_cents) VALUES ($1, $2, $3, $4, $5, $6)`,
      [p.paymentIntent, wallet.id, bucket, p.kind, p.sourceId, p.amountCents],
    );
    // A refund or dispute that arrived first was kept: it takes its share now, in the same transaction.
    const waiting = await this.reversalsOf(tx, [p.paymentIntent], p.invoiceId);
    if (waiting.found) {
      const payment: Payment = {
        key: p.paymentIntent,
        walletId: wallet.id,
        bucketId: bucket,
        kind: p.kind,
        sourceId: p.sourceId,
        amountCents: BigInt(p.amountCents),
        grantedMt: p.mt,
      };
      await this.applyReversal(tx, payment, NO_REVERSAL, waiting.state, waiting.paymentIntent ?? p.paymentIntent, p.at);
    }
    return 'credited';
  }

  /** Subscription state on the wallet; an event older than the last one applied is ignored. */
  async applySubscription(tx: Tx, s: Stripe.Subscription, eventAt: Date): Promise<EffectResult> {
    const wallet = await this.walletFor(tx, s.metadata, idOf(s.customer));
    if (!wallet) return 'no_wallet';
    const item = s.items?.data?.[0];
    // The plan is the price subscribed to now; the metadata names the plan bought at checkout, stale after a change.
    const plan = item?.price ? planOfPrice(item.price, this.catalog) : null;
    await this.upsertSubscription(tx, wallet.id, {
      id: s.id,
      planId: plan?.planId ?? s.metadata?.plan_id ?? 'unknown',
      status: s.status,
      periodEnd: item?.current_period_end ? new Date(item.current_period_end * 1000) : null,
      cancelAtPeriodEnd: s.cancel_at_period_end,
      eventAt,
      onlyIfAbsent: false,
    });
    return 'updated';
  }

  private async upsertSubscription(
    tx: Tx,
    walletId: string,
    s: {
      id: string;
      planId: string;
      status: string;
      periodEnd: Date | null;
      cancelAtPeriodEnd: boolean;
      eventAt: Date;
      onlyIfAbsent: boolean;
    },
  ): Promise<void> {
    // A subscription is one wallet's for good (its metadata or customer names it): (id, wallet_id) is its key.
    await tx.sql.query(
      `INSERT INTO subscriptions (id, wallet_id, plan_id, status, current_period_end, cancel_at_period_end, last_event_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id, wallet_id) DO UPDATE SET status = EXCLUDED.status, current_period_end = coalesce(EXCLUDED.current_period_end, subscriptions.current_period_end),
         cancel_at_period_end = EXCLUDED.cancel_at_period_end, plan_id = EXCLUDED.plan_id, last_event_at = EXCLUDED.last_event_at, updated_at = now()
       WHERE NOT $8 AND subscriptions.last_event_at <= EXCLUDED.last_event_at
         -- An ended subscription stays ended: Stripe never reactivates one, so a late event that says otherwise is older.
         AND (subscriptions.status NOT IN ('canceled', 'incomplete_expired') OR EXCLUDED.status IN ('canceled', 'incomplete_expired'))`,
      [s.id, walletId, s.planId, s.status, s.periodEnd, s.cancelAtPeriodEnd, s.eventAt, s.onlyIfAbsent],
    );
    // The wallet shows its newest subscription.
    const { rows } = await tx.sql.query<{ plan: Record<string, unknown> }>(
      `SELECT jsonb_build_object('plan_id', plan_id, 'status', status, 'subscription_id', id,
         'current_period_end', current_period_end, 'cancel_at_period_end', cancel_at_period_end) AS plan
       FROM subscriptions WHERE wallet_id = $1 ORDER BY last_event_at DESC LIMIT 1`,
      [walletId],
    );
    await this.ledger.setPlan(tx, walletId, rows[0]?.plan ?? null);
  }

  /**
   * A refund or dispute event. It is merged into what the payment's earlier
   * reversals said (stripe_reversals, kept whether or not the payment is
   * credited yet); when the payment is credited, the ledger is told the
   * absolute number of its tokens now reversed, and a dispute's freeze is
   * set or lifted. The ledger takes the tokens from what is left, then from
   * holds as they return (never back to the wallet), and books as
   * chargeback losses only what was really spent.
   */
  async reverse(tx: Tx, e: ReversalEvent, at: Date): Promise<EffectResult> {
    const pi = e.paymentIntent;
    if (!pi) return 'ignored';
    await this.lockPayment(tx, [pi, e.invoiceId]);
    const payment = await this.paymentOf(tx, pi, e.invoiceId);
    if (payment) await this.ledger.lock(tx, { walletId: payment.walletId }, at);
    const invoiceId = payment?.kind === 'plan' ? payment.sourceId : e.invoiceId;
    const before = await this.reversalsOf(tx, payment ? [pi, payment.key] : [pi], invoiceId);
    const change: ReversalState = {
      refundedCents: BigInt(e.refundedCents ?? 0),
      disputedCents: BigInt(e.dispute?.amountCents ?? 0),
      dispute: e.dispute?.state ?? null,
    };
    // Every column only grows (dispute states rank open < lost < won), so any order of events ends the same.
    await tx.sql.query(
      `INSERT INTO stripe_reversals (payment_intent, invoice_id, refunded_cents, disputed_cents, dispute_id, dispute_status)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (payment_intent) DO UPDATE SET
         invoice_id = coalesce(stripe_reversals.invoice_id, EXCLUDED.invoice_id),
         refunded_cents = greatest(stripe_reversals.refunded_cents, EXCLUDED.refunded_cents),
         disputed_cents = greatest(stripe_reversals.disputed_cents, EXCLUDED.disputed_cents),
         dispute_id = coalesce(EXCLUDED.dispute_id, stripe_reversals.dispute_id),
         dispute_status = CASE WHEN coalesce(array_position(ARRAY['open', 'lost', 'won'], EXCLUDED.dispute_status), 0)
                                  > coalesce(array_position(ARRAY['open', 'lost', 'won'], stripe_reversals.dispute_status), 0)
                               THEN EXCLUDED.dispute_status ELSE stripe_reversals.dispute_status END,
         updated_at = now()`,
      [pi, invoiceId, change.refundedCents.toString(), change.disputedCents.toString(), e.dispute?.id ?? null, change.dispute],
    );
    if (!payment) return 'pending';
    return this.applyReversal(tx, payment, before.state, mergeReversals(before.state, change), pi, at);
  }

  /** From what the payment's reversals said before to what they say now: the ledger's number, the dispute's freeze. */
  private async applyReversal(
    tx: Tx,
    p: Payment,
    before: ReversalState,
    after: ReversalState,
    paymentIntent: string,
    at: Date,
  ): Promise<EffectResult> {
    let result: EffectResult = after.dispute !== before.dispute ? 'updated' : 'ignored';
    const was = reversedCents(before, p.amountCents);
    const now = reversedCents(after, p.amountCents);
    if (now !== was) {
      await this.ledger.setReversed(
        tx,
        p.bucketId,
        {
          reversed: reversedTokens(after, p.amountCents, p.grantedMt),
          ref: `stripe:reversal:${paymentIntent}:${now}`,
          metadata: { payment_intent: paymentIntent, reversed_cents: now.toString(), change_cents: (now - was).toString() },
        },
        at,
      );
      result = now > was ? 'reversed' : 'restored';
    }
    // The freeze is the dispute's own cause: set once when it opens, lifted when it is won, never an admin's freeze.
    const cause = `dispute:${paymentIntent}`;
    if (disputing(after) && !disputing(before)) await this.ledger.freeze(tx, p.walletId, cause);
    if (!disputing(after) && disputing(before)) await this.ledger.unfreeze(tx, p.walletId, cause);
    return result;
  }

  private async paymentOf(tx: Tx, paymentIntent: string, invoiceId: string | null): Promise<Payment | null> {
    // A plan payment is stored under its invoice when the invoice event did not name its payment intent.
    const { rows } = await tx.sql.query<{
      payment_intent: string;
      wallet_id: string;
      bucket_id: string;
      kind: 'pack' | 'plan';
      source_id: string;
      amount_cents: string;
      granted: string;
    }>(
      `SELECT p.payment_intent, p.wallet_id, p.bucket_id, p.kind, p.source_id, p.amount_cents::text, b.granted::text
       FROM stripe_payments p JOIN buckets b ON b.id = p.bucket_id WHERE p.payment_intent = $1 OR p.source_id = $2 LIMIT 1`,
      [paymentIntent, invoiceId],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      key: r.payment_intent,
      walletId: r.wallet_id,
      bucketId: r.bucket_id,
      kind: r.kind,
      sourceId: r.source_id,
      amountCents: BigInt(r.amount_cents),
      grantedMt: BigInt(r.granted),
    };
  }

  /** Every reversal row of one payment, merged; `paymentIntent` is Stripe's id of it when a row has it. */
  private async reversalsOf(
    tx: Tx,
    keys: string[],
    invoiceId: string | null,
  ): Promise<{ found: boolean; state: ReversalState; paymentIntent: string | null }> {
    const { rows } = await tx.sql.query<{
      payment_intent: string;
      refunded_cents: string;
      disputed_cents: string;
      dispute_status: DisputeState | null;
    }>(
      `SELECT payment_intent, refunded_cents::text, disputed_cents::text, dispute_status FROM stripe_reversals
       WHERE payment_intent = ANY ($1) OR ($2::text IS NOT NULL AND invoice_id = $2) ORDER BY payment_intent`,
      [keys, invoiceId],
    );
    const state = rows.reduce<ReversalState>(
      (s, r) =>
        mergeReversals(s, { refundedCents: BigInt(r.refunded_cents), disputedCents: BigInt(r.disputed_cents), dispute: r.dispute_status }),
      NO_REVERSAL,
    );
    const pi = rows.find((r) => !r.payment_intent.startsWith('invoice:'))?.payment_intent ?? null;
    return { found: rows.length > 0, state, paymentIntent: pi };
  }
}
