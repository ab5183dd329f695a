import { Inject, Injectable } from '@nestjs/common';
import Stripe from 'stripe';
import { CATALOG, type Catalog } from './catalog.js';
import { linePriceId, mayCreditTokens, planOfPrice, type PlanPrice } from './plan-invoice.js';
import { noStripe, STRIPE } from './stripe.client.js';

const MAX_CACHED = 1_000;

/**
 * The plans an invoice's lines sell, read from the prices themselves (an
 * event names a line's price by id only). Asked before the transaction,
 * never while it holds locks. A price's tokens and lookup key do not change
 * once it is made, so what was read is kept.
 */
@Injectable()
export class PlanPrices {
  private readonly cache = new Map<string, PlanPrice | null>();

  constructor(
    @Inject(CATALOG) private readonly catalog: Catalog,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
  ) {}

  /** The plans of a paid invoice's lines; none for an invoice whose billing_reason credits nothing. */
  async forInvoice(invoice: Stripe.Invoice): Promise<Map<string, PlanPrice>> {
    const out = new Map<string, PlanPrice>();
    if (!mayCreditTokens(invoice)) return out;
    for (const line of invoice.lines?.data ?? []) {
      const id = linePriceId(line);
      if (!id || out.has(id)) continue;
      const expanded = line.pricing?.price_details?.price;
      const plan = typeof expanded === 'object' && expanded ? planOfPrice(expanded, this.catalog) : await this.byId(id);
      if (plan) out.set(id, plan);
    }
    return out;
  }

  private async byId(id: string): Promise<PlanPrice | null> {
    if (this.cache.has(id)) return this.cache.get(id) ?? null;
    // Without Stripe the plan cannot be known: a 503 makes Stripe deliver the event again later.
    if (!this.stripe) throw noStripe();
    let plan: PlanPrice | null;
    try {
      plan = planOfPrice(await this.stripe.prices.retrieve(id), this.catalog);
    } catch (e) {
      if (!(e instanceof Stripe.errors.StripeInvalidRequestError && e.code === 'resource_missing')) throw e;
      plan = null;
    }
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(id, plan);
    return plan;
  }
}
