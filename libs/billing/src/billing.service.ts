import { Database, Errors } from '@app/common';
import { Ledger } from '@app/ledger';
import { Inject, Injectable } from '@nestjs/common';
import type Stripe from 'stripe';
import { CATALOG, catalogView, lookupKey } from './catalog.js';
import type { Catalog, Pack } from './catalog.js';
import { noStripe, STRIPE } from './stripe.client.js';
import type { CreateCheckoutSessionDto, CreatePortalSessionDto } from './dto/checkout.dto.js';

interface Item {
  kind: 'pack' | 'plan';
  item: Pack;
}

/** The catalog, Checkout and the billing portal: everything that sends a customer to Stripe. */
@Injectable()
export class BillingService {
  private priceIds = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    @Inject(CATALOG) private readonly catalog: Catalog,
    @Inject(STRIPE) private readonly stripe: Stripe | null,
  ) {}

  view() {
    return catalogView(this.catalog);
  }

  /** The wallet a Stripe payment intent paid (a credited pack or plan payment) or tried to (an auto top-up); null when none. */
  async walletOfPaymentIntent(paymentIntent: string): Promise<string | null> {
    const rows = await this.db.query<{ wallet_id: string }>(
      `SELECT wallet_id FROM stripe_payments WHERE payment_intent = $1
       UNION ALL SELECT wallet_id FROM auto_top_up_attempts WHERE payment_intent = $1 LIMIT 1`,
      [paymentIntent],
    );
    return rows[0]?.wallet_id ?? null;
  }

  private client(): Stripe {
    if (!this.stripe) throw noStripe();
    return this.stripe;
  }

  private items(): Item[] {
    return [
      ...this.catalog.packs.map((item) => ({ kind: 'pack' as const, item })),
      ...this.catalog.plans.map((item) => ({ kind: 'plan' as const, item })),
    ];
  }

  /**
   * Creates or finds every catalog product and price in Stripe. Prices are
   * found by lookup key (which carries the amount), and created with an
   * idempotency key, so running it twice, or from two places at once, makes
   * nothing twice.
   */
  async syncCatalog(onProgress?: (line: string) => void): Promise<{ created: string[]; found: string[] }> {
    const stripe = this.client();
    const items = this.items();
    const keys = items.map((i) => lookupKey(i.kind, i.item));
    const existing = await stripe.prices.list({ lookup_keys: keys, active: true, limit: 100 });
    const byKey = new Map(existing.data.map((p) => [p.lookup_key as string, p.id]));
    const created: string[] = [];
    const found: string[] = [];
    for (const [n, { kind, item }] of items.entries()) {
      const key = lookupKey(kind, item);
      let id = byKey.get(key);
      if (id) found.push(key);
      else {
        const product = await stripe.products.create(
          {
            name: `${item.tokens} tokens${kind === 'plan' ? ` a month (${item.id})` : ''}`,
            metadata: { catalog_id: item.id, kind, tokens: String(item.tokens) },
          },
          { idempotencyKey: `tw-product-${key}` },
        );
        const price = await stripe.prices.create(
          {
            product: product.id,
            currency: 'usd',
            unit_amount: item.usd_cents,
            lookup_key: key,
            ...(kind === 'plan' ? { recurring: { interval: 'month' as const } } : {}),
            metadata: { catalog_id: item.id, tokens: String(item.tokens) },
          },
          { idempotencyKey: `tw-price-${key}` },
        );
        id = price.id;
        created.push(key);
      }
      this.priceIds.set(key, id);
      onProgress?.(`[${n + 1}/${items.length}] ${key} ${created.includes(key) ? 'created' : 'found'}`);
    }
    return { created, found };
  }

  private async priceId(kind: 'pack' | 'plan', item: Pack): Promise<string> {
    const key = lookupKey(kind, item);
    if (!this.priceIds.has(key)) await this.syncCatalog();
    return this.priceIds.get(key) as string;
  }

  /** The wallet's Stripe customer, created once: an idempotency key per wallet makes a race create one. */
  private async customerFor(ownerId: string): Promise<{ walletId: string; customer: string }> {
    const rows = await this.db.query<{ id: string; stripe_customer_id: string | null }>(
      `SELECT id, stripe_customer_id FROM wallets WHERE owner_id = $1`,
      [ownerId],
    );
    const wallet = rows[0];
    if (!wallet) throw Errors.notFound('wallet_not_found', `No wallet for owner ${ownerId}`);
    if (wallet.stripe_customer_id) return { walletId: wallet.id, customer: wallet.stripe_customer_id };
    const customer = await this.client().customers.create(
      { metadata: { owner_id: ownerId, wallet_id: wallet.id } },
      { idempotencyKey: `tw-customer-${wallet.id}` },
    );
    await this.ledger.setStripeCustomer(wallet.id, customer.id);
    return { walletId: wallet.id, customer: customer.id };
  }

  async checkout(dto: CreateCheckoutSessionDto): Promise<{ id: string; url: string | null; mode: string }> {
    if ((dto.pack_id === undefined) === (dto.plan_id === undefined)) {
      throw Errors.validation('Give either pack_id or plan_id', [
        { field: dto.pack_id ? 'plan_id' : 'pack_id', message: 'give either pack_id or plan_id' },
      ]);
    }
    const kind = dto.pack_id ? 'pack' : 'plan';
    if (dto.save_payment_method && kind !== 'pack') {
      throw Errors.validation('save_payment_method goes with a pack (a plan saves its card with the subscription)', [
        { field: 'save_payment_method', message: 'save_payment_method goes with pack_id' },
      ]);
    }
    const item =
      kind === 'pack' ? this.catalog.packs.find((p) => p.id === dto.pack_id) : this.catalog.plans.find((p) => p.id === dto.plan_id);
    if (!item) throw Errors.notFound(`${kind}_not_found`, `No ${kind} ${dto.pack_id ?? dto.plan_id} in the catalog`);
    const { walletId, customer } = await this.customerFor(dto.owner_id);
    // The tokens bought travel in the (signed) event, so a later catalog change cannot alter a sale.
    const metadata = { owner_id: dto.owner_id, wallet_id: walletId, [`${kind}_id`]: item.id, tokens: String(item.tokens) };
    const session = await this.client().checkout.sessions.create({
      mode: kind === 'pack' ? 'payment' : 'subscription',
      customer,
      client_reference_id: dto.owner_id,
      line_items: [{ price: await this.priceId(kind, item), quantity: 1 }],
      success_url: dto.success_url,
      cancel_url: dto.cancel_url,
      metadata,
      ...(kind === 'pack'
        ? {
            payment_intent_data: {
              metadata: dto.save_payment_method ? { ...metadata, save_payment_method: 'true' } : metadata,
              ...(dto.save_payment_method ? { setup_future_usage: 'off_session' as const } : {}),
            },
          }
        : { subscription_data: { metadata } }),
    });
    return { id: session.id, url: session.url, mode: session.mode };
  }

  /** A setup-mode Checkout: the customer saves a card for off-session charges (auto top-up), nothing is paid. */
  async setupSession(dto: {
    owner_id: string;
    success_url: string;
    cancel_url: string;
  }): Promise<{ id: string; url: string | null; mode: string }> {
    const { walletId, customer } = await this.customerFor(dto.owner_id);
    const metadata = { owner_id: dto.owner_id, wallet_id: walletId, save_payment_method: 'true' };
    const session = await this.client().checkout.sessions.create({
      mode: 'setup',
      customer,
      currency: 'usd',
      client_reference_id: dto.owner_id,
      success_url: dto.success_url,
      cancel_url: dto.cancel_url,
      metadata,
      setup_intent_data: { metadata },
    });
    return { id: session.id, url: session.url, mode: session.mode };
  }

  async portal(dto: CreatePortalSessionDto): Promise<{ url: string }> {
    const { customer } = await this.customerFor(dto.owner_id);
    const session = await this.client().billingPortal.sessions.create({ customer, return_url: dto.return_url });
    return { url: session.url };
  }
}
