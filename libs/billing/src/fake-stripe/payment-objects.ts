import type Stripe from 'stripe';
import { apiList, idOf, newId, stripeObject } from './objects.js';

// Builders for what paying leaves behind: intents, charges, subscriptions, invoices, refunds, disputes.

/** A succeeded (or, for delayed methods, processing) payment: the intent and its one charge. */
export function paymentObjects(
  now: number,
  p: {
    amount: number;
    currency: string;
    customer: string | null;
    metadata: Stripe.Metadata;
    pending: boolean;
    description?: string;
    /** The card that paid (a Checkout that saved it, an off-session charge); the charge then names it too. */
    paymentMethod?: Stripe.PaymentMethod;
    setupFutureUsage?: 'off_session';
  },
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
    payment_method: p.paymentMethod?.id ?? null,
    payment_method_types: ['card'],
    setup_future_usage: p.setupFutureUsage ?? null,
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
    payment_method: p.paymentMethod?.id ?? null,
    ...(p.paymentMethod ? { payment_method_details: cardDetails(p.paymentMethod) } : {}),
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

/** One line of an invoice: a plan's period, or a proration of a plan change (an invoice item the change made). */
export interface LineSpec {
  price: Stripe.Price;
  quantity: number;
  /** Cents; negative for the credit of unused time on the old plan. */
  amount: number;
  periodStart: number;
  periodEnd: number;
  proration: boolean;
  description?: string;
}

function invoiceLine(invoiceId: string, sub: Stripe.Subscription, l: LineSpec) {
  const item = sub.items.data[0];
  const product = idOf(l.price.product);
  const parent: Stripe.InvoiceLineItem.Parent = l.proration
    ? {
        type: 'invoice_item_details',
        subscription_item_details: null,
        invoice_item_details: { invoice_item: newId('ii'), proration: true, proration_details: null, subscription: sub.id },
      }
    : {
        type: 'subscription_item_details',
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: null,
          proration: false,
          proration_details: null,
          subscription: sub.id,
          subscription_item: item.id,
        },
      };
  return stripeObject<Stripe.InvoiceLineItem>({
    id: newId('il'),
    object: 'line_item',
    amount: l.amount,
    currency: sub.currency,
    description: l.description ?? `${l.quantity} × ${l.price.nickname ?? product}`,
    discount_amounts: [],
    discountable: !l.proration,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: {},
    parent,
    period: { start: l.periodStart, end: l.periodEnd },
    // As at Stripe, the line names its price by id: a receiver that wants the price asks for it.
    pricing: { type: 'price_details', price_details: { price: l.price.id, product }, unit_amount_decimal: null },
    quantity: l.quantity,
    subtotal: l.amount,
  });
}

/**
 * A paid subscription invoice: by default one line for the item's period at
 * its price; or the lines given (a plan change's prorations). As at Stripe,
 * the customer's balance (`balance`, negative when Stripe owes the customer)
 * is applied first: a total below zero (a downgrade) goes to it and the
 * invoice is paid with nothing due; a later invoice takes what it can from
 * it and charges only the rest (amount_paid 0 when the balance covers it).
 */
