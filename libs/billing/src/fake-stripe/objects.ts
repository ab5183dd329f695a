import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';

/** The API version the installed SDK pins; events carry it as Stripe's would. */
export const API_VERSION = '2026-10-28.endive';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Stripe-looking ids (`cus_…`, `cs_test_…`): a prefix and random base62. */
export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${s}`;
}

/**
 * The fake fills the fields a billing integration reads; Stripe's objects have
 * dozens more, which are absent here rather than null. Typing the literal as
 * Partial<T> still checks every field it does set against the SDK's types.
 */
export function stripeObject<T>(fields: Partial<T>): T {
  return fields as T;
}

/** One calendar month later, clamped to the month's end (Jan 31 -> Feb 28), as Stripe bills monthly. */
export function addMonth(unixSeconds: number): number {
  const d = new Date(unixSeconds * 1000);
  const day = d.getUTCDate();
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return Math.floor(target.getTime() / 1000);
}

export function apiList<T>(url: string, data: T[], hasMore = false): Stripe.ApiList<T> {
  return { object: 'list', data, has_more: hasMore, url };
}

export function customerObject(now: number, p: { email?: string; name?: string; description?: string; metadata: Stripe.Metadata }) {
  return stripeObject<Stripe.Customer>({
    id: newId('cus', 14),
    object: 'customer',
    balance: 0,
    created: now,
    default_source: null,
    description: p.description ?? null,
    email: p.email ?? null,
    name: p.name ?? null,
    livemode: false,
    metadata: p.metadata,
    shipping: null,
  });
}

export function productObject(now: number, p: { name: string; description?: string; active: boolean; metadata: Stripe.Metadata }) {
  return stripeObject<Stripe.Product>({
    id: newId('prod', 14),
    object: 'product',
    active: p.active,
    created: now,
    updated: now,
    description: p.description ?? null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: p.metadata,
    name: p.name,
    type: 'service',
    url: null,
  });
}

export function priceObject(
  now: number,
  p: {
    product: string;
    unitAmount: number;
    currency: string;
    recurring?: { interval: 'day' | 'week' | 'month' | 'year'; interval_count: number };
    lookupKey?: string;
    nickname?: string;
    active: boolean;
    metadata: Stripe.Metadata;
  },
) {
  return stripeObject<Stripe.Price>({
    id: newId('price'),
    object: 'price',
    active: p.active,
    billing_scheme: 'per_unit',
    created: now,
    currency: p.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: p.lookupKey ?? null,
    metadata: p.metadata,
    nickname: p.nickname ?? null,
    product: p.product,
    recurring: p.recurring ? { ...p.recurring, meter: null, trial_period_days: null, usage_type: 'licensed' } : null,
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: p.recurring ? 'recurring' : 'one_time',
    unit_amount: p.unitAmount,
  });
}

/** A succeeded (or, for delayed methods, processing) payment: the intent and its one charge. */
export function paymentObjects(
  now: number,
  p: { amount: number; currency: string; customer: string | null; metadata: Stripe.Metadata; pending: boolean; description?: string },
) {
  const pi = stripeObject<Stripe.PaymentIntent>({
    id: newId('pi'),
    object: 'payment_intent',
    amount: p.amount,
    amount_capturable: 0,
    amount_received: p.pending ? 0 : p.amount,
    capture_method: 'automatic_async',
    created: now,
    currency: p.currency,
    customer: p.customer,
    description: p.description ?? null,
    livemode: false,
    metadata: p.metadata,
    payment_method_types: ['card'],
    status: p.pending ? 'processing' : 'succeeded',
  });
  const charge = stripeObject<Stripe.Charge>({
    id: newId('ch'),
    object: 'charge',
    amount: p.amount,
    amount_captured: p.pending ? 0 : p.amount,
    amount_refunded: 0,
    captured: !p.pending,
    created: now,
    currency: p.currency,
    customer: p.customer,
    description: p.description ?? null,
    disputed: false,
    livemode: false,
    // Stripe does not copy the intent's metadata to its charge; a refund or dispute is traced through payment_intent.
    metadata: {},
    paid: !p.pending,
    payment_intent: pi.id,
    refunded: false,
    status: p.pending ? 'pending' : 'succeeded',
  });
  pi.latest_charge = charge.id;
  return { pi, charge };
}

export function subscriptionObject(
  now: number,
  p: { customer: string; price: Stripe.Price; quantity: number; metadata: Stripe.Metadata; periodStart: number; periodEnd: number },
) {
  const id = newId('sub');
  const item = stripeObject<Stripe.SubscriptionItem>({
    id: newId('si', 14),
    object: 'subscription_item',
    created: now,
    // In this API version the billing period lives on each item, not on the subscription.
    current_period_start: p.periodStart,
    current_period_end: p.periodEnd,
    discounts: [],
    metadata: {},
    price: p.price,
    quantity: p.quantity,
    subscription: id,
    tax_rates: [],
  });
  return stripeObject<Stripe.Subscription>({
    id,
    object: 'subscription',
    billing_cycle_anchor: p.periodStart,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: 'charge_automatically',
    created: now,
    currency: p.price.currency,
    customer: p.customer,
    discounts: [],
    ended_at: null,
    items: apiList(`/v1/subscription_items?subscription=${id}`, [item]),
    latest_invoice: null,
    livemode: false,
    metadata: p.metadata,
    start_date: now,
    status: 'active',
    trial_end: null,
    trial_start: null,
  });
}

/** A paid subscription invoice with one line for the item's period. */
export function invoiceObject(
  now: number,
  p: {
    sub: Stripe.Subscription;
    reason: 'subscription_create' | 'subscription_cycle';
    number: string;
    periodStart: number;
    periodEnd: number;
  },
) {
  const item = p.sub.items.data[0];
  const amount = (item.price.unit_amount ?? 0) * (item.quantity ?? 1);
  const id = newId('in');
  const product = typeof item.price.product === 'string' ? item.price.product : item.price.product.id;
  const line = stripeObject<Stripe.InvoiceLineItem>({
    id: newId('il'),
    object: 'line_item',
    amount,
    currency: p.sub.currency,
    description: `${item.quantity ?? 1} × ${item.price.nickname ?? product}`,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: id,
    livemode: false,
    metadata: {},
    parent: {
      type: 'subscription_item_details',
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: false,
        proration_details: null,
        subscription: p.sub.id,
        subscription_item: item.id,
      },
    },
    period: { start: p.periodStart, end: p.periodEnd },
    pricing: { type: 'price_details', price_details: { price: item.price.id, product }, unit_amount_decimal: null },
    quantity: item.quantity ?? 1,
    subtotal: amount,
  });
  return stripeObject<Stripe.Invoice>({
    id,
    object: 'invoice',
    amount_due: amount,
    amount_overpaid: 0,
    amount_paid: amount,
    amount_remaining: 0,
    attempt_count: 1,
    attempted: true,
    billing_reason: p.reason,
    collection_method: 'charge_automatically',
    created: now,
    currency: p.sub.currency,
    customer: p.sub.customer,
    description: null,
    hosted_invoice_url: `https://invoice.fake.local/i/${id}`,
    lines: apiList(`/v1/invoices/${id}/lines`, [line]),
    livemode: false,
    metadata: {},
    number: p.number,
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { subscription: p.sub.id, metadata: { ...p.sub.metadata } },
    },
    // Stripe's own invoice period is the *previous* period for subscription invoices; the line's period is the one paid for.
    period_start: p.reason === 'subscription_create' ? now : p.periodStart,
    period_end: p.reason === 'subscription_create' ? now : p.periodStart,
    status: 'paid',
    status_transitions: { finalized_at: now, marked_uncollectible_at: null, paid_at: now, voided_at: null },
    subtotal: amount,
    total: amount,
  });
}

