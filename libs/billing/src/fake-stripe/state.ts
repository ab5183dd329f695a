import type Stripe from 'stripe';
import { ApiError, type FormRecord, int, str, strList } from './form.js';
import { apiList, eventObject, stripeObject } from './objects.js';

/** What a Checkout Session was created with but Stripe does not show on the session object. */
export interface SessionExtras {
  lineItems: { price: string; quantity: number }[];
  paymentIntentMetadata: Stripe.Metadata;
  subscriptionMetadata: Stripe.Metadata;
  /** payment_intent_data[setup_future_usage]: completing the session saves the card to the customer. */
  setupFutureUsage?: 'off_session';
}

/** What an off-session PaymentIntent confirmed with a saved card does, chosen per payment method by the test. */
export type OffSessionOutcome = 'succeed' | 'decline' | 'requires_action';

/** The API call being executed: API-triggered events name it in `request`, as Stripe's do. */
export interface RequestContext {
  id: string;
  idempotencyKey: string | null;
}

interface Listable {
  id: string;
  created: number;
}

/** Everything the fake knows; Maps keep insertion order, which is the order lists page in (newest first). */
export class FakeStripeState {
  readonly customers = new Map<string, Stripe.Customer>();
  readonly products = new Map<string, Stripe.Product>();
  readonly prices = new Map<string, Stripe.Price>();
  readonly sessions = new Map<string, Stripe.Checkout.Session>();
  readonly sessionExtras = new Map<string, SessionExtras>();
  readonly subscriptions = new Map<string, Stripe.Subscription>();
  readonly invoices = new Map<string, Stripe.Invoice>();
  readonly invoicePayments = new Map<string, Stripe.InvoicePayment>();
  readonly paymentIntents = new Map<string, Stripe.PaymentIntent>();
  readonly charges = new Map<string, Stripe.Charge>();
  readonly refunds = new Map<string, Stripe.Refund>();
  readonly disputes = new Map<string, Stripe.Dispute>();
  readonly setupIntents = new Map<string, Stripe.SetupIntent>();
  readonly paymentMethods = new Map<string, Stripe.PaymentMethod>();
  readonly events: Stripe.Event[] = [];
  invoiceSeq = 0;
  /** Per payment method: outcomes queued for the next PaymentIntents (one each), then the standing one (default succeed). */
  readonly offSessionOutcomes = new Map<string, { queue: OffSessionOutcome[]; standing: OffSessionOutcome }>();
  /** Idempotency-Key (as sent, not scoped) -> the ids of the PaymentIntents requests with it created. */
  readonly paymentIntentsByKey = new Map<string, string[]>();
  /** Set by the server around each executed API call. */
  request: RequestContext | null = null;
  /** Events the current API call produced; the server delivers them after it has answered. */
  outbox: Stripe.Event[] = [];

  constructor(private readonly clockMs: () => number) {}

  /** Unix seconds, as every Stripe timestamp. */
  now(): number {
    return Math.floor(this.clockMs() / 1000);
  }

  /** The outcome for the next off-session PaymentIntent on this card, consuming one queued outcome if any. */
  takeOutcome(paymentMethodId: string): OffSessionOutcome {
    const o = this.offSessionOutcomes.get(paymentMethodId);
    if (!o) return 'succeed';
    return o.queue.shift() ?? o.standing;
  }

  /** An event an API call caused (not a control): recorded, naming the request, and queued for delivery after the answer. */
  apiEvent(type: Stripe.Event.Type, object: object): Stripe.Event {
    const e = eventObject(this.now(), type, object);
    if (this.request) e.request = { id: this.request.id, idempotency_key: this.request.idempotencyKey };
    this.events.push(e);
    this.outbox.push(e);
    return e;
  }

  /** Longest prefixes first: `inpay_` must not be taken for an `in_` invoice. */
  private byPrefix(): [string, Map<string, Listable>][] {
    return [
      ['inpay_', this.invoicePayments],
      ['seti_', this.setupIntents],
      ['pm_', this.paymentMethods],
      ['price_', this.prices],
      ['prod_', this.products],
      ['cus_', this.customers],
      ['cs_', this.sessions],
      ['sub_', this.subscriptions],
      ['in_', this.invoices],
      ['pi_', this.paymentIntents],
      ['ch_', this.charges],
      ['re_', this.refunds],
      ['dp_', this.disputes],
    ];
  }

  find(id: string): Listable | undefined {
    for (const [prefix, map] of this.byPrefix()) if (id.startsWith(prefix)) return map.get(id);
    return undefined;
  }

  /** The object or Stripe's 404 (`resource_missing`), naming the parameter that held the id. */
  get<T>(map: Map<string, T>, id: string, what: string, param = 'id'): T {
    const found = map.get(id);
    if (!found) throw new ApiError(404, `No such ${what}: '${id}'`, param, 'resource_missing');
    return found;
  }

