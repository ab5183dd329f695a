import { APP_CONFIG, AppConfig, Clock, Database, DomainError, LOGGER, pgCode } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import Stripe from 'stripe';
import type { PlanPrice } from './plan-invoice.js';
import { PlanPrices } from './plan-prices.js';
import { disputeState } from './reversal-state.js';
import { AutoTopUpService } from './auto-top-up.service.js';
import { StripeEffects, EffectResult } from './stripe-effects.js';
import { idOf, isWalletId, STRIPE, webhookSecrets } from './stripe.client.js';

const REVERSALS = new Set<string>(['charge.refunded', 'charge.dispute.created', 'charge.dispute.updated', 'charge.dispute.closed']);
/** Milliseconds added to a subscription event's time: the order of its kinds within one second of Stripe's clock. */
const SUBSCRIPTION_EVENT_RANK = {
  'customer.subscription.created': 0,
  'customer.subscription.updated': 1,
  'customer.subscription.deleted': 2,
};

const badSignature = (detail: string) => new DomainError(400, 'invalid_signature', 'Invalid Stripe signature', detail);
const badEvent = (detail: string) => new DomainError(400, 'invalid_event', 'Invalid Stripe event', `${detail}; nothing was applied`);

/** Every string of the event with NUL (which PostgreSQL's text and jsonb cannot hold) as U+FFFD, so a customer-typed field cannot refuse a payment. */
function withoutNul<T>(v: T): T {
  if (typeof v === 'string') return (v.includes('\u0000') ? v.replaceAll('\u0000', '\ufffd') : v) as T;
  if (Array.isArray(v)) return v.map(withoutNul) as T;
  // fromEntries defines each key as its own property (a "__proto__" key stays data).
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [withoutNul(k), withoutNul(x)])) as T;
  return v;
}

const isCents = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** What every event must carry to be applied, and the amounts the reversals read; a signed event without them is a 400. */
function checkEvent(e: unknown): Stripe.Event {
  const ev = e as Partial<Stripe.Event> | null;
  if (!ev || typeof ev !== 'object' || Array.isArray(ev)) throw badEvent('The event is not a JSON object');
  if (typeof ev.id !== 'string' || ev.id.length === 0 || ev.id.length > 255) throw badEvent('The event has no id');
  if (typeof ev.type !== 'string' || ev.type.length === 0) throw badEvent(`The event ${ev.id} has no type`);
  if (!Number.isSafeInteger(ev.created) || (ev.created as number) < 0) throw badEvent(`The event ${ev.id} has no valid created time`);
  const object = (ev.data as { object?: unknown } | undefined)?.object;
  if (!object || typeof object !== 'object' || Array.isArray(object)) throw badEvent(`The event ${ev.id} has no data.object`);
  const o = object as Record<string, unknown>;
  if (ev.type === 'charge.refunded' && !isCents(o.amount_refunded)) throw badEvent(`The event ${ev.id} has no valid amount_refunded`);
  if (ev.type.startsWith('charge.dispute.') && !isCents(o.amount)) throw badEvent(`The event ${ev.id} has no valid dispute amount`);
  return ev as Stripe.Event;
}

/**
 * Verifies a Stripe event on its raw body, then stores and applies it in one
 * transaction. The event row is inserted first: a concurrent duplicate waits
 * on its primary key and then finds it, so an event is applied exactly once
 * whatever the repetition or concurrency. Every handler is idempotent and
 * order-independent: a refund or dispute of a payment not credited yet is
 * kept and applied when it is (StripeEffects.reverse).
 */
@Injectable()
export class WebhookIntakeService {
  // Signature checks are local: the SDK instance needs no key of ours to verify.
  private readonly verifier = new Stripe('sk_unused_for_verification');