export function invoiceObject(
  now: number,
  p: {
    sub: Stripe.Subscription;
    reason: Stripe.Invoice.BillingReason;
    number: string;
    periodStart: number;
    periodEnd: number;
    lines?: LineSpec[];
    /** The customer's balance before this invoice (cents; negative is a credit). */
    balance?: number;
  },
) {
  const item = p.sub.items.data[0];
  const id = newId('in');
  const specs = p.lines ?? [
    {
      price: item.price,
      quantity: item.quantity ?? 1,
      amount: (item.price.unit_amount ?? 0) * (item.quantity ?? 1),
      periodStart: p.periodStart,
      periodEnd: p.periodEnd,
      proration: false,
    },
  ];
  const lines = specs.map((l) => invoiceLine(id, p.sub, l));
  const total = specs.reduce((sum, l) => sum + l.amount, 0);
  const starting = p.balance ?? 0;
  // What the balance's credit pays of a positive total; a negative total is added to the balance.
  const fromBalance = total > 0 ? Math.min(total, Math.max(0, -starting)) : 0;
  const due = Math.max(0, total - fromBalance);
  const ending = total > 0 ? starting + fromBalance : starting + total;
  const startsNow = p.reason !== 'subscription_cycle';
  return stripeObject<Stripe.Invoice>({
    id,
    object: 'invoice',
    amount_due: due,
    amount_overpaid: 0,
    amount_paid: due,
    amount_remaining: 0,
    attempt_count: due > 0 ? 1 : 0,
    attempted: due > 0,
    billing_reason: p.reason,
    collection_method: 'charge_automatically',
    created: now,
    currency: p.sub.currency,
    customer: p.sub.customer,
    description: null,
    starting_balance: starting,
    ending_balance: ending,
    hosted_invoice_url: `https://invoice.fake.local/i/${id}`,
    lines: apiList(`/v1/invoices/${id}/lines`, lines),
    livemode: false,
    metadata: {},
    number: p.number,
    parent: {
      type: 'subscription_details',
      quote_details: null,
      // A copy of the subscription's metadata as it is now: after a plan change it still names the plan bought at checkout.
      subscription_details: { subscription: p.sub.id, metadata: { ...p.sub.metadata } },
    },
    // Stripe's own invoice period is the *previous* period for subscription invoices; the line's period is the one paid for.
    period_start: startsNow ? now : p.periodStart,
    period_end: startsNow ? now : p.periodStart,
    status: 'paid',
    status_transitions: { finalized_at: now, marked_uncollectible_at: null, paid_at: now, voided_at: null },
    subtotal: total,
    total,
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

/** A saved card, as Checkout leaves it: always the Visa test card 4242, attached to the customer when there is one. */
export function paymentMethodObject(now: number, p: { customer: string | null; email?: string | null }) {
  const expiry = new Date(now * 1000);
  return stripeObject<Stripe.PaymentMethod>({
    id: newId('pm'),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: { address: null, email: p.email ?? null, name: null, phone: null, tax_id: null },
    card: {
      brand: 'visa',
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: 'US',
      display_brand: 'visa',
      exp_month: 12,
      exp_year: expiry.getUTCFullYear() + 3,
      fingerprint: 'fakeVisa4242xxxx',
      funding: 'credit',
      generated_from: null,
      last4: '4242',
      networks: { available: ['visa'], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: now,
    customer: p.customer,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: 'card',
  });
}

/** The SetupIntent behind a setup-mode Checkout Session: `requires_payment_method` until the session completes. */
export function setupIntentObject(now: number, p: { customer: string | null; metadata: Stripe.Metadata; description?: string }) {
  const id = newId('seti');
  return stripeObject<Stripe.SetupIntent>({
    id,
    object: 'setup_intent',
    application: null,
    automatic_payment_methods: null,
    cancellation_reason: null,
    client_secret: `${id}_secret_${newId('x').slice(2)}`,
    created: now,
    customer: p.customer,
    description: p.description ?? null,
    flow_directions: null,
    last_setup_error: null,
    latest_attempt: null,
    livemode: false,
    mandate: null,
    metadata: p.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_types: ['card'],
    single_use_mandate: null,
    status: 'requires_payment_method',
    usage: 'off_session',
  });
}

/** What the charge tells of the card that paid it. */
export function cardDetails(pm: Stripe.PaymentMethod): Stripe.Charge.PaymentMethodDetails {
  const c = pm.card;
  return {
    type: 'card',
    card: {
      brand: c?.brand ?? 'visa',
      country: c?.country ?? 'US',
      exp_month: c?.exp_month ?? 12,
      exp_year: c?.exp_year ?? 2030,
      funding: c?.funding ?? 'credit',
      last4: c?.last4 ?? '4242',
      network: 'visa',
    },
  } as Stripe.Charge.PaymentMethodDetails;
}
