import { Errors, Tx } from '@app/common';
import { Ledger, WalletRow } from '@app/ledger';
import { Injectable } from '@nestjs/common';
import type Stripe from 'stripe';
import { idOf } from './stripe.client.js';

/** What an effect did, for the event log and the reconcile report. */
export type EffectResult = 'credited' | 'already_credited' | 'ignored' | 'updated' | 'reversed' | 'no_wallet';

const MT_PER_TOKEN = 1000n;

/**
 * The ledger side of Stripe. Each effect is idempotent on its own (a credit
 * is keyed by payment intent or invoice, a reversal by cumulative amounts),
 * so a replayed event, a reconcile run and the webhook may all call it.
 */
@Injectable()
export class StripeEffects {
  constructor(private readonly ledger: Ledger) {}

  /** Our metadata first (we set it on every session and subscription), then the customer id. */
  async walletFor(tx: Tx, metadata: Stripe.Metadata | null | undefined, customer: string | null): Promise<WalletRow | null> {
    let id = metadata?.wallet_id && /^[0-9a-f-]{36}$/.test(metadata.wallet_id) ? metadata.wallet_id : null;
    if (!id && customer) {
      const { rows } = await tx.sql.query<{ id: string }>(`SELECT id FROM wallets WHERE stripe_customer_id = $1`, [customer]);
      id = rows[0]?.id ?? null;
    }
    if (!id) return null;
    const { rows } = await tx.sql.query<{ id: string }>(`SELECT id FROM wallets WHERE id = $1`, [id]);
    return rows[0] ? this.ledger.lock(tx, { walletId: id }) : null;
  }

  /** A paid pack: a purchase bucket, no expiry, keyed by the payment intent. */
  async creditPack(tx: Tx, session: Stripe.Checkout.Session, at: Date): Promise<EffectResult> {
    if (session.mode !== 'payment' || session.payment_status !== 'paid') return 'ignored';
    const pi = idOf(session.payment_intent);
    const tokens = Number(session.metadata?.tokens);
    if (!pi || !Number.isSafeInteger(tokens) || tokens <= 0 || !session.amount_total) return 'ignored';
    const wallet = await this.walletFor(tx, session.metadata, idOf(session.customer));
    if (!wallet) return 'no_wallet';
    return this.creditPayment(tx, wallet, {
      kind: 'pack',
      paymentIntent: pi,
      sourceId: session.id,
      amountCents: session.amount_total,
      tokens,
      source: 'purchase',
      expiresAt: null,
      at,
      metadata: { checkout_session: session.id, pack_id: session.metadata?.pack_id ?? null },
    });
  }

  /** A paid plan invoice: a plan bucket for that period, expiring at its end, keyed by the invoice. */
  async creditPlanInvoice(tx: Tx, invoice: Stripe.Invoice, at: Date): Promise<EffectResult> {
    const sub = invoice.parent?.subscription_details;
    const metadata = sub?.metadata ?? null;
    const tokens = Number(metadata?.tokens);
    const line = invoice.lines?.data?.[0];
    if (invoice.status !== 'paid' || !sub || !Number.isSafeInteger(tokens) || tokens <= 0 || !line || invoice.amount_paid <= 0)
      return 'ignored';
    const wallet = await this.walletFor(tx, metadata, idOf(invoice.customer));
    if (!wallet) return 'no_wallet';
    const payment = invoice.payments?.data?.[0]?.payment;
    const pi = (payment && 'payment_intent' in payment ? idOf(payment.payment_intent) : null) ?? `invoice:${invoice.id}`;
    const result = await this.creditPayment(tx, wallet, {
      kind: 'plan',
      paymentIntent: pi,
      sourceId: invoice.id,
      amountCents: invoice.amount_paid,
      tokens,
      source: 'plan',
      expiresAt: new Date(line.period.end * 1000),
      at,
      metadata: { invoice: invoice.id, plan_id: metadata?.plan_id ?? null, subscription: idOf(sub.subscription) },
    });
    // The invoice may arrive before customer.subscription.created: it is enough to show the plan.
    await this.upsertSubscription(tx, wallet.id, {
      id: idOf(sub.subscription) as string,
      planId: metadata?.plan_id ?? 'unknown',
      status: 'active',
      periodEnd: new Date(line.period.end * 1000),
      cancelAtPeriodEnd: false,
      eventAt: new Date(invoice.created * 1000),
      onlyIfAbsent: true,
    });
    return result;
  }