  constructor(
    private readonly db: Database,
    private readonly effects: StripeEffects,
    private readonly autoTopUp: AutoTopUpService,
    private readonly plans: PlanPrices,
    private readonly clock: Clock,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  verify(raw: Buffer | undefined, signature: string | undefined): Stripe.Event {
    const secrets = webhookSecrets(this.config);
    if (secrets.length === 0) throw badSignature('No STRIPE_WEBHOOK_SECRET is configured; events cannot be verified');
    if (!raw || raw.length === 0) throw badSignature('The request has no body');
    if (!signature) throw badSignature('The Stripe-Signature header is missing');
    for (const secret of secrets) {
      try {
        return this.verifier.webhooks.constructEvent(raw, signature, secret);
      } catch {
        // Try the next secret: during a rotation either may have signed it.
      }
    }
    throw badSignature('The Stripe-Signature does not match, or its timestamp is outside the tolerance');
  }

  async receive(raw: Buffer | undefined, signature: string | undefined): Promise<{ received: true; outcome: string; duplicate: boolean }> {
    const event = checkEvent(withoutNul(this.verify(raw, signature)));
    try {
      return await this.record(event);
    } catch (e) {
      // A value PostgreSQL refuses as data (an id that is no uuid, a number out of range): the event, not the service.
      if (pgCode(e)?.startsWith('22'))
        throw badEvent(`The event ${event.id} carries a value that cannot be stored (${(e as Error).message})`);
      throw e;
    }
  }

  private async record(event: Stripe.Event): Promise<{ received: true; outcome: string; duplicate: boolean }> {
    // A redelivery is answered from the stored outcome, without asking Stripe anything.
    const seen = await this.db.query<{ outcome: string }>(`SELECT outcome FROM stripe_events WHERE id = $1`, [event.id]);
    if (seen[0]) return { received: true, outcome: seen[0].outcome, duplicate: true };
    // Network look-ups happen before the transaction, never while it holds locks.
    const invoiceId = await this.invoiceOfReversal(event);
    const prices = await this.pricesOf(event);
    return this.db.transaction(async (tx) => {
      const ins = await tx.sql.query(
        `INSERT INTO stripe_events (id, type, created, payload, outcome) VALUES ($1, $2, $3, $4, 'pending') ON CONFLICT (id) DO NOTHING RETURNING id`,
        [event.id, event.type, new Date(event.created * 1000), JSON.stringify(event)],
      );
      if (ins.rowCount === 0) {
        const { rows } = await tx.sql.query<{ outcome: string }>(`SELECT outcome FROM stripe_events WHERE id = $1`, [event.id]);
        return { received: true as const, outcome: rows[0]?.outcome ?? 'unknown', duplicate: true };
      }
      const outcome = await this.apply(tx, event, invoiceId, prices);
      await tx.sql.query(`UPDATE stripe_events SET outcome = $2 WHERE id = $1`, [event.id, outcome]);
      this.log.info({ stripe_event: event.id, type: event.type, outcome }, 'stripe event applied');
      return { received: true as const, outcome, duplicate: false };
    });
  }

  /**
   * Invoice events do not carry their payment intent, so a plan payment is
   * stored under its invoice; a refund or dispute names only the payment
   * intent. Stripe's invoice payments tell which invoice it paid.
   */
  private async invoiceOfReversal(event: Stripe.Event): Promise<string | null> {
    if (!this.stripe || !REVERSALS.has(event.type)) return null;
    const pi = idOf((event.data.object as Stripe.Charge | Stripe.Dispute).payment_intent);
    if (!pi) return null;
    const known = await this.db.query(`SELECT 1 FROM stripe_payments WHERE payment_intent = $1`, [pi]);
    if (known.length) return null;
    const payments = await this.stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: pi }, limit: 1 });
    return idOf(payments.data[0]?.invoice ?? null);
  }

  private async walletExists(tx: Parameters<StripeEffects['creditPack']>[0], walletId: string): Promise<boolean> {
    const { rows } = await tx.sql.query(`SELECT 1 FROM wallets WHERE id = $1`, [walletId]);
    return rows.length > 0;
  }

  private cardOf(pm: string | Stripe.PaymentMethod | null): { brand: string | null; last4: string | null } | null {
    return pm && typeof pm === 'object' && pm.card ? { brand: pm.card.brand, last4: pm.card.last4 } : null;
  }

  /**
   * An auto top-up's PaymentIntent: credited once (keyed by the intent), then
   * its attempt is done. A pack Checkout's intent made with setup_future_usage
   * saves its card (Checkout credits the pack itself).
   */
  private async paymentIntentSucceeded(
    tx: Parameters<StripeEffects['creditPack']>[0],
    pi: Stripe.PaymentIntent,
    at: Date,
  ): Promise<EffectResult> {
    const walletId = pi.metadata?.wallet_id;
    if (!isWalletId(walletId)) return 'ignored';
    if (pi.metadata.auto_top_up === 'true') return this.autoTopUp.applySucceeded(tx, pi, at);
    const pm = idOf(pi.payment_method);
    const customer = idOf(pi.customer);
    if (pi.setup_future_usage === 'off_session' && pm && customer && (await this.walletExists(tx, walletId))) {
      await this.autoTopUp.savePaymentMethod(tx, walletId, customer, pm, `payment_intent ${pi.id}`, at, this.cardOf(pi.payment_method));
      return 'updated';
    }
    return 'ignored';
  }

  /** The plans a paid subscription invoice's lines sell (the tokens come from the price paid, not from metadata). */
  private async pricesOf(event: Stripe.Event): Promise<Map<string, PlanPrice>> {
    return event.type === 'invoice.paid' ? this.plans.forInvoice(event.data.object) : new Map();
  }

  private async apply(
    tx: Parameters<StripeEffects['creditPack']>[0],
    event: Stripe.Event,
    invoiceId: string | null,
    prices: Map<string, PlanPrice>,
  ): Promise<EffectResult | 'unhandled'> {
    const at = this.clock.now();
    const eventAt = new Date(event.created * 1000);
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.effects.creditPack(tx, event.data.object, at);
      case 'invoice.paid':
        return this.effects.creditPlanInvoice(tx, event.data.object, prices, at);
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
        // Stripe's event times are whole seconds, so a subscription made, changed and ended in one second ties:
        // within a second, created < updated < deleted, a millisecond apart.
        return this.effects.applySubscription(tx, event.data.object, new Date(eventAt.getTime() + SUBSCRIPTION_EVENT_RANK[event.type]));
      case 'charge.refunded': {
        const charge = event.data.object;
        return this.effects.reverse(
          tx,
          { paymentIntent: idOf(charge.payment_intent), invoiceId, refundedCents: charge.amount_refunded },
          at,
        );
      }
      case 'charge.dispute.created':
      case 'charge.dispute.updated':
      case 'charge.dispute.closed': {
        // Each carries the whole dispute: its amount, and its status (open, or won / lost once closed).
        const dispute = event.data.object;
        return this.effects.reverse(
          tx,
          {
            paymentIntent: idOf(dispute.payment_intent),
            invoiceId,
            dispute: { id: dispute.id, amountCents: dispute.amount, state: disputeState(dispute.status) },
          },
          at,
        );
      }
      case 'payment_intent.succeeded':
        return this.paymentIntentSucceeded(tx, event.data.object, at);
      case 'payment_intent.payment_failed':
      case 'payment_intent.requires_action': {
        const pi = event.data.object;
        const crossing = Number(pi.metadata?.crossing);
        const walletId = pi.metadata?.wallet_id;
        if (pi.metadata?.auto_top_up !== 'true' || !isWalletId(walletId) || !Number.isSafeInteger(crossing)) return 'ignored';
        const reason = pi.last_payment_error
          ? `${pi.last_payment_error.code ?? 'payment_failed'}: ${pi.last_payment_error.message ?? ''}`.trim()
          : `payment intent ${pi.status}`;
        await this.autoTopUp.fail(
          tx,
          walletId,
          crossing,
          pi.id,
          event.type === 'payment_intent.requires_action' ? 'requires_action' : 'failed',
          reason,
        );
        return 'updated';
      }
      case 'setup_intent.succeeded': {
        const si = event.data.object;
        const walletId = si.metadata?.wallet_id;
        const pm = idOf(si.payment_method);
        const customer = idOf(si.customer);
        if (!isWalletId(walletId) || !pm || !customer) return 'ignored';
        if (!(await this.walletExists(tx, walletId))) return 'no_wallet';
        await this.autoTopUp.savePaymentMethod(
          tx,
          walletId,
          customer,
          pm,
          `setup_intent ${si.id}`,
          eventAt,
          this.cardOf(si.payment_method),
        );
        return 'updated';
      }
      default:
        // Stored and acknowledged: Stripe stops retrying, and the payload is there if we ever need it.
        return 'unhandled';
    }
  }
}
