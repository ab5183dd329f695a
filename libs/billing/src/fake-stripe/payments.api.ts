import type Stripe from 'stripe';
import type { Handler, Route } from './catalog.api.js';
import { allowOnly, ApiError, type FormRecord, hash, int, list, metadata, str, strList } from './form.js';
import { newId, stripeObject } from './objects.js';
import { setupIntentObject } from './payment-objects.js';
import type { FakeStripeState } from './state.js';

const LIST_PARAMS = ['limit', 'starting_after', 'ending_before', 'created'];

/** Checkout parameters Stripe takes that change nothing the fake models; accepted and ignored. */
const IGNORED_SESSION_PARAMS = [
  'allow_promotion_codes',
  'automatic_tax',
  'billing_address_collection',
  'customer_creation',
  'customer_update',
  'expires_at',
  'invoice_creation',
  'locale',
  'payment_method_types',
  'submit_type',
  'ui_mode',
];

/** Checkout Sessions and what paying them leaves behind: invoices, subscriptions, intents, charges, events. */
export function paymentRoutes(s: FakeStripeState): Route[] {
  const retrieve =
    <T extends object>(map: Map<string, T>, what: string): Handler =>
    (form, [id]) => {
      allowOnly(form, []);
      return s.expand(s.get(map, id, what), strList(form, 'expand'));
    };

  const createSession: Handler = (form) => {
    allowOnly(form, [
      'mode',
      'customer',
      'customer_email',
      'client_reference_id',
      'line_items',
      'success_url',
      'cancel_url',
      'metadata',
      'payment_intent_data',
      'subscription_data',
      'setup_intent_data',
      'currency',
      ...IGNORED_SESSION_PARAMS,
    ]);
    const mode = str(form, 'mode', { required: true });
    if (mode !== 'payment' && mode !== 'subscription' && mode !== 'setup') {
      throw new ApiError(400, `Invalid mode: the fake Stripe supports payment, subscription and setup, not ${mode}`, 'mode');
    }
    const customer = str(form, 'customer');
    if (customer !== undefined) s.get(s.customers, customer, 'customer', 'customer');
    const clientReferenceId = str(form, 'client_reference_id');
    if (clientReferenceId !== undefined && clientReferenceId.length > 200) {
      throw new ApiError(400, 'client_reference_id can be at most 200 characters', 'client_reference_id');
    }
    // Setup mode saves a card and charges nothing: no line items, no total.
    if (mode === 'setup' && form.line_items !== undefined) {
      throw new ApiError(400, 'You cannot pass `line_items` in `setup` mode.', 'line_items');
    }
    const items = mode === 'setup' ? [] : lineItems(s, form, mode);
    const piData = hash(form, 'payment_intent_data');
    const subData = hash(form, 'subscription_data');
    const setupData = hash(form, 'setup_intent_data');
    if (setupData && mode !== 'setup') throw new ApiError(400, 'setup_intent_data can only be used in setup mode.', 'setup_intent_data');
    if (setupData) allowOnly(setupData, ['metadata', 'description'], 'setup_intent_data');
    // Stripe refuses the other mode's options rather than ignoring them.
    if (piData && mode !== 'payment')
      throw new ApiError(400, 'payment_intent_data can only be used in payment mode.', 'payment_intent_data');
    if (subData && mode !== 'subscription')
      throw new ApiError(400, 'subscription_data can only be used in subscription mode.', 'subscription_data');
    if (piData)
      allowOnly(
        piData,
        ['metadata', 'description', 'receipt_email', 'statement_descriptor', 'statement_descriptor_suffix', 'setup_future_usage'],
        'payment_intent_data',
      );
    const setupFutureUsage = piData ? str(piData, 'setup_future_usage', { prefix: 'payment_intent_data' }) : undefined;
    if (setupFutureUsage !== undefined && setupFutureUsage !== 'off_session') {
      throw new ApiError(
        400,
        `The fake Stripe supports payment_intent_data[setup_future_usage]=off_session, not ${setupFutureUsage}`,
        'payment_intent_data[setup_future_usage]',
      );
    }
    const currency = str(form, 'currency')?.toLowerCase();
    if (subData) allowOnly(subData, ['metadata', 'description'], 'subscription_data');

    const now = s.now();
    const total = items.reduce((sum, i) => sum + (i.price.unit_amount ?? 0) * i.quantity, 0);
    const id = newId('cs_test', 58);
    const sessionMetadata = metadata(form);
    let setupIntent: Stripe.SetupIntent | undefined;
    if (mode === 'setup') {
      setupIntent = setupIntentObject(now, {
        customer: customer ?? null,
        // The SetupIntent carries the session's metadata, setup_intent_data[metadata] over it.
        metadata: setupData ? metadata(setupData, 'metadata', sessionMetadata) : { ...sessionMetadata },
        description: setupData ? str(setupData, 'description', { prefix: 'setup_intent_data' }) : undefined,
      });
      s.setupIntents.set(setupIntent.id, setupIntent);
    }
    const session = stripeObject<Stripe.Checkout.Session>({
      id,
      object: 'checkout.session',
      amount_subtotal: mode === 'setup' ? null : total,
      amount_total: mode === 'setup' ? null : total,
      cancel_url: str(form, 'cancel_url') ?? null,
      client_reference_id: clientReferenceId ?? null,
      created: now,
      currency: mode === 'setup' ? (currency ?? null) : items[0].price.currency,
      customer: customer ?? null,
      customer_details: null,
      customer_email: str(form, 'customer_email') ?? null,
      expires_at: now + 24 * 3600,
      invoice: null,
      livemode: false,
      metadata: sessionMetadata,
      mode,
      payment_intent: null,
      payment_method_types: ['card'],
      // Stripe's value for a session that charges nothing.
      payment_status: mode === 'setup' ? 'no_payment_required' : 'unpaid',
      setup_intent: setupIntent?.id ?? null,
      status: 'open',
      subscription: null,
      success_url: str(form, 'success_url') ?? null,
      total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
      ui_mode: 'hosted_page',
      // Never fetched: tests complete the session through FakeStripe.completeCheckout.
      url: `https://checkout.fake.local/c/${id}`,
    });
    s.sessions.set(id, session);
    s.sessionExtras.set(id, {
      lineItems: items.map((i) => ({ price: i.price.id, quantity: i.quantity })),
      paymentIntentMetadata: piData ? metadata(piData) : {},
      subscriptionMetadata: subData ? metadata(subData) : {},
      ...(setupFutureUsage ? { setupFutureUsage } : {}),
    });
    return s.expand(session, strList(form, 'expand'));
  };

  const eq = (want: string | undefined, have: unknown) => want === undefined || want === have;

  return [
    ['POST', /^\/v1\/checkout\/sessions$/, createSession],
    [
      'GET',
      /^\/v1\/checkout\/sessions$/,
      (form) => {
        allowOnly(form, ['status', 'customer', 'payment_intent', 'subscription', ...LIST_PARAMS]);
        const [status, customer, pi, sub] = ['status', 'customer', 'payment_intent', 'subscription'].map((k) => str(form, k));
        return s.list(
          s.sessions.values(),
          form,
          '/v1/checkout/sessions',
          (x) => eq(status, x.status) && eq(customer, x.customer) && eq(pi, x.payment_intent) && eq(sub, x.subscription),
        );
      },
    ],
    ['GET', /^\/v1\/checkout\/sessions\/([^/]+)$/, retrieve(s.sessions, 'checkout.session')],
    [
      'GET',
      /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/,
      (form, [id]) => {
        allowOnly(form, LIST_PARAMS);
        return s.expand(s.get(s.sessions, id, 'checkout.session'), ['line_items']).line_items;
      },
    ],
    [
      'GET',
      /^\/v1\/invoices$/,
      (form) => {
        allowOnly(form, ['status', 'customer', 'subscription', 'collection_method', ...LIST_PARAMS]);
        const [status, customer, sub] = ['status', 'customer', 'subscription'].map((k) => str(form, k));
        return s.list(
          s.invoices.values(),
          form,
          '/v1/invoices',
          (x) => eq(status, x.status) && eq(customer, x.customer) && eq(sub, x.parent?.subscription_details?.subscription),
        );
      },
    ],
    ['GET', /^\/v1\/invoices\/([^/]+)$/, retrieve(s.invoices, 'invoice')],
    [
      'GET',
      /^\/v1\/invoice_payments$/,
      (form) => {
        allowOnly(form, ['invoice', 'payment', 'status', ...LIST_PARAMS]);
        const payment = hash(form, 'payment');
        const [invoice, status] = [str(form, 'invoice'), str(form, 'status')];
        const pi = payment && str(payment, 'payment_intent', { prefix: 'payment' });
        return s.list(
          s.invoicePayments.values(),
          form,
          '/v1/invoice_payments',
          (x) => eq(invoice, x.invoice) && eq(status, x.status) && eq(pi, x.payment.payment_intent),
        );
      },
    ],
    [
      'GET',
      /^\/v1\/subscriptions$/,
      (form) => {
        allowOnly(form, ['customer', 'price', 'status', ...LIST_PARAMS]);
        const [customer, price, status] = [str(form, 'customer'), str(form, 'price'), str(form, 'status')];
        // Like Stripe, a list without a status leaves out canceled subscriptions.
        const statusOk = (x: Stripe.Subscription) =>
          status === 'all' ? true : status === undefined ? x.status !== 'canceled' : x.status === status;
        return s.list(
          s.subscriptions.values(),
          form,
          '/v1/subscriptions',
          (x) => statusOk(x) && eq(customer, x.customer) && (price === undefined || x.items.data.some((i) => i.price.id === price)),
        );
      },
    ],
    ['GET', /^\/v1\/subscriptions\/([^/]+)$/, retrieve(s.subscriptions, 'subscription')],
    ['GET', /^\/v1\/payment_intents\/([^/]+)$/, retrieve(s.paymentIntents, 'payment_intent')],
    [
      'GET',
      /^\/v1\/charges$/,
      (form) => {
        allowOnly(form, ['customer', 'payment_intent', ...LIST_PARAMS]);
        const [customer, pi] = [str(form, 'customer'), str(form, 'payment_intent')];
        return s.list(s.charges.values(), form, '/v1/charges', (x) => eq(customer, x.customer) && eq(pi, x.payment_intent));
      },
    ],
    ['GET', /^\/v1\/charges\/([^/]+)$/, retrieve(s.charges, 'charge')],
    ['GET', /^\/v1\/disputes\/([^/]+)$/, retrieve(s.disputes, 'dispute')],
    [
      'GET',
      /^\/v1\/events\/([^/]+)$/,
      (form, [id]) => {
        allowOnly(form, []);
        const event = s.events.find((e) => e.id === id);
        if (!event) throw new ApiError(404, `No such event: '${id}'`, 'id', 'resource_missing');
        return event;
      },
    ],
  ];
}