  private async creditPayment(
    tx: Tx,
    wallet: WalletRow,
    p: {
      kind: 'pack' | 'plan';
      paymentIntent: string;
      sourceId: string;
      amountCents: number;
      tokens: number;
      source: 'purchase' | 'plan';
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
        source: p.source,
        amount: BigInt(p.tokens) * MT_PER_TOKEN,
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
    return 'credited';
  }

  /** Subscription state on the wallet; an event older than the last one applied is ignored. */
  async applySubscription(tx: Tx, s: Stripe.Subscription, eventAt: Date): Promise<EffectResult> {
    const wallet = await this.walletFor(tx, s.metadata, idOf(s.customer));
    if (!wallet) return 'no_wallet';
    const item = s.items?.data?.[0];
    await this.upsertSubscription(tx, wallet.id, {
      id: s.id,
      planId: s.metadata?.plan_id ?? 'unknown',
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
    await tx.sql.query(
      `INSERT INTO subscriptions (id, wallet_id, plan_id, status, current_period_end, cancel_at_period_end, last_event_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, current_period_end = coalesce(EXCLUDED.current_period_end, subscriptions.current_period_end),
         cancel_at_period_end = EXCLUDED.cancel_at_period_end, plan_id = EXCLUDED.plan_id, last_event_at = EXCLUDED.last_event_at, updated_at = now()
       WHERE NOT $8 AND subscriptions.last_event_at <= EXCLUDED.last_event_at`,
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
   * A refund or dispute: the reversed share of the payment's tokens is taken
   * back by the ledger (from what is left, from holds as they return, and as
   * chargeback losses only for what was really spent; the wallet is flagged
   * then). Amounts are cumulative, and the ledger is told the absolute number
   * of reversed tokens, so a repeated event reverses nothing twice.
   */
  async reverse(
    tx: Tx,
    paymentIntent: string | null,
    change: { refundedCents?: number; disputedCents?: number },
    at: Date,
    freeze: boolean,
    invoiceId: string | null = null,
  ): Promise<EffectResult> {
    if (!paymentIntent) return 'ignored';
    // A plan payment is recorded under its invoice when the invoice event did not name its payment intent.
    const head = await tx.sql.query<{ wallet_id: string; payment_intent: string }>(
      `SELECT wallet_id, payment_intent FROM stripe_payments WHERE payment_intent = $1 OR source_id = $2 LIMIT 1`,
      [paymentIntent, invoiceId],
    );
    if (!head.rows[0]) return 'ignored';
    await this.ledger.lock(tx, { walletId: head.rows[0].wallet_id }, at);
    paymentIntent = head.rows[0].payment_intent;
    const { rows } = await tx.sql.query<{
      wallet_id: string;
      bucket_id: string;
      amount_cents: string;
      refunded_cents: string;
      disputed_cents: string;
      granted: string;
    }>(
      `SELECT p.wallet_id, p.bucket_id, p.amount_cents::text, p.refunded_cents::text, p.disputed_cents::text, b.granted::text
       FROM stripe_payments p JOIN buckets b ON b.id = p.bucket_id WHERE p.payment_intent = $1 FOR UPDATE OF p`,
      [paymentIntent],
    );
    const p = rows[0];
    const amount = BigInt(p.amount_cents);
    const before = { refunded: BigInt(p.refunded_cents), disputed: BigInt(p.disputed_cents) };
    const after = {
      refunded: change.refundedCents !== undefined ? BigInt(Math.max(change.refundedCents, Number(before.refunded))) : before.refunded,
      disputed: change.disputedCents !== undefined ? BigInt(Math.max(change.disputedCents, Number(before.disputed))) : before.disputed,
    };
    const reversedCents = (r: { refunded: bigint; disputed: bigint }) =>
      r.refunded + r.disputed > amount ? amount : r.refunded + r.disputed;
    const deltaCents = reversedCents(after) - reversedCents(before);
    await tx.sql.query(`UPDATE stripe_payments SET refunded_cents = $2, disputed_cents = $3 WHERE payment_intent = $1`, [
      paymentIntent,
      after.refunded.toString(),
      after.disputed.toString(),
    ]);
    if (freeze) await this.ledger.freeze(tx, p.wallet_id, `dispute:${paymentIntent}`);
    if (deltaCents <= 0n) return freeze ? 'updated' : 'ignored';
    // The tokens this share of the payment bought (exact for packs; proportional for plans).
    await this.ledger.setReversed(
      tx,
      p.bucket_id,
      {
        reversed: (BigInt(p.granted) * reversedCents(after)) / amount,
        ref: `stripe:reversal:${paymentIntent}:${reversedCents(after)}`,
        metadata: { payment_intent: paymentIntent, reversed_cents: deltaCents.toString() },
      },
      at,
    );
    return 'reversed';
  }
}

export const noStripe = () => Errors.unavailable('stripe_not_configured', 'Stripe is not configured (STRIPE_SECRET_KEY)');
