import type Stripe from 'stripe';
import { apiList, idOf, newId, stripeObject } from './objects.js';

// Builders for what paying leaves behind: intents, charges, subscriptions, invoices, refunds, disputes.

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
  const product = idOf(item.price.product);
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
