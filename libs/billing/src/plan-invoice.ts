import type Stripe from 'stripe';
import type { Catalog } from './catalog.js';

/** A Stripe price that is one of our plans: what a line of it is worth in tokens. */
export interface PlanPrice {
  priceId: string;
  planId: string;
  /** Whole tokens for one unit for one full period. */
  tokens: number;
  /** Cents for one unit for one full period (what a proration line's amount is a share of). */
  unitAmount: number;
}

const LOOKUP_KEY = /^tw_plan_([a-z0-9_-]{1,40})_(\d+)$/;

/**
 * The plan a price sells: the tokens our catalog sync wrote on the price
 * (metadata `tokens`, `catalog_id`), else the catalog plan its lookup key
 * names (`tw_plan_<id>_<cents>`, see catalog.ts lookupKey). Null for a price
 * that is not one of our plans.
 */
export function planOfPrice(price: Stripe.Price, catalog: Catalog): PlanPrice | null {
  const unitAmount = price.unit_amount ?? 0;
  const fromKey = price.lookup_key ? LOOKUP_KEY.exec(price.lookup_key) : null;
  const tokens = Number(price.metadata?.tokens);
  if (Number.isSafeInteger(tokens) && tokens > 0) {
    const planId = price.metadata?.catalog_id || fromKey?.[1] || price.id;
    return { priceId: price.id, planId, tokens, unitAmount };
  }
  const plan = fromKey ? catalog.plans.find((p) => p.id === fromKey[1]) : undefined;
  return plan ? { priceId: price.id, planId: plan.id, tokens: plan.tokens, unitAmount } : null;
}

/** The price id of an invoice line (a string, or the object when expanded). */
export function linePriceId(line: Stripe.InvoiceLineItem): string | null {
  const p = line.pricing?.price_details?.price;
  return p ? (typeof p === 'string' ? p : p.id) : null;
}

/** A proration line: one the subscription change generated (an invoice item) or a prorated subscription item. */
export function isProration(line: Stripe.InvoiceLineItem): boolean {
  return Boolean(line.parent?.subscription_item_details?.proration || line.parent?.invoice_item_details?.proration);
}

export type PlanCredit =
  | { kind: 'credit'; mt: bigint; planId: string; periodEnd: Date; reason: string }
  /** A plan invoice that owes no tokens: a downgrade, a free invoice. Matched, not odd. */
  | { kind: 'nothing_due'; detail: string }
  /** An invoice that credits nothing and that reconcile reports: `manual`, unknown reasons, not our plan. */
  | { kind: 'odd'; detail: string };

const CREDITING = new Set<string>(['subscription_create', 'subscription_cycle', 'subscription_update']);

/** Whether a paid invoice's billing_reason can credit tokens at all (its prices are worth reading). */
export const mayCreditTokens = (invoice: Stripe.Invoice) => invoice.status === 'paid' && CREDITING.has(invoice.billing_reason ?? '');

/**
 * What a paid subscription invoice credits, by its `billing_reason` and the
 * prices on its lines (never the subscription's metadata, which a plan
 * change leaves naming the old plan):
 *
 * - `subscription_create`, `subscription_cycle`: each plan line for a period
 *   is worth its plan's tokens times its quantity;
 * - proration lines (a `subscription_update` invoice, or prorations billed on
 *   the next cycle) are worth the plan's tokens in the share of the period
 *   they bill: `tokens * amount / unit_amount`, since Stripe prices a
 *   proration as that share of the unit price. The credit for unused time on
 *   the old plan is negative, so an upgrade credits the difference for the
 *   period left, never the whole plan again;
 * - the total is floored at zero: a downgrade credits nothing;
 * - `manual` and every other reason credit nothing and are odd.
 *
 * The credit expires at the end of the latest period its lines bill.
 */
export function planInvoiceCredit(invoice: Stripe.Invoice, prices: ReadonlyMap<string, PlanPrice>): PlanCredit {
  const reason = invoice.billing_reason ?? 'none';
  if (!CREDITING.has(reason)) return { kind: 'odd', detail: `billing_reason ${reason} credits no tokens` };
  if (!invoice.parent?.subscription_details) return { kind: 'odd', detail: `a ${reason} invoice without a subscription` };
  // Paid by card, or from the customer's Stripe balance (a renewal that a downgrade's credit covers has amount_paid 0
  // and a total to pay); a total of zero or less (a full coupon, a downgrade) paid nothing.
  if (invoice.amount_paid <= 0 && !(invoice.total > 0)) return { kind: 'nothing_due', detail: `${reason} invoice paid nothing` };
  // An exact sum of fractions (num / den) so that the rounding happens once, at the end, down.
  let num = 0n;
  let den = 1n;
  let periodEnd = 0;
  let planId: string | null = null;
  let best = -1n;
  for (const line of invoice.lines?.data ?? []) {
    const priceId = linePriceId(line);
    const plan = priceId ? prices.get(priceId) : undefined;
    if (!plan) continue;
    const mt = BigInt(plan.tokens) * 1000n;
    let n: bigint;
    let d = 1n;
    if (isProration(line)) {
      if (plan.unitAmount <= 0) continue;
      n = mt * BigInt(line.amount);
      d = BigInt(plan.unitAmount);
    } else {
      n = mt * BigInt(line.quantity ?? 1);
    }
    num = num * d + n * den;
    den *= d;
    periodEnd = Math.max(periodEnd, line.period?.end ?? 0);
    if (n / d > best) {
      best = n / d;
      planId = plan.planId;
    }
  }
  if (!planId || periodEnd === 0) return { kind: 'odd', detail: `no line of the ${reason} invoice is one of our plans` };
  const mt = num > 0n ? num / den : 0n;
  if (mt === 0n) return { kind: 'nothing_due', detail: `${reason} invoice owes no tokens (a downgrade or no change)` };
  return { kind: 'credit', mt, planId, periodEnd: new Date(periodEnd * 1000), reason };
}
