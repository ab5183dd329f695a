import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { catalogRoutes, type Route } from './catalog.api.js';
import { createControls, type FakeStripeControls } from './controls.js';
import { ApiError, CardError, parseForm } from './form.js';
import { intentRoutes } from './intents.api.js';
import { API_VERSION, newId } from './objects.js';
import { paymentRoutes } from './payments.api.js';
import { FakeStripeState } from './state.js';
import { AutoDelivery, type DeliverOptions, type Delivery, WebhookSender } from './webhooks.js';

export type { CompleteCheckoutOptions, ControlResult, DeliverFlag, OffSessionOutcome } from './controls.js';
export type { DeliverOptions, Delivery } from './webhooks.js';
export { API_VERSION } from './objects.js';

/**
 * A real HTTP server speaking the slice of Stripe's v1 API the billing code
 * calls through the real `stripe` SDK (`new Stripe(key, { host, port,
 * protocol: 'http' })`), plus in-process controls that play the customer and
 * Stripe's side: completing checkouts, renewing, changing plans mid-period
 * (proration invoices), manual invoices, refunding, disputing and closing
 * disputes, each POSTing correctly signed events to `webhookUrl` (or only
 * recording them, `deliver: false`, for a test to send in any order).
 *
 * API: customers (update takes `invoice_settings[default_payment_method]`),
 * products, prices (lookup keys), checkout sessions (payment mode, optionally
 * `payment_intent_data[setup_future_usage]=off_session`; subscription mode; setup
 * mode with `setup_intent_data`), billing portal sessions, invoices, invoice
 * payments, subscriptions, setup intents and payment methods (read), a
 * customer's payment methods, payment intents (read; create only confirmed with
 * a saved card, `confirm=true`, usually `off_session=true`, whose outcome the
 * test sets per card: setOffSessionOutcome / setOffSessionOutcomes), charges,
 * disputes, events. Any `sk_…` or `rk_…` bearer key is accepted; none is a 401.
 * An `Idempotency-Key` replays the stored answer of an executed request, a 200
 * or a 402 card error (header `Idempotent-Replayed: true`); a 400 on validation
 * is not stored; the same key with other parameters is a 400
 * `idempotency_error`, as at Stripe. Unknown parameters are a 400, so a typo in
 * the service's call fails a test instead of passing silently.
 *
 * Events an API call causes (an off-session charge's charge.succeeded /
 * payment_intent.succeeded, charge.failed / payment_intent.payment_failed,
 * payment_intent.requires_action) are POSTed by the fake itself right after
 * the answer, with `request: { id, idempotency_key }` filled in; holdDeliveries
 * keeps them back (heldEvents, flushHeld, redeliver), `deliveries` logs the
 * statuses and deliveriesSettled waits for them.
 */
export interface FakeStripeOptions {
  webhookUrl?: string;
  webhookSecret: string;
  port?: number;
  host?: string;
  /** Milliseconds since the epoch for `created` and billing periods; lets a test move time. Default Date.now. Signatures always use the wall clock. */
  now?: () => number;
}

export interface FakeStripeRequest {
  method: string;
  path: string;
  status: number;
  /** Answered from the idempotency store, not executed again. */
  replayed: boolean;
}

export interface FakeStripe extends FakeStripeControls {
  /** http://host:port, no trailing slash (the service's STRIPE_API_BASE). */
  url: string;
  port: number;
  close(): Promise<void>;
  setWebhookUrl(url: string): void;
  /** (Re)sends any event: duplicates, concurrency, bad signatures. The HTTP status, 0 when unreachable. */
  deliver(event: Stripe.Event, o?: DeliverOptions): Promise<number>;
  /** `t=…,v1=…` exactly as Stripe signs (HMAC-SHA256 hex of `${t}.${payload}`), with the configured secret unless given. */
  signedHeader(payload: string, o?: { secret?: string; timestamp?: number }): string;
  customers: Map<string, Stripe.Customer>;
  products: Map<string, Stripe.Product>;
  prices: Map<string, Stripe.Price>;
  sessions: Map<string, Stripe.Checkout.Session>;
  subscriptions: Map<string, Stripe.Subscription>;
  invoices: Map<string, Stripe.Invoice>;
  invoicePayments: Map<string, Stripe.InvoicePayment>;
  paymentIntents: Map<string, Stripe.PaymentIntent>;
  charges: Map<string, Stripe.Charge>;
  refunds: Map<string, Stripe.Refund>;
  disputes: Map<string, Stripe.Dispute>;
  setupIntents: Map<string, Stripe.SetupIntent>;
  paymentMethods: Map<string, Stripe.PaymentMethod>;
  /** Every event built, delivered or not, in order. */
  events: Stripe.Event[];
  /** The automatic deliveries of API-triggered events, in the order they were answered. */
  deliveries: Delivery[];
  /** Every API call received, in order. */
  requests: FakeStripeRequest[];
}

const MAX_BODY_BYTES = 1 << 20;

interface Stored {
  method: string;
  path: string;
  body: string;
  status: number;
  response: string;
}