  /** A copy of `obj` with each `expand[]` path (`customer`, `subscription.latest_invoice`, `line_items`) filled in. */
  expand<T extends object>(obj: T, paths: string[]): T {
    const copy = structuredClone(obj);
    for (const path of paths) {
      const segs = path.split('.');
      if (segs.length > 4) throw new ApiError(400, `You cannot expand more than 4 levels of a property (${path}).`, 'expand');
      this.expandPath(copy as Record<string, unknown>, segs, path);
    }
    return copy;
  }

  private expandPath(target: Record<string, unknown>, segs: string[], full: string): void {
    const [head, ...rest] = segs;
    let value = target[head];
    if (value === undefined) value = this.includable(target, head);
    else if (typeof value === 'string') value = structuredClone(this.find(value));
    if (value === undefined) throw new ApiError(400, `This property cannot be expanded (${full}).`, 'expand');
    target[head] = value;
    if (rest.length && value && typeof value === 'object') this.expandPath(value as Record<string, unknown>, rest, full);
  }

  /** Fields Stripe leaves out unless asked for: a session's line items, an invoice's payments. */
  private includable(target: Record<string, unknown>, field: string): unknown {
    const id = target.id as string;
    if (target.object === 'checkout.session' && field === 'line_items') {
      const extras = this.sessionExtras.get(id);
      const items = (extras?.lineItems ?? []).map((li, i) => {
        const price = this.get(this.prices, li.price, 'price');
        const amount = (price.unit_amount ?? 0) * li.quantity;
        return stripeObject<Stripe.LineItem>({
          id: `li_${id.slice(-20)}${i}`,
          object: 'item',
          amount_discount: 0,
          amount_subtotal: amount,
          amount_tax: 0,
          amount_total: amount,
          currency: price.currency,
          description: price.nickname,
          metadata: {},
          price,
          quantity: li.quantity,
        });
      });
      return apiList(`/v1/checkout/sessions/${id}/line_items`, items);
    }
    if (target.object === 'invoice' && field === 'payments') {
      const payments = [...this.invoicePayments.values()].filter((p) => p.invoice === id);
      return apiList(`/v1/invoice_payments?invoice=${id}`, payments);
    }
    return undefined;
  }

  /**
   * Stripe's list semantics: newest first, `limit` 1–100 (default 10),
   * `starting_after` / `ending_before` cursors, `has_more`. The SDK's
   * auto-pagination asks for the next page with `starting_after` = last id of
   * the page while `has_more` is true, so has_more is false on the last page.
   */
  list<T extends Listable>(items: Iterable<T>, q: FormRecord, url: string, filter: (x: T) => boolean = () => true): Stripe.ApiList<T> {
    const limit = int(q, 'limit', { min: 1, max: 100 }) ?? 10;
    const created = createdFilter(q);
    const all = [...items].reverse().filter((x) => created(x.created) && filter(x));
    const after = str(q, 'starting_after');
    const before = str(q, 'ending_before');
    const indexOf = (id: string, param: string) => {
      const at = all.findIndex((x) => x.id === id);
      if (at < 0) throw new ApiError(400, `No such object: '${id}'`, param, 'resource_missing');
      return at;
    };
    let from: number;
    let to: number;
    let hasMore: boolean;
    if (before !== undefined) {
      to = indexOf(before, 'ending_before');
      from = Math.max(0, to - limit);
      hasMore = from > 0;
    } else {
      from = after === undefined ? 0 : indexOf(after, 'starting_after') + 1;
      to = Math.min(all.length, from + limit);
      hasMore = to < all.length;
    }
    const expand = strList(q, 'expand').map((p) => {
      if (!p.startsWith('data.')) throw new ApiError(400, `Expand paths on a list start with 'data.' (${p}).`, 'expand');
      return p.slice(5);
    });
    return apiList(
      url,
      all.slice(from, to).map((x) => this.expand(x, expand)),
      hasMore,
    );
  }
}

/** `created=123` or `created[gte]=…&created[lt]=…`. */
function createdFilter(q: FormRecord): (t: number) => boolean {
  const c = q.created;
  if (c === undefined) return () => true;
  if (typeof c === 'string') {
    const at = int(q, 'created');
    return (t) => t === at;
  }
  const bound = (k: string) => int(c, k, { prefix: 'created' });
  const [gt, gte, lt, lte] = [bound('gt'), bound('gte'), bound('lt'), bound('lte')];
  return (t) =>
    (gt === undefined || t > gt) && (gte === undefined || t >= gte) && (lt === undefined || t < lt) && (lte === undefined || t <= lte);
}
