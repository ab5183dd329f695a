import type Stripe from 'stripe';
import { allowOnly, ApiError, bool, type FormRecord, hash, int, metadata, str, strList } from './form.js';
import { customerObject, newId, priceObject, productObject, stripeObject } from './objects.js';
import type { FakeStripeState } from './state.js';

/** A route handler: the parsed query or body, the path's captures; answers the JSON body of a 200. */
export type Handler = (form: FormRecord, params: string[]) => unknown;
export type Route = [method: 'GET' | 'POST', path: RegExp, handler: Handler];

const INTERVALS = ['day', 'week', 'month', 'year'] as const;

/** Customers, products, prices and billing-portal sessions: what the catalog sync and checkout set up. */
export function catalogRoutes(s: FakeStripeState): Route[] {
  const expand = (form: FormRecord) => strList(form, 'expand');
  const retrieve =
    <T extends object>(map: Map<string, T>, what: string): Handler =>
    (form, [id]) => {
      allowOnly(form, []);
      return s.expand(s.get(map, id, what), expand(form));
    };

  const customerFields = ['email', 'name', 'description', 'metadata', 'phone', 'preferred_locales'];
  const updateCustomer: Handler = (form, [id]) => {
    allowOnly(form, [...customerFields, 'invoice_settings']);
    const c = s.get(s.customers, id, 'customer');
    const invoiceSettings = hash(form, 'invoice_settings');
    if (invoiceSettings) {
      allowOnly(invoiceSettings, ['default_payment_method'], 'invoice_settings');
      const param = 'invoice_settings[default_payment_method]';
      const raw = invoiceSettings.default_payment_method;
      if (raw !== undefined && typeof raw !== 'string') throw new ApiError(400, `Invalid string: ${param}`, param);
      // An empty string unsets it, as at Stripe.
      if (raw === '') c.invoice_settings.default_payment_method = null;
      else if (raw !== undefined) {
        const pm = s.paymentMethods.get(raw);
        if (!pm) throw new ApiError(404, `No such PaymentMethod: '${raw}'`, param, 'resource_missing');
        if (pm.customer !== id) {
          throw new ApiError(
            400,
            `The customer does not have a payment method with the ID ${raw}. The payment method must be attached to the customer.`,
            param,
          );
        }
        c.invoice_settings.default_payment_method = raw;
      }
    }
    c.email = str(form, 'email') ?? c.email;
    c.name = str(form, 'name') ?? c.name;
    c.description = str(form, 'description') ?? c.description;
    c.metadata = metadata(form, 'metadata', c.metadata);
    return s.expand(c, expand(form));
  };
  const createCustomer: Handler = (form) => {
    allowOnly(form, customerFields);
    const c = customerObject(s.now(), {
      email: str(form, 'email'),
      name: str(form, 'name'),
      description: str(form, 'description'),
      metadata: metadata(form),
    });
    s.customers.set(c.id, c);
    return s.expand(c, expand(form));
  };

  const productFields = ['id', 'name', 'description', 'active', 'metadata'];
  const createProduct: Handler = (form) => {
    allowOnly(form, productFields);
    const p = productObject(s.now(), {
      name: str(form, 'name', { required: true }),
      description: str(form, 'description'),
      active: bool(form, 'active') ?? true,
      metadata: metadata(form),
    });
    // Stripe lets the caller choose a product id, which makes catalog seeding idempotent.
    const id = str(form, 'id');
    if (id !== undefined) {
      if (s.products.has(id)) throw new ApiError(400, `Product already exists.`, 'id', 'resource_already_exists');
      p.id = id;
    }
    s.products.set(p.id, p);
    return s.expand(p, expand(form));
  };
  const updateProduct: Handler = (form, [id]) => {
    allowOnly(form, productFields.slice(1));
    const p = s.get(s.products, id, 'product');
    p.name = str(form, 'name') ?? p.name;
    p.description = str(form, 'description') ?? p.description;
    p.active = bool(form, 'active') ?? p.active;
    p.metadata = metadata(form, 'metadata', p.metadata);
    p.updated = s.now();
    return s.expand(p, expand(form));
  };

  /** Lookup keys are unique across prices: a taken key is an error unless `transfer_lookup_key` moves it. */
  const claimLookupKey = (form: FormRecord, price: Stripe.Price) => {
    const key = str(form, 'lookup_key');
    if (key === undefined) return;
    const holder = [...s.prices.values()].find((p) => p.lookup_key === key && p.id !== price.id);
    if (holder && bool(form, 'transfer_lookup_key') !== true) {
      throw new ApiError(400, `A price (\`${holder.id}\`) already uses that lookup key.`, 'lookup_key');
    }
    if (holder) holder.lookup_key = null;
    price.lookup_key = key;
  };
  const createPrice: Handler = (form) => {
    allowOnly(form, [
      'product',
      'product_data',
      'unit_amount',
      'currency',
      'recurring',
      'lookup_key',
      'transfer_lookup_key',
      'metadata',
      'nickname',
      'active',
      'tax_behavior',
    ]);
    let product = str(form, 'product');
    const productData = hash(form, 'product_data');
    if (productData) {
      allowOnly(productData, ['name', 'metadata'], 'product_data');
      const p = productObject(s.now(), {
        name: str(productData, 'name', { required: true, prefix: 'product_data' }),
        active: true,
        metadata: metadata(productData),
      });
      s.products.set(p.id, p);
      product = p.id;
    }
    if (product === undefined) throw new ApiError(400, 'Missing required param: product.', 'product');
    s.get(s.products, product, 'product', 'product');
    const recurring = hash(form, 'recurring');
    let interval: (typeof INTERVALS)[number] | undefined;
    if (recurring) {
      allowOnly(recurring, ['interval', 'interval_count'], 'recurring');
      const i = str(recurring, 'interval', { required: true, prefix: 'recurring' });
      interval = INTERVALS.find((x) => x === i);
      if (!interval) throw new ApiError(400, `Invalid recurring[interval]: must be one of ${INTERVALS.join(', ')}`, 'recurring[interval]');
    }
    const currency = str(form, 'currency', { required: true }).toLowerCase();
    const price = priceObject(s.now(), {
      product,
      unitAmount: int(form, 'unit_amount', { required: true, min: 0 }) ?? 0,
      currency,
      recurring: interval && recurring ? { interval, interval_count: int(recurring, 'interval_count', { min: 1 }) ?? 1 } : undefined,
      nickname: str(form, 'nickname'),
      active: bool(form, 'active') ?? true,
      metadata: metadata(form),
    });
    claimLookupKey(form, price);
    s.prices.set(price.id, price);
    return s.expand(price, expand(form));
  };
  const updatePrice: Handler = (form, [id]) => {
    allowOnly(form, ['active', 'lookup_key', 'transfer_lookup_key', 'metadata', 'nickname']);
    const price = s.get(s.prices, id, 'price');
    claimLookupKey(form, price);
    price.active = bool(form, 'active') ?? price.active;
    price.nickname = str(form, 'nickname') ?? price.nickname;
    price.metadata = metadata(form, 'metadata', price.metadata);
    return s.expand(price, expand(form));
  };
  const listPrices: Handler = (form) => {
    allowOnly(form, ['active', 'currency', 'product', 'type', 'lookup_keys', 'limit', 'starting_after', 'ending_before', 'created']);
    const keys = strList(form, 'lookup_keys');
    if (keys.length > 10) throw new ApiError(400, 'lookup_keys can hold at most 10 keys', 'lookup_keys');
    const [active, currency, product, type] = [bool(form, 'active'), str(form, 'currency'), str(form, 'product'), str(form, 'type')];
    return s.list(
      s.prices.values(),
      form,
      '/v1/prices',
      (p) =>
        (active === undefined || p.active === active) &&
        (currency === undefined || p.currency === currency.toLowerCase()) &&
        (product === undefined || p.product === product) &&
        (type === undefined || p.type === type) &&
        (keys.length === 0 || (p.lookup_key !== null && keys.includes(p.lookup_key))),
    );
  };

  const createPortalSession: Handler = (form) => {
    allowOnly(form, ['customer', 'return_url', 'configuration', 'locale', 'flow_data']);
    const customer = str(form, 'customer', { required: true });
    s.get(s.customers, customer, 'customer', 'customer');
    const id = newId('bps');
    return stripeObject<Stripe.BillingPortal.Session>({
      id,
      object: 'billing_portal.session',
      configuration: 'bpc_fake_default',
      created: s.now(),
      customer,
      flow: null,
      livemode: false,
      locale: null,
      on_behalf_of: null,
      return_url: str(form, 'return_url') ?? null,
      url: `https://billing.fake.local/p/session/${id}`,
    });
  };

  return [
    ['POST', /^\/v1\/customers$/, createCustomer],
    [
      'GET',
      /^\/v1\/customers$/,
      (form) => {
        allowOnly(form, ['email', 'limit', 'starting_after', 'ending_before', 'created']);
        const email = str(form, 'email');
        return s.list(s.customers.values(), form, '/v1/customers', (c) => email === undefined || c.email === email);
      },
    ],
    ['GET', /^\/v1\/customers\/([^/]+)$/, retrieve(s.customers, 'customer')],
    ['POST', /^\/v1\/customers\/([^/]+)$/, updateCustomer],
    ['POST', /^\/v1\/products$/, createProduct],
    [
      'GET',
      /^\/v1\/products$/,
      (form) => {
        allowOnly(form, ['active', 'ids', 'limit', 'starting_after', 'ending_before', 'created']);
        const [active, ids] = [bool(form, 'active'), strList(form, 'ids')];
        return s.list(
          s.products.values(),
          form,
          '/v1/products',
          (p) => (active === undefined || p.active === active) && (ids.length === 0 || ids.includes(p.id)),
        );
      },
    ],
    ['GET', /^\/v1\/products\/([^/]+)$/, retrieve(s.products, 'product')],
    ['POST', /^\/v1\/products\/([^/]+)$/, updateProduct],
    ['POST', /^\/v1\/prices$/, createPrice],
    ['GET', /^\/v1\/prices$/, listPrices],
    ['GET', /^\/v1\/prices\/([^/]+)$/, retrieve(s.prices, 'price')],
    ['POST', /^\/v1\/prices\/([^/]+)$/, updatePrice],
    ['POST', /^\/v1\/billing_portal\/sessions$/, createPortalSession],
  ];
}
