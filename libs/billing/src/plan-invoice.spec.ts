import { describe, expect, it } from '@jest/globals';
import type Stripe from 'stripe';
import { DEFAULT_CATALOG, lookupKey } from './catalog.js';
import { planInvoiceCredit, planOfPrice, type PlanPrice } from './plan-invoice.js';

const creator: PlanPrice = { priceId: 'price_creator', planId: 'creator', tokens: 250, unitAmount: 1900 };
const studio: PlanPrice = { priceId: 'price_studio', planId: 'studio', tokens: 1500, unitAmount: 9900 };
const prices = new Map([creator, studio].map((p) => [p.priceId, p]));
const END = 1_800_000_000;

function line(price: PlanPrice, amount: number, proration = false): Stripe.InvoiceLineItem {
  return {
    amount,
    quantity: 1,
    period: { start: END - 1000, end: END },
    pricing: { type: 'price_details', price_details: { price: price.priceId, product: 'prod_x' }, unit_amount_decimal: null },
    parent: proration
      ? { type: 'invoice_item_details', invoice_item_details: { proration: true }, subscription_item_details: null }
      : { type: 'subscription_item_details', subscription_item_details: { proration: false }, invoice_item_details: null },
  } as unknown as Stripe.InvoiceLineItem;
}

function invoice(reason: string, lines: Stripe.InvoiceLineItem[]): Stripe.Invoice {
  const total = lines.reduce((s, l) => s + l.amount, 0);
  return {
    id: 'in_x',
    status: 'paid',
    billing_reason: reason,
    amount_paid: Math.max(0, total),
    parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_x', metadata: { tokens: '250' } } },
    lines: { object: 'list', data: lines, has_more: false, url: '' },
  } as unknown as Stripe.Invoice;
}

describe('plan invoices by billing_reason', () => {
  it('credits the plan of the price paid for a new or renewed period, whatever the metadata says', () => {
    for (const reason of ['subscription_create', 'subscription_cycle']) {
      expect(planInvoiceCredit(invoice(reason, [line(studio, 9900)]), prices)).toEqual({
        kind: 'credit',
        mt: 1_500_000n,
        planId: 'studio',
        periodEnd: new Date(END * 1000),
        reason,
      });
    }
  });

  it('credits an upgrade the difference for the period left, and a downgrade nothing', () => {
    // Half the period left: -950 for unused creator time, +4950 for studio.
    const up = planInvoiceCredit(invoice('subscription_update', [line(creator, -950, true), line(studio, 4950, true)]), prices);
    expect(up).toMatchObject({ kind: 'credit', mt: 625_000n, planId: 'studio' });
    const down = planInvoiceCredit(invoice('subscription_update', [line(studio, -4950, true), line(creator, 950, true)]), prices);
    expect(down.kind).toBe('nothing_due');
    // A third of the period left, rounded cents: floor(1500 * 3300/9900 - 250 * 633/1900) tokens, in millitokens.
    const third = planInvoiceCredit(invoice('subscription_update', [line(creator, -633, true), line(studio, 3300, true)]), prices);
    expect(third).toMatchObject({ kind: 'credit', mt: 416_710n });
  });

  it("credits a renewal paid from the customer's Stripe balance, and nothing for an invoice that paid nothing", () => {
    const fromBalance = {
      ...invoice('subscription_cycle', [line(studio, 9900)]),
      amount_paid: 0,
      amount_due: 0,
      total: 9900,
      starting_balance: -9900,
    };
    expect(planInvoiceCredit(fromBalance, prices)).toMatchObject({ kind: 'credit', mt: 1_500_000n, planId: 'studio' });
    const coupon = { ...invoice('subscription_cycle', [line(studio, 9900)]), amount_paid: 0, amount_due: 0, total: 0 };
    expect(planInvoiceCredit(coupon, prices).kind).toBe('nothing_due');
  });

  it('credits nothing for manual and other reasons, or lines that are not our plans', () => {
    expect(planInvoiceCredit(invoice('manual', [line(studio, 9900)]), prices)).toEqual({
      kind: 'odd',
      detail: 'billing_reason manual credits no tokens',
    });
    expect(planInvoiceCredit(invoice('subscription_threshold', [line(studio, 9900)]), prices).kind).toBe('odd');
    expect(planInvoiceCredit(invoice('subscription_cycle', [line(studio, 9900)]), new Map()).kind).toBe('odd');
  });

  it('reads a plan from price metadata, else from its lookup key', () => {
    const price = (p: Partial<Stripe.Price>) =>
      ({ id: 'price_1', unit_amount: 1900, metadata: {}, lookup_key: null, ...p }) as Stripe.Price;
    const plan = DEFAULT_CATALOG.plans[0];
    expect(planOfPrice(price({ metadata: { tokens: '300', catalog_id: 'creator' } }), DEFAULT_CATALOG)).toMatchObject({
      planId: 'creator',
      tokens: 300,
    });
    expect(planOfPrice(price({ lookup_key: lookupKey('plan', plan) }), DEFAULT_CATALOG)).toMatchObject({ planId: 'creator', tokens: 250 });
    expect(planOfPrice(price({ lookup_key: 'someone_elses' }), DEFAULT_CATALOG)).toBeNull();
  });
});
