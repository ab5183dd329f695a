import type Stripe from 'stripe';
import {
  disputeObject,
  invoiceObject,
  invoicePaymentObject,
  type LineSpec,
  paymentMethodObject,
  paymentObjects,
  refundObject,
  subscriptionObject,
} from './payment-objects.js';
import { addMonth, customerObject, eventObject, idOf } from './objects.js';
import type { FakeStripeState, OffSessionOutcome } from './state.js';
import type { AutoDelivery, WebhookSender } from './webhooks.js';

export type { OffSessionOutcome } from './state.js';

/** The events a control built (in delivery order) and the HTTP status of each delivery (none when deliver:false; 0 = unreachable). */
export interface ControlResult {
  events: Stripe.Event[];
  statuses: number[];
}

export interface DeliverFlag {
  /** false: build and record the events without POSTing them (deliver them later with FakeStripe.deliver). */
  deliver?: boolean;
}

export interface CompleteCheckoutOptions extends DeliverFlag {
  /** Payment mode only: a delayed method (bank debit); the session completes 'unpaid' until asyncPaymentSucceeded. */
  async?: boolean;
  /**
   * Subscription mode: 'subscription_first' (default) sends checkout.session.completed,
   * customer.subscription.created, invoice.paid; 'invoice_first' sends invoice.paid,
   * customer.subscription.created, checkout.session.completed; or list the three types in the order wanted.
   */
  order?: 'subscription_first' | 'invoice_first' | Stripe.Event.Type[];
}

const SUBSCRIPTION_FIRST: Stripe.Event.Type[] = ['checkout.session.completed', 'customer.subscription.created', 'invoice.paid'];
const INVOICE_FIRST: Stripe.Event.Type[] = ['invoice.paid', 'customer.subscription.created', 'checkout.session.completed'];