/**
 * Validates `line_items` the way Stripe would for the modes the fake models:
 * known, active prices in one currency; one-time prices in payment mode;
 * exactly one recurring price in subscription mode (what a plan checkout sends).
 */
function lineItems(s: FakeStripeState, form: FormRecord, mode: 'payment' | 'subscription') {
  const raw = list(form, 'line_items');
  if (raw.length === 0) throw new ApiError(400, 'Missing required param: line_items.', 'line_items');
  const items = raw.map((li, i) => {
    const prefix = `line_items[${i}]`;
    if (typeof li === 'string') throw new ApiError(400, `Invalid ${prefix}: must be a hash`, prefix);
    allowOnly(li, ['price', 'quantity'], prefix);
    const priceId = str(li, 'price', { required: true, prefix });
    const price = s.get(s.prices, priceId, 'price', `${prefix}[price]`);
    if (!price.active) throw new ApiError(400, `The price specified (${priceId}) is inactive.`, `${prefix}[price]`);
    return { price, quantity: int(li, 'quantity', { min: 1, prefix }) ?? 1 };
  });
  if (new Set(items.map((i) => i.price.currency)).size > 1)
    throw new ApiError(400, 'All line items must share one currency.', 'line_items');
  if (mode === 'payment' && items.some((i) => i.price.type === 'recurring')) {
    throw new ApiError(
      400,
      'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.',
      'line_items',
    );
  }
  if (mode === 'subscription' && (items.length !== 1 || items[0].price.type !== 'recurring')) {
    throw new ApiError(400, 'The fake Stripe supports subscription mode with exactly one recurring price.', 'line_items');
  }
  return items;
}