export function invoicePaymentObject(now: number, invoice: Stripe.Invoice, pi: Stripe.PaymentIntent) {
  return stripeObject<Stripe.InvoicePayment>({
    id: newId('inpay'),
    object: 'invoice_payment',
    amount_paid: invoice.amount_paid,
    amount_requested: invoice.amount_due,
    created: now,
    currency: invoice.currency,
    invoice: invoice.id,
    is_default: true,
    livemode: false,
    payment: { type: 'payment_intent', payment_intent: pi.id },
    status: 'paid',
    status_transitions: { canceled_at: null, paid_at: now },
  });
}

export function refundObject(now: number, charge: Stripe.Charge, amount: number) {
  return stripeObject<Stripe.Refund>({
    id: newId('re'),
    object: 'refund',
    amount,
    charge: charge.id,
    created: now,
    currency: charge.currency,
    metadata: {},
    payment_intent: charge.payment_intent,
    reason: null,
    status: 'succeeded',
  });
}

export function disputeObject(now: number, charge: Stripe.Charge, amount: number) {
  return stripeObject<Stripe.Dispute>({
    id: newId('dp'),
    object: 'dispute',
    amount,
    balance_transactions: [],
    charge: charge.id,
    created: now,
    currency: charge.currency,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: charge.payment_intent,
    reason: 'fraudulent',
    status: 'needs_response',
  });
}

/** An event carries a snapshot: later changes to the object must not rewrite events already built. */
export function eventObject(now: number, type: Stripe.Event.Type, object: object, previous?: object): Stripe.Event {
  const data: { object: unknown; previous_attributes?: unknown } = { object: structuredClone(object) };
  if (previous) data.previous_attributes = structuredClone(previous);
  return {
    id: newId('evt'),
    object: 'event',
    api_version: API_VERSION,
    created: now,
    data,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  } as Stripe.Event;
}
