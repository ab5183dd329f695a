import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { type FakeStripe, startFakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';

const SECRET = 'whsec_test_fake';
const verifier = new Stripe('sk_test_x');

/** A webhook endpoint that verifies like the service must: raw body, signature, 400 when it does not match. */
let received: Stripe.Event[] = [];
let receiver: Server;
let fake: FakeStripe;
let stripe: Stripe;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        received.push(verifier.webhooks.constructEvent(Buffer.concat(chunks), String(req.headers['stripe-signature']), SECRET));
        res.writeHead(200).end('{}');
      } catch {
        res.writeHead(400).end('bad signature');
      }
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  fake = await startFakeStripe({ host: '127.0.0.1', port: 0, webhookSecret: SECRET, webhookUrl: `http://127.0.0.1:${port}/hook` });
  stripe = new Stripe('sk_test_fake', { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
});

afterAll(async () => {
  await fake.close();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function catalog(suffix: string) {
  const product = await stripe.products.create({ name: `Pack ${suffix}`, metadata: { tokens: '50' } });
  const pack = await stripe.prices.create({ product: product.id, unit_amount: 500, currency: 'usd', lookup_key: `pack_${suffix}` });
  const plan = await stripe.prices.create({
    product: product.id,
    unit_amount: 1900,
    currency: 'usd',
    recurring: { interval: 'month' },
    lookup_key: `plan_${suffix}`,
  });
  return { product, pack, plan };
}

const checkout = (price: string, mode: 'payment' | 'subscription', customer?: string) =>
  stripe.checkout.sessions.create({
    mode,
    customer,
    client_reference_id: 'owner-1',
    line_items: [{ price, quantity: 1 }],
    success_url: 'https://app.local/ok',
    cancel_url: 'https://app.local/cancel',
    metadata: { owner_id: 'owner-1' },
    ...(mode === 'payment'
      ? { payment_intent_data: { metadata: { owner_id: 'owner-1' } } }
      : { subscription_data: { metadata: { owner_id: 'owner-1' } } }),
  });

describe('fake Stripe through the real SDK', () => {
  it('refuses calls without a secret key', async () => {
    const res = await fetch(`${fake.url}/v1/customers/cus_x`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    const bad = new Stripe('pk_test_public', { host: '127.0.0.1', port: fake.port, protocol: 'http' });
    await expect(bad.customers.retrieve('cus_x')).rejects.toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
  });

  it('replays an idempotent create and refuses the key with other parameters', async () => {
    const a = await stripe.customers.create({ metadata: { owner_id: 'o1' } }, { idempotencyKey: 'cust-o1' });
    const b = await stripe.customers.create({ metadata: { owner_id: 'o1' } }, { idempotencyKey: 'cust-o1' });
    expect(b.id).toBe(a.id);
    expect(fake.customers.size).toBe(1);
    await expect(stripe.customers.create({ metadata: { owner_id: 'o2' } }, { idempotencyKey: 'cust-o1' })).rejects.toBeInstanceOf(
      Stripe.errors.StripeIdempotencyError,
    );
    expect((await stripe.customers.retrieve(a.id)) as Stripe.Customer).toMatchObject({ id: a.id, metadata: { owner_id: 'o1' } });
  });

  it('finds prices by lookup key with their product, keeping keys unique', async () => {
    const { product, pack, plan } = await catalog('lk');
    const found = await stripe.prices.list({ lookup_keys: ['pack_lk', 'plan_lk'], expand: ['data.product'] });
    expect(found.data.map((p) => p.id).sort()).toEqual([pack.id, plan.id].sort());
    expect((found.data[0].product as Stripe.Product).name).toBe(product.name);
    expect(plan.recurring?.interval).toBe('month');
    await expect(stripe.prices.create({ product: product.id, unit_amount: 600, currency: 'usd', lookup_key: 'pack_lk' })).rejects.toThrow(
      /already uses that lookup key/,
    );
    const moved = await stripe.prices.create({
      product: product.id,
      unit_amount: 600,
      currency: 'usd',
      lookup_key: 'pack_lk',
      transfer_lookup_key: true,
    });
    expect((await stripe.prices.list({ lookup_keys: ['pack_lk'] })).data.map((p) => p.id)).toEqual([moved.id]);
  });

  it('completes a pack checkout with a signed checkout.session.completed', async () => {
    const { pack } = await catalog('pay');
    const session = await checkout(pack.id, 'payment');
    expect(session).toMatchObject({
      status: 'open',
      payment_status: 'unpaid',
      amount_total: 500,
      url: `https://checkout.fake.local/c/${session.id}`,
    });
    received = [];
    const { events, statuses } = await fake.completeCheckout(session.id);
    expect(statuses).toEqual([200]);
    expect(received.map((e) => e.id)).toEqual(events.map((e) => e.id));
    const done = received[0].data.object as Stripe.Checkout.Session;
    expect(received[0]).toMatchObject({ type: 'checkout.session.completed', api_version: '2026-10-28.endive', livemode: false });
    expect(done).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
      client_reference_id: 'owner-1',
      metadata: { owner_id: 'owner-1' },
    });
    const pi = await stripe.paymentIntents.retrieve(done.payment_intent as string);
    expect(pi).toMatchObject({ status: 'succeeded', amount: 500, metadata: { owner_id: 'owner-1' } });
    expect(await fake.deliver(received[0], { secret: 'whsec_wrong' })).toBe(400);
    expect(fake.signedHeader('{}', { timestamp: 1 })).toMatch(/^t=1,v1=[0-9a-f]{64}$/);
  });

  it('runs a plan: invoice_first order, renewal one month on, cancel', async () => {
    const { plan } = await catalog('sub');
    const customer = await stripe.customers.create({ email: 'a@b.c' });
    const session = await checkout(plan.id, 'subscription', customer.id);
    received = [];
    const { statuses } = await fake.completeCheckout(session.id, { order: 'invoice_first' });
    expect(statuses).toEqual([200, 200, 200]);
    expect(received.map((e) => e.type)).toEqual(['invoice.paid', 'customer.subscription.created', 'checkout.session.completed']);
    const invoice = received[0].data.object as Stripe.Invoice;
    const sub = received[1].data.object as Stripe.Subscription;
    const item = sub.items.data[0];
    expect(invoice).toMatchObject({ status: 'paid', amount_paid: 1900, billing_reason: 'subscription_create', customer: customer.id });
    expect(invoice.parent?.subscription_details).toEqual({ subscription: sub.id, metadata: { owner_id: 'owner-1' } });
    expect(invoice.lines.data[0].period).toEqual({ start: item.current_period_start, end: item.current_period_end });
    expect(invoice.lines.data[0].pricing?.price_details?.price).toBe(plan.id);
    expect(new Date(item.current_period_end * 1000).getUTCMonth()).toBe(
      (new Date(item.current_period_start * 1000).getUTCMonth() + 1) % 12,
    );
    const paid = await stripe.invoices.retrieve(invoice.id, { expand: ['payments'] });
    // Events never carry invoice.payments (an includable field): the intent behind an invoice is looked up.
    expect(invoice.payments).toBeUndefined();
    const pi = paid.payments?.data[0].payment.payment_intent as string;
    const byPi = await stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: pi } });
    expect(byPi.data.map((p) => p.invoice)).toEqual([invoice.id]);

    received = [];
    await fake.renewSubscription(sub.id);
    expect(received.map((e) => e.type)).toEqual(['customer.subscription.updated', 'invoice.paid']);
    const next = received[1].data.object as Stripe.Invoice;
    expect(next.billing_reason).toBe('subscription_cycle');
    expect(next.lines.data[0].period.start).toBe(item.current_period_end);
    await fake.cancelSubscription(sub.id);
    expect(received[2]).toMatchObject({ type: 'customer.subscription.deleted', data: { object: { id: sub.id, status: 'canceled' } } });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('canceled');
  });

  it('pays later on an async method, then refunds in parts and disputes', async () => {
    const { pack } = await catalog('async');
    const session = await checkout(pack.id, 'payment');
    received = [];
    await fake.completeCheckout(session.id, { async: true });
    expect(received[0].data.object).toMatchObject({ status: 'complete', payment_status: 'unpaid' });
    await fake.asyncPaymentSucceeded(session.id);
    expect(received[1]).toMatchObject({ type: 'checkout.session.async_payment_succeeded', data: { object: { payment_status: 'paid' } } });

    const pi = (received[1].data.object as Stripe.Checkout.Session).payment_intent as string;
    await fake.refund(pi, 200);
    await fake.refund(pi, 300);
    const [partial, full] = received.slice(2).map((e) => e.data.object as Stripe.Charge);
    expect([partial.amount_refunded, partial.refunded, full.amount_refunded, full.refunded]).toEqual([200, false, 500, true]);
    await expect(fake.refund(pi, 1)).rejects.toThrow(/cannot refund/);

    const other = await checkout(pack.id, 'payment');
    const paid = await fake.completeCheckout(other.id, { deliver: false });
    const otherPi = (paid.events[0].data.object as Stripe.Checkout.Session).payment_intent as string;
    const { events } = await fake.dispute(otherPi);
    expect(events[0]).toMatchObject({
      type: 'charge.dispute.created',
      data: { object: { object: 'dispute', payment_intent: otherPi, amount: 500, status: 'needs_response', reason: 'fraudulent' } },
    });
  });

  it('auto-paginates sessions and invoices newest first, and ends', async () => {
    const { pack, plan } = await catalog('page');
    const since = Math.floor(Date.now() / 1000);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await checkout(pack.id, 'payment')).id);
    const page = await stripe.checkout.sessions.list({ limit: 2, created: { gte: since } });
    expect(page).toMatchObject({ object: 'list', has_more: true, url: '/v1/checkout/sessions' });
    const before = fake.requests.length;
    const all = await stripe.checkout.sessions
      .list({ limit: 2, status: 'open', created: { gte: since } })
      .autoPagingToArray({ limit: 100 });
    expect(all.map((s) => s.id)).toEqual([...ids].reverse());
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(Array(3).fill('GET /v1/checkout/sessions'));

    for (let i = 0; i < 5; i++) await fake.completeCheckout((await checkout(plan.id, 'subscription')).id, { deliver: false });
    const seen: string[] = [];
    for await (const inv of stripe.invoices.list({ limit: 2, status: 'paid' })) seen.push(inv.id);
    expect(seen).toEqual([...fake.invoices.keys()].reverse());
    expect(new Set(seen).size).toBe(fake.invoices.size);
  });

  it('answers an unknown parameter or id as Stripe would', async () => {
    const err = await stripe.customers.create({ metadata: {}, emial: 'typo' } as Stripe.CustomerCreateParams).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, param: 'emial' });
    await expect(stripe.invoices.retrieve('in_missing')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('saves a card through a setup-mode Checkout and makes it the default', async () => {
    const customer = await stripe.customers.create({ email: 'save@b.c' });
    const session = await stripe.checkout.sessions.create({
      mode: 'setup',
      customer: customer.id,
      success_url: 'https://app.local/ok',
      cancel_url: 'https://app.local/cancel',
      metadata: { owner_id: 'setup-1', purpose: 'session' },
      setup_intent_data: { metadata: { purpose: 'auto_top_up' } },
    });
    expect(session).toMatchObject({
      mode: 'setup',
      status: 'open',
      amount_total: null,
      url: `https://checkout.fake.local/c/${session.id}`,
    });
    expect(session.setup_intent).toMatch(/^seti_/);
    const open = await stripe.setupIntents.retrieve(session.setup_intent as string);
    expect(open).toMatchObject({ object: 'setup_intent', status: 'requires_payment_method', payment_method: null });
    await expect(
      stripe.checkout.sessions.create({ mode: 'payment', success_url: 'https://a/ok', setup_intent_data: { metadata: {} } }),
    ).rejects.toMatchObject({ statusCode: 400 });

    received = [];
    const { statuses } = await fake.completeCheckout(session.id);
    expect(statuses).toEqual([200, 200]);
    expect(received.map((e) => e.type)).toEqual(['checkout.session.completed', 'setup_intent.succeeded']);
    expect(received[0].data.object).toMatchObject({ id: session.id, status: 'complete', mode: 'setup' });
    const si = received[1].data.object as Stripe.SetupIntent;
    expect(si).toMatchObject({
      id: session.setup_intent,
      status: 'succeeded',
      usage: 'off_session',
      customer: customer.id,
      metadata: { owner_id: 'setup-1', purpose: 'auto_top_up' },
    });
    const pm = await stripe.paymentMethods.retrieve(si.payment_method as string);
    expect(pm).toMatchObject({ object: 'payment_method', type: 'card', customer: customer.id, card: { brand: 'visa', last4: '4242' } });
    expect(pm.card?.exp_year).toBeGreaterThan(new Date().getUTCFullYear());
    const listed = await stripe.customers.listPaymentMethods(customer.id, { type: 'card' });
    expect(listed.data.map((x) => x.id)).toEqual([pm.id]);

    const updated = await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
    expect(updated.invoice_settings.default_payment_method).toBe(pm.id);
    const expanded = await stripe.customers.retrieve(customer.id, { expand: ['invoice_settings.default_payment_method'] });
    expect(((expanded as Stripe.Customer).invoice_settings.default_payment_method as Stripe.PaymentMethod).id).toBe(pm.id);
    await expect(
      stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: 'pm_missing' } }),
    ).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('saves the card of a pack Checkout with setup_future_usage and says payment_intent.succeeded', async () => {
    const { pack } = await catalog('sfu');
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      customer_email: 'sfu@b.c',
      line_items: [{ price: pack.id, quantity: 1 }],
      success_url: 'https://app.local/ok',
      payment_intent_data: { setup_future_usage: 'off_session', metadata: { owner_id: 'sfu-1' } },
    });
    received = [];
    const { statuses } = await fake.completeCheckout(session.id);
    expect(statuses).toEqual([200, 200]);
    expect(received.map((e) => e.type)).toEqual(['checkout.session.completed', 'payment_intent.succeeded']);
    const done = received[0].data.object as Stripe.Checkout.Session;
    // Saving a card needs a customer: Checkout made one.
    expect(done.customer).toMatch(/^cus_/);
    const pi = received[1].data.object as Stripe.PaymentIntent;
    expect(pi).toMatchObject({
      id: done.payment_intent,
      status: 'succeeded',
      setup_future_usage: 'off_session',
      metadata: { owner_id: 'sfu-1' },
    });
    const pm = await stripe.paymentMethods.retrieve(pi.payment_method as string);
    expect(pm.customer).toBe(done.customer);
    expect((await stripe.paymentIntents.retrieve(pi.id)).payment_method).toBe(pm.id);
  });

  async function savedCard(email: string) {
    const customer = await stripe.customers.create({ email });
    return { customer, pm: fake.addPaymentMethod(customer.id, { makeDefault: true }) };
  }
  const offSession = (customer: string, pm: string, key: string, amount = 500) =>
    stripe.paymentIntents.create(
      {
        amount,
        currency: 'usd',
        customer,
        payment_method: pm,
        off_session: true,
        confirm: true,
        metadata: { wallet: 'w1', crossing: key },
        description: 'Auto top-up',
      },
      { idempotencyKey: key },
    );

  it('charges a saved card off-session once per idempotency key, and sends the events on its own', async () => {
    const { customer, pm } = await savedCard('off@b.c');
    received = [];
    const pi = await offSession(customer.id, pm.id, 'topup-w1-1');
    expect(pi).toMatchObject({ status: 'succeeded', amount: 500, amount_received: 500, payment_method: pm.id, customer: customer.id });
    expect(pi.metadata).toEqual({ wallet: 'w1', crossing: 'topup-w1-1' });
    const again = await offSession(customer.id, pm.id, 'topup-w1-1');
    expect(again.id).toBe(pi.id);
    expect(fake.requests.at(-1)).toMatchObject({ path: '/v1/payment_intents', replayed: true });
    expect(fake.paymentIntentsForKey('topup-w1-1').map((x) => x.id)).toEqual([pi.id]);
    expect(fake.paymentIntentsFor(customer.id).map((x) => x.id)).toEqual([pi.id]);
    // Ten retries at once with the key: one charge.
    const burst = await Promise.all(Array.from({ length: 10 }, () => offSession(customer.id, pm.id, 'topup-w1-2')));
    expect(new Set(burst.map((x) => x.id)).size).toBe(1);
    expect(fake.paymentIntentsForKey('topup-w1-2')).toHaveLength(1);

    await fake.deliveriesSettled();
    // Each call's events in order (charge, then intent); two calls' deliveries may interleave.
    expect(received.map((e) => e.type).sort()).toEqual([
      'charge.succeeded',
      'charge.succeeded',
      'payment_intent.succeeded',
      'payment_intent.succeeded',
    ]);
    const first = received.find((e) => e.type === 'payment_intent.succeeded' && e.data.object.id === pi.id);
    expect(first).toMatchObject({ request: { idempotency_key: 'topup-w1-1' } });
    expect(first?.request?.id).toMatch(/^req_/);
    expect(fake.deliveries.slice(-4).map((d) => d.status)).toEqual([200, 200, 200, 200]);
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ status: 'succeeded', payment_method: pm.id, payment_method_details: { card: { last4: '4242' } } });
    // Stored like a Checkout payment: the refund and dispute controls work on it.
    const refunded = await fake.refund(pi.id, 100, { deliver: false });
    expect(refunded.events[0].data.object).toMatchObject({ amount_refunded: 100 });
  });

  it('declines or asks for authentication as queued per card, replaying the card error under the same key', async () => {
    const { customer, pm } = await savedCard('decline@b.c');
    fake.setOffSessionOutcomes(pm.id, ['decline', 'requires_action']);
    received = [];
    const declined = await offSession(customer.id, pm.id, 'topup-w2-1').catch((e: unknown) => e);
    expect(declined).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(declined).toMatchObject({ statusCode: 402, type: 'StripeCardError', code: 'card_declined', decline_code: 'generic_decline' });
    const failedPi = (declined as Stripe.errors.StripeCardError).payment_intent as Stripe.PaymentIntent;
    expect(failedPi).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'card_declined' } });
    const replayed = await offSession(customer.id, pm.id, 'topup-w2-1').catch((e: unknown) => e);
    expect(replayed).toMatchObject({ statusCode: 402, code: 'card_declined', payment_intent: { id: failedPi.id } });
    expect(fake.requests.at(-1)).toMatchObject({ status: 402, replayed: true });
    expect(fake.paymentIntentsForKey('topup-w2-1')).toHaveLength(1);

    const action = await offSession(customer.id, pm.id, 'topup-w2-2').catch((e: unknown) => e);
    expect(action).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(action).toMatchObject({ code: 'authentication_required', payment_intent: { status: 'requires_action' } });
    // The queue is spent: the standing outcome (succeed) applies.
    expect((await offSession(customer.id, pm.id, 'topup-w2-3')).status).toBe('succeeded');
    fake.setOffSessionOutcome(pm.id, 'decline');
    await expect(offSession(customer.id, pm.id, 'topup-w2-4')).rejects.toMatchObject({ code: 'card_declined' });
    await expect(offSession(customer.id, pm.id, 'topup-w2-5')).rejects.toMatchObject({ code: 'card_declined' });

    await fake.deliveriesSettled();
    const types = received.map((e) => e.type);
    expect(types.filter((t) => t.startsWith('payment_intent.'))).toEqual([
      'payment_intent.payment_failed',
      'payment_intent.requires_action',
      'payment_intent.succeeded',
      'payment_intent.payment_failed',
      'payment_intent.payment_failed',
    ]);
    expect(fake.paymentIntentsFor(customer.id).map((x) => x.status)).toEqual([
      'requires_payment_method',
      'requires_action',
      'succeeded',
      'requires_payment_method',
      'requires_payment_method',
    ]);
  });

  it('refuses a card that is not the customer’s, or unknown', async () => {
    const { pm } = await savedCard('owner@b.c');
    const other = await stripe.customers.create({ email: 'other@b.c' });
    const err = await offSession(other.id, pm.id, 'topup-w3-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, param: 'payment_method' });
    // A 400 on validation is not stored: the same key may be retried once fixed.
    await expect(offSession(other.id, 'pm_missing', 'topup-w3-1')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(fake.paymentIntentsFor(other.id)).toEqual([]);
  });

  it('holds automatic deliveries, then redelivers one event five times at once', async () => {
    const { customer, pm } = await savedCard('hold@b.c');
    fake.holdDeliveries(true);
    received = [];
    const pi = await offSession(customer.id, pm.id, 'topup-w4-1');
    await fake.deliveriesSettled();
    expect(received).toEqual([]);
    const held = fake.heldEvents();
    expect(held.map((e) => e.type)).toEqual(['charge.succeeded', 'payment_intent.succeeded']);
    fake.holdDeliveries(false);
    const succeeded = held[1];
    expect(succeeded.data.object).toMatchObject({ id: pi.id });
    expect(await fake.redeliver(succeeded.id, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(received.filter((e) => e.id === succeeded.id)).toHaveLength(5);
    const flushed = await fake.flushHeld();
    expect(flushed.statuses).toEqual([200, 200]);
    expect(fake.heldEvents()).toEqual([]);
  });

  it('opens a billing portal session for a customer', async () => {
    const customer = await stripe.customers.create({ metadata: { owner_id: 'portal' } });
    const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://app.local/billing' });
    expect(portal).toMatchObject({ object: 'billing_portal.session', customer: customer.id, return_url: 'https://app.local/billing' });
    expect(portal.id).toMatch(/^bps_/);
    await expect(stripe.billingPortal.sessions.create({ customer: 'cus_missing' })).rejects.toThrow(/No such customer/);
  });
});