export async function startFakeStripe(opts: FakeStripeOptions): Promise<FakeStripe> {
  const state = new FakeStripeState(opts.now ?? Date.now);
  const hooks = new WebhookSender(opts.webhookUrl, opts.webhookSecret);
  const auto = new AutoDelivery(hooks);
  const controls = createControls(state, hooks, auto);
  const routes: Route[] = [...catalogRoutes(state), ...paymentRoutes(state), ...intentRoutes(state)];
  const requests: FakeStripeRequest[] = [];
  // Scoped per API key, as Stripe scopes keys per account.
  const idempotency = new Map<string, Stored>();

  const send = (res: ServerResponse, requestId: string, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'request-id': requestId,
      'stripe-version': API_VERSION,
      ...headers,
    });
    res.end(body);
  };
  const errorBody = (e: ApiError) =>
    JSON.stringify({
      error: { type: e.type, message: e.message, param: e.param, code: e.code, ...(e instanceof CardError ? e.fields : {}) },
    });

  const execute = (method: string, path: string, query: string, body: string): string => {
    const candidates = routes.filter(([, re]) => re.test(path));
    const route = candidates.find(([m]) => m === method);
    if (!route) throw new ApiError(404, `Unrecognized request URL (${method}: ${path}).`);
    const [, re, handler] = route;
    const params = (re.exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p));
    return JSON.stringify(handler(parseForm(method === 'GET' ? query : body), params));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake');
    const entry: FakeStripeRequest = { method, path: url.pathname, status: 0, replayed: false };
    requests.push(entry);
    const requestId = newId('req', 14);
    // Events the call caused are POSTed by the fake itself once the answer is on its way, as Stripe sends them.
    let caused: Stripe.Event[] = [];
    const reply = (status: number, body: string, headers?: Record<string, string>) => {
      entry.status = status;
      send(res, requestId, status, body, headers);
      if (caused.length) {
        const events = caused;
        setImmediate(() => auto.send(events));
      }
    };
    try {
      const body = await readBody(req);
      const auth = /^Bearer ((?:sk|rk)_\S+)$/.exec(req.headers.authorization ?? '');
      if (!auth) {
        throw new ApiError(
          401,
          'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.',
        );
      }
      if (method === 'POST' && /json/i.test(req.headers['content-type'] ?? '')) {
        throw new ApiError(400, 'The v1 API takes application/x-www-form-urlencoded bodies, not JSON.');
      }
      const key = method === 'POST' ? req.headers['idempotency-key'] : undefined;
      const scoped = typeof key === 'string' ? `${auth[1]}\n${key}` : undefined;
      const stored = scoped ? idempotency.get(scoped) : undefined;
      if (stored && typeof key === 'string') {
        if (stored.method !== method || stored.path !== url.pathname || stored.body !== body) {
          throw new ApiError(
            400,
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            undefined,
            undefined,
            'idempotency_error',
          );
        }
        entry.replayed = true;
        return reply(stored.status, stored.response, { 'idempotency-key': key, 'idempotent-replayed': 'true' });
      }
      const keyHeader: Record<string, string> = typeof key === 'string' ? { 'idempotency-key': key } : {};
      state.request = { id: requestId, idempotencyKey: typeof key === 'string' ? key : null };
      state.outbox = [];
      let response: string;
      try {
        response = execute(method, url.pathname, url.search.slice(1), body);
      } catch (e) {
        // A card error comes from an executed request (the intent exists, failed): stored and replayed like a 200.
        if (e instanceof CardError) {
          const failed = errorBody(e);
          if (scoped) idempotency.set(scoped, { method, path: url.pathname, body, status: e.status, response: failed });
          caused = state.outbox;
          return reply(e.status, failed, keyHeader);
        }
        throw e;
      } finally {
        state.request = null;
      }
      caused = state.outbox;
      // Only executed requests are stored, as at Stripe: a 400 on validation can be retried with the same key.
      if (scoped) idempotency.set(scoped, { method, path: url.pathname, body, status: 200, response });
      reply(200, response, keyHeader);
    } catch (e) {
      if (e instanceof ApiError) return reply(e.status, errorBody(e));
      // A bug in the fake: say so, and tell the SDK not to retry it.
      const message = e instanceof Error ? e.message : String(e);
      reply(500, JSON.stringify({ error: { type: 'api_error', message: `fake Stripe failure: ${message}` } }), {
        'stripe-should-retry': 'false',
      });
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    ...controls,
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps sockets alive; without this close() waits for them to time out.
        server.closeAllConnections();
      }),
    setWebhookUrl: (u: string) => {
      hooks.url = u;
    },
    deliver: (event: Stripe.Event, o?: DeliverOptions) => hooks.deliver(event, o),
    signedHeader: (payload: string, o?: { secret?: string; timestamp?: number }) => hooks.signedHeader(payload, o),
    customers: state.customers,
    products: state.products,
    prices: state.prices,
    sessions: state.sessions,
    subscriptions: state.subscriptions,
    invoices: state.invoices,
    invoicePayments: state.invoicePayments,
    paymentIntents: state.paymentIntents,
    charges: state.charges,
    refunds: state.refunds,
    disputes: state.disputes,
    setupIntents: state.setupIntents,
    paymentMethods: state.paymentMethods,
    events: state.events,
    deliveries: auto.log,
    requests,
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'Request body too large.'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