/** What a test does in place of a customer, a bank or Stripe's billing clock; each builds objects, records events and delivers them. */
export function createControls(s: FakeStripeState, hooks: WebhookSender, auto: AutoDelivery) {
  const need = <T>(map: Map<string, T>, id: string, what: string): T => {
    const found = map.get(id);
    if (!found) throw new Error(`FakeStripe: no ${what} ${id}`);
    return found;
  };
  const event = (type: Stripe.Event.Type, object: object, previous?: object) => eventObject(s.now(), type, object, previous);
  const emit = async (events: Stripe.Event[], o: DeliverFlag = {}): Promise<ControlResult> => {
    s.events.push(...events);
    return { events, statuses: o.deliver === false ? [] : await hooks.deliverAll(events) };
  };

  /**
   * A paid invoice for the subscription's current item period (or the lines given), with the intent,
   * charge and invoice payment behind it when something was due.
   */
  const payInvoice = (sub: Stripe.Subscription, reason: Stripe.Invoice.BillingReason, lines?: LineSpec[]) => {
    const now = s.now();
    const item = sub.items.data[0];
    const cust = s.customers.get(idOf(sub.customer));
    const invoice = invoiceObject(now, {
      sub,
      reason,
      number: `FAKE-${String(++s.invoiceSeq).padStart(6, '0')}`,
      periodStart: item.current_period_start,
      periodEnd: item.current_period_end,
      lines,
      balance: cust?.balance ?? 0,
    });
    if (cust) cust.balance = invoice.ending_balance ?? cust.balance;
    s.invoices.set(invoice.id, invoice);
    sub.latest_invoice = invoice.id;
    if (invoice.amount_paid <= 0) return invoice;
    const customer = idOf(sub.customer);
    const { pi, charge } = paymentObjects(now, {
      amount: invoice.amount_paid,
      currency: invoice.currency,
      customer,
      metadata: {},
      pending: false,
      description: reason === 'subscription_create' ? 'Subscription creation' : 'Subscription update',
    });
    const payment = invoicePaymentObject(now, invoice, pi);
    s.paymentIntents.set(pi.id, pi);
    s.charges.set(charge.id, charge);
    s.invoicePayments.set(payment.id, payment);
    return invoice;
  };

  const chargeOf = (paymentIntentId: string) => {
    const pi = need(s.paymentIntents, paymentIntentId, 'payment intent');
    const charge = need(s.charges, idOf(pi.latest_charge), 'charge');
    if (charge.status !== 'succeeded') throw new Error(`FakeStripe: charge ${charge.id} is ${charge.status}, not succeeded`);
    return charge;
  };

  /** The customer a session ends with: Checkout makes one when it must keep something (a subscription, a saved card). */
  const sessionCustomer = (session: Stripe.Checkout.Session): string => {
    if (session.customer) return idOf(session.customer);
    const c = customerObject(s.now(), { email: session.customer_email ?? undefined, metadata: {} });
    s.customers.set(c.id, c);
    return c.id;
  };

  const saveCard = (customer: string | null, email?: string | null) => {
    const pm = paymentMethodObject(s.now(), { customer, email });
    s.paymentMethods.set(pm.id, pm);
    return pm;
  };

  /** Setup mode: the buyer enters a card, which is saved to the customer; nothing is charged. */
  const completeSetup = (session: Stripe.Checkout.Session) => {
    const si = need(s.setupIntents, idOf(session.setup_intent), 'setup intent');
    // Without a customer Stripe leaves the card unattached, usable once; the fake does the same.
    const customer = session.customer ? idOf(session.customer) : null;
    const pm = saveCard(customer, session.customer_email);
    Object.assign(si, { status: 'succeeded', payment_method: pm.id, usage: 'off_session', customer } satisfies Partial<Stripe.SetupIntent>);
    Object.assign(session, { status: 'complete', customer_details: customerDetails(session) } satisfies Partial<Stripe.Checkout.Session>);
    return [event('checkout.session.completed', session), event('setup_intent.succeeded', si)];
  };

  const completeSubscription = (session: Stripe.Checkout.Session, o: CompleteCheckoutOptions) => {
    const now = s.now();
    const extras = need(s.sessionExtras, session.id, 'session extras');
    // Subscription mode always ends with a customer: Checkout creates one when the session had none.
    const customer = sessionCustomer(session);
    const [line] = extras.lineItems;
    const sub = subscriptionObject(now, {
      customer,
      price: structuredClone(need(s.prices, line.price, 'price')),
      quantity: line.quantity,
      metadata: { ...extras.subscriptionMetadata },
      periodStart: now,
      periodEnd: addMonth(now),
    });
    s.subscriptions.set(sub.id, sub);
    const invoice = payInvoice(sub, 'subscription_create');
    Object.assign(session, {
      status: 'complete',
      payment_status: 'paid',
      customer,
      customer_details: customerDetails(session),
      subscription: sub.id,
      invoice: invoice.id,
    } satisfies Partial<Stripe.Checkout.Session>);
    const order = o.order === 'invoice_first' ? INVOICE_FIRST : Array.isArray(o.order) ? o.order : SUBSCRIPTION_FIRST;
    const built: Partial<Record<Stripe.Event.Type, Stripe.Event>> = {
      'checkout.session.completed': event('checkout.session.completed', session),
      'customer.subscription.created': event('customer.subscription.created', sub),
      'invoice.paid': event('invoice.paid', invoice),
    };
    return order.map((t) => {
      const e = built[t];
      if (!e) throw new Error(`FakeStripe: completeCheckout order lists ${t}, which subscription checkout does not send`);
      return e;
    });
  };

  return {
    async completeCheckout(sessionId: string, o: CompleteCheckoutOptions = {}): Promise<ControlResult> {
      const session = need(s.sessions, sessionId, 'checkout session');
      if (session.status !== 'open') throw new Error(`FakeStripe: session ${sessionId} is ${session.status}, not open`);
      if (session.mode === 'subscription') {
        if (o.async) throw new Error('FakeStripe: async payment is modeled for payment mode only');
        return emit(completeSubscription(session, o), o);
      }
      if (session.mode === 'setup') {
        if (o.async) throw new Error('FakeStripe: async payment is modeled for payment mode only');
        return emit(completeSetup(session), o);
      }
      const extras = need(s.sessionExtras, sessionId, 'session extras');
      // setup_future_usage: the card is saved to the customer (one is made if the session had none) and named on the intent.
      const saving = extras.setupFutureUsage === 'off_session';
      const customer = saving ? sessionCustomer(session) : (session.customer as string | null);
      const pm = saving ? saveCard(customer, session.customer_email) : undefined;
      const { pi, charge } = paymentObjects(s.now(), {
        amount: session.amount_total ?? 0,
        currency: session.currency ?? 'usd',
        customer,
        metadata: { ...extras.paymentIntentMetadata },
        pending: o.async === true,
        paymentMethod: pm,
        setupFutureUsage: extras.setupFutureUsage,
      });
      s.paymentIntents.set(pi.id, pi);
      s.charges.set(charge.id, charge);
      Object.assign(session, {
        status: 'complete',
        payment_status: o.async ? 'unpaid' : 'paid',
        payment_intent: pi.id,
        customer,
        customer_details: customerDetails(session),
      } satisfies Partial<Stripe.Checkout.Session>);
      const events = [event('checkout.session.completed', session)];
      // Only for a saving checkout, so the event counts of plain pack checkouts stay as they were.
      if (saving && !o.async) events.push(event('payment_intent.succeeded', pi));
      return emit(events, o);
    },

    async asyncPaymentSucceeded(sessionId: string, o: DeliverFlag = {}): Promise<ControlResult> {
      const { session, pi, charge } = pendingPayment(sessionId);
      Object.assign(pi, { status: 'succeeded', amount_received: pi.amount });
      Object.assign(charge, { status: 'succeeded', paid: true, captured: true, amount_captured: charge.amount });
      session.payment_status = 'paid';
      const events = [event('checkout.session.async_payment_succeeded', session)];
      if (pi.setup_future_usage) events.push(event('payment_intent.succeeded', pi));
      return emit(events, o);
    },

    async asyncPaymentFailed(sessionId: string, o: DeliverFlag = {}): Promise<ControlResult> {
      const { session, pi, charge } = pendingPayment(sessionId);
      pi.status = 'requires_payment_method';
      Object.assign(charge, { status: 'failed', failure_code: 'account_closed', failure_message: 'The bank account has been closed.' });
      const events = [event('checkout.session.async_payment_failed', session)];
      if (pi.setup_future_usage) events.push(event('payment_intent.payment_failed', pi));
      return emit(events, o);
    },

    /** The next period: the item's period moves on one month, then that period's invoice is paid. */
    async renewSubscription(subscriptionId: string, o: DeliverFlag = {}): Promise<ControlResult> {
      const sub = need(s.subscriptions, subscriptionId, 'subscription');
      if (sub.status !== 'active') throw new Error(`FakeStripe: subscription ${subscriptionId} is ${sub.status}`);
      const previous = { items: structuredClone(sub.items), latest_invoice: sub.latest_invoice };
      const item = sub.items.data[0];
      item.current_period_start = item.current_period_end;
      item.current_period_end = addMonth(item.current_period_start);
      const invoice = payInvoice(sub, 'subscription_cycle');
      return emit([event('customer.subscription.updated', sub, previous), event('invoice.paid', invoice)], o);
    },

    /**
     * A plan change in the middle of a period, as `subscriptions.update` with
     * `proration_behavior: 'always_invoice'` does: the item moves to the new
     * price at once, and an invoice (billing_reason subscription_update) is
     * paid at once for the prorations: a credit for the unused time on the old
     * price and a charge for the remaining time on the new one, each the share
     * of the unit price that the time left is of the period. The subscription's
     * metadata is left as it was, naming the plan bought at checkout.
     */
    async changePlan(subscriptionId: string, priceId: string, o: DeliverFlag = {}): Promise<ControlResult> {
      const sub = need(s.subscriptions, subscriptionId, 'subscription');
      if (sub.status !== 'active') throw new Error(`FakeStripe: subscription ${subscriptionId} is ${sub.status}`);
      const price = need(s.prices, priceId, 'price');
      if (price.type !== 'recurring') throw new Error(`FakeStripe: price ${priceId} is not recurring`);
      const item = sub.items.data[0];
      const now = s.now();
      const period = item.current_period_end - item.current_period_start;
      const left = item.current_period_end - now;
      if (left <= 0 || left > period) throw new Error(`FakeStripe: ${now} is outside the current period of ${subscriptionId}`);
      const quantity = item.quantity ?? 1;
      const share = (p: Stripe.Price) => Math.round(((p.unit_amount ?? 0) * quantity * left) / period);
      const previous = { items: structuredClone(sub.items) };
      const old = item.price;
      item.price = structuredClone(price);
      const span = { quantity, periodStart: now, periodEnd: item.current_period_end, proration: true };
      const invoice = payInvoice(sub, 'subscription_update', [
        { ...span, price: old, amount: -share(old), description: `Unused time on ${old.nickname ?? old.id}` },
        { ...span, price: item.price, amount: share(price), description: `Remaining time on ${price.nickname ?? price.id}` },
      ]);
      return emit([event('customer.subscription.updated', sub, previous), event('invoice.paid', invoice)], o);
    },

    /** A one-off invoice for the subscription's price, made by hand (billing_reason manual): it buys no plan period. */
    async payManualInvoice(subscriptionId: string, o: DeliverFlag = {}): Promise<ControlResult> {
      const sub = need(s.subscriptions, subscriptionId, 'subscription');
      return emit([event('invoice.paid', payInvoice(sub, 'manual'))], o);
    },

    async cancelSubscription(subscriptionId: string, o: DeliverFlag = {}): Promise<ControlResult> {
      const sub = need(s.subscriptions, subscriptionId, 'subscription');
      if (sub.status === 'canceled') throw new Error(`FakeStripe: subscription ${subscriptionId} is already canceled`);
      const now = s.now();
      Object.assign(sub, {
        status: 'canceled',
        canceled_at: now,
        ended_at: now,
        cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: 'cancellation_requested' },
      } satisfies Partial<Stripe.Subscription>);
      return emit([event('customer.subscription.deleted', sub)], o);
    },

    /** charge.refunded; `amount_refunded` on the charge is cumulative over all refunds, `refunded` true once it is all. */
    async refund(paymentIntentId: string, amountCents: number, o: DeliverFlag = {}): Promise<ControlResult> {
      const charge = chargeOf(paymentIntentId);
      if (!Number.isSafeInteger(amountCents) || amountCents <= 0 || charge.amount_refunded + amountCents > charge.amount) {
        throw new Error(`FakeStripe: cannot refund ${amountCents} of ${charge.id} (${charge.amount_refunded}/${charge.amount} refunded)`);
      }
      const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
      const refund = refundObject(s.now(), charge, amountCents);
      s.refunds.set(refund.id, refund);
      charge.amount_refunded += amountCents;
      charge.refunded = charge.amount_refunded === charge.amount;
      return emit([event('charge.refunded', charge, previous)], o);
    },

    /** charge.dispute.created for the intent's charge (one dispute per charge, as at Stripe); the whole charge unless `amountCents`. */
    async dispute(paymentIntentId: string, amountCents?: number, o: DeliverFlag = {}): Promise<ControlResult> {
      const charge = chargeOf(paymentIntentId);
      const amount = amountCents ?? charge.amount;
      if (charge.disputed) throw new Error(`FakeStripe: charge ${charge.id} is already disputed`);
      if (!Number.isSafeInteger(amount) || amount <= 0 || amount > charge.amount) {
        throw new Error(`FakeStripe: cannot dispute ${amount} of ${charge.id} (amount ${charge.amount})`);
      }
      const dispute = disputeObject(s.now(), charge, amount);
      s.disputes.set(dispute.id, dispute);
      charge.disputed = true;
      return emit([event('charge.dispute.created', dispute)], o);
    },

    /** charge.dispute.closed: the bank decided for the merchant (`won`, the money comes back) or the customer (`lost`). */
    async closeDispute(paymentIntentId: string, status: 'won' | 'lost', o: DeliverFlag = {}): Promise<ControlResult> {
      const charge = chargeOf(paymentIntentId);
      const dispute = [...s.disputes.values()].find((d) => d.charge === charge.id);
      if (!dispute) throw new Error(`FakeStripe: charge ${charge.id} has no dispute`);
      if (dispute.status === 'won' || dispute.status === 'lost')
        throw new Error(`FakeStripe: dispute ${dispute.id} is already ${dispute.status}`);
      dispute.status = status;
      return emit([event('charge.dispute.closed', dispute)], o);
    },

    /**
     * What the next off-session PaymentIntents confirmed with this card do (default 'succeed'): the standing
     * outcome, for every one from now on; clears any queued outcomes.
     */
    setOffSessionOutcome(paymentMethodId: string, outcome: OffSessionOutcome): void {
      s.offSessionOutcomes.set(paymentMethodId, { queue: [], standing: outcome });
    },

    /** A queue of outcomes, one consumed per PaymentIntent created with this card (replays consume none); then the standing one. */
    setOffSessionOutcomes(paymentMethodId: string, outcomes: OffSessionOutcome[]): void {
      const standing = s.offSessionOutcomes.get(paymentMethodId)?.standing ?? 'succeed';
      s.offSessionOutcomes.set(paymentMethodId, { queue: [...outcomes], standing });
    },

    /** A card saved to the customer as a Checkout would leave it (no event); `makeDefault` also sets invoice_settings.default_payment_method. */
    addPaymentMethod(customerId: string, o: { makeDefault?: boolean } = {}): Stripe.PaymentMethod {
      const customer = need(s.customers, customerId, 'customer');
      const pm = saveCard(customerId, customer.email);
      if (o.makeDefault) customer.invoice_settings.default_payment_method = pm.id;
      return pm;
    },

    /** The customer's PaymentIntents (Checkout's, invoices', off-session ones), oldest first. */
    paymentIntentsFor(customerId: string): Stripe.PaymentIntent[] {
      return [...s.paymentIntents.values()].filter((pi) => idOf(pi.customer) === customerId);
    },

    /** The distinct PaymentIntents created by requests carrying this Idempotency-Key (a replay creates none). */
    paymentIntentsForKey(idempotencyKey: string): Stripe.PaymentIntent[] {
      return [...new Set(s.paymentIntentsByKey.get(idempotencyKey) ?? [])].map((id) => need(s.paymentIntents, id, 'payment intent'));
    },

    /**
     * true: events caused by API calls are recorded and kept in `heldEvents` instead of being POSTed.
     * false: they are POSTed again from now on; the held ones stay held (flushHeld or redeliver sends them).
     */
    holdDeliveries(hold: boolean): void {
      auto.hold = hold;
    },

    /** The API-triggered events held back, in order. */
    heldEvents(): Stripe.Event[] {
      return [...auto.held];
    },

    /** Sends the held events, one after another in order, and forgets them. */
    async flushHeld(): Promise<ControlResult> {
      const events = auto.held.splice(0);
      return { events, statuses: await hooks.deliverAll(events) };
    },

    /** POSTs a recorded event `times` times at once (duplicate, concurrent deliveries); the statuses, in request order. */
    async redeliver(eventId: string, times = 1): Promise<number[]> {
      const e = s.events.find((x) => x.id === eventId);
      if (!e) throw new Error(`FakeStripe: no event ${eventId}`);
      return Promise.all(Array.from({ length: times }, () => hooks.deliver(e)));
    },

    /** Resolves when every automatic delivery started so far has been answered (see `deliveries` for the statuses). */
    deliveriesSettled(): Promise<void> {
      return auto.settled();
    },

    /**
     * The customer authenticated later (3DS, after an email from the bank) a PaymentIntent left in
     * requires_action: it succeeds, and payment_intent.succeeded is sent.
     */
    async authenticate(paymentIntentId: string, o: DeliverFlag = {}): Promise<ControlResult> {
      const pi = need(s.paymentIntents, paymentIntentId, 'payment intent');
      if (pi.status !== 'requires_action') throw new Error(`FakeStripe: payment ${pi.id} is ${pi.status}, not requires_action`);
      Object.assign(pi, {
        status: 'succeeded',
        amount_received: pi.amount,
        next_action: null,
        last_payment_error: null,
      } satisfies Partial<Stripe.PaymentIntent>);
      return emit([event('payment_intent.succeeded', pi)], o);
    },

    /** Any event, recorded but not delivered: for unknown types or hand-made shapes; send it with deliver(). */
    buildEvent(type: string, object: object, previous?: object): Stripe.Event {
      const e = event(type as Stripe.Event.Type, object, previous);
      s.events.push(e);
      return e;
    },
  };

  function pendingPayment(sessionId: string) {
    const session = need(s.sessions, sessionId, 'checkout session');
    if (session.status !== 'complete' || session.payment_status !== 'unpaid' || typeof session.payment_intent !== 'string') {
      throw new Error(`FakeStripe: session ${sessionId} has no pending async payment (completeCheckout(id, { async: true }) first)`);
    }
    const pi = need(s.paymentIntents, session.payment_intent, 'payment intent');
    if (pi.status !== 'processing') throw new Error(`FakeStripe: payment ${pi.id} is ${pi.status}, not processing`);
    return { session, pi, charge: need(s.charges, idOf(pi.latest_charge), 'charge') };
  }
}

/** What the buyer typed on the hosted page; the fake has no page, so a fixed address unless the session named one. */
function customerDetails(session: Stripe.Checkout.Session): Stripe.Checkout.Session.CustomerDetails {
  return {
    address: null,
    business_name: null,
    email: session.customer_email ?? 'buyer@fake.local',
    individual_name: null,
    name: null,
    phone: null,
    tax_exempt: 'none',
    tax_ids: [],
  };
}

export type FakeStripeControls = ReturnType<typeof createControls>;
