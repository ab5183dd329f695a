import type Stripe from 'stripe';
import type { Handler, Route } from './catalog.api.js';
import { allowOnly, ApiError, CardError, int, metadata, str, strList } from './form.js';
import { idOf, newId } from './objects.js';
import { paymentObjects } from './payment-objects.js';
import type { FakeStripeState } from './state.js';

const LIST_PARAMS = ['limit', 'starting_after', 'ending_before', 'created'];
const DECLINED = 'Your card was declined.';
const AUTH_REQUIRED = 'Your card was declined. This transaction requires authentication.';

/**
 * Saved cards and what charges them: SetupIntents and PaymentMethods (read only; Checkout makes them), a
 * customer's cards, and PaymentIntents created and confirmed at once with a saved card (`confirm=true`,
 * usually `off_session=true`), whose outcome the test picks per card (FakeStripe.setOffSessionOutcome).
 */
export function intentRoutes(s: FakeStripeState): Route[] {
  const retrieve =
    <T extends object>(map: Map<string, T>, what: string): Handler =>
    (form, [id]) => {
      allowOnly(form, []);
      return s.expand(s.get(map, id, what), strList(form, 'expand'));
    };

  const createPaymentIntent: Handler = (form) => {
    allowOnly(form, [
      'amount',
      'currency',
      'customer',
      'payment_method',
      'payment_method_types',
      'off_session',
      'confirm',
      'metadata',
      'description',
      'receipt_email',
      'statement_descriptor',
      'statement_descriptor_suffix',
    ]);
    const amount = int(form, 'amount', { required: true, min: 1 }) ?? 0;
    const currency = str(form, 'currency', { required: true }).toLowerCase();
    const customer = str(form, 'customer');
    if (customer !== undefined) s.get(s.customers, customer, 'customer', 'customer');
    const pmId = str(form, 'payment_method', { required: true });
    const pm = s.paymentMethods.get(pmId);
    if (!pm) throw new ApiError(404, `No such PaymentMethod: '${pmId}'`, 'payment_method', 'resource_missing');
    if (str(form, 'confirm') !== 'true') {
      throw new ApiError(400, 'The fake Stripe models PaymentIntents created with confirm=true only.', 'confirm');
    }
    // Stripe takes true/false, or one_off/recurring (both off-session).
    const offSessionRaw = str(form, 'off_session');
    if (offSessionRaw !== undefined && !['true', 'false', 'one_off', 'recurring'].includes(offSessionRaw)) {
      throw new ApiError(400, `Invalid off_session: ${offSessionRaw}`, 'off_session');
    }
    const offSession = offSessionRaw !== undefined && offSessionRaw !== 'false';
    if (pm.customer && customer === undefined) {
      throw new ApiError(
        400,
        `The \`payment_method\` parameter supplied ${pm.id} belongs to the Customer ${idOf(pm.customer)}. Please include the Customer in the \`customer\` parameter on the PaymentIntent.`,
        'payment_method',
      );
    }
    if (customer !== undefined && pm.customer !== customer) {
      throw new ApiError(
        400,
        `The customer does not have a payment method with the ID ${pm.id}. The payment method must be attached to the customer.`,
        'payment_method',
      );
    }

    const outcome = s.takeOutcome(pm.id);
    const now = s.now();
    const { pi, charge } = paymentObjects(now, {
      amount,
      currency,
      customer: customer ?? null,
      metadata: metadata(form),
      pending: false,
      description: str(form, 'description'),
      paymentMethod: pm,
    });
    Object.assign(pi, {
      canceled_at: null,
      cancellation_reason: null,
      client_secret: `${pi.id}_secret_${newId('x').slice(2)}`,
      confirmation_method: 'automatic',
      last_payment_error: null,
      next_action: null,
      receipt_email: str(form, 'receipt_email') ?? null,
    } satisfies Partial<Stripe.PaymentIntent>);
    s.paymentIntents.set(pi.id, pi);
    const key = s.request?.idempotencyKey;
    if (key) s.paymentIntentsByKey.set(key, [...(s.paymentIntentsByKey.get(key) ?? []), pi.id]);

    if (outcome === 'succeed') {
      s.charges.set(charge.id, charge);
      s.apiEvent('charge.succeeded', charge);
      s.apiEvent('payment_intent.succeeded', pi);
      return pi;
    }

    if (outcome === 'decline') {
      // The bank said no: a failed charge, and the intent back to requires_payment_method with the card taken off it.
      Object.assign(charge, {
        amount_captured: 0,
        captured: false,
        paid: false,
        status: 'failed',
        failure_code: 'card_declined',
        failure_message: DECLINED,
        outcome: {
          network_status: 'declined_by_network',
          reason: 'generic_decline',
          risk_level: 'normal',
          seller_message: 'The bank did not return any further details with this decline.',
          type: 'issuer_declined',
        },
      } as Partial<Stripe.Charge>);
      s.charges.set(charge.id, charge);
      const error = {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        doc_url: 'https://stripe.com/docs/error-codes/card-declined',
        message: DECLINED,
        charge: charge.id,
        payment_method: structuredClone(pm),
        payment_method_type: 'card',
      } as Stripe.PaymentIntent.LastPaymentError;
      Object.assign(pi, {
        amount_received: 0,
        last_payment_error: error,
        payment_method: null,
        status: 'requires_payment_method',
      } satisfies Partial<Stripe.PaymentIntent>);
      s.apiEvent('charge.failed', charge);
      s.apiEvent('payment_intent.payment_failed', pi);
      throw new CardError(DECLINED, 'card_declined', {
        decline_code: 'generic_decline',
        doc_url: error.doc_url,
        charge: charge.id,
        payment_intent: structuredClone(pi),
        payment_method: structuredClone(pm),
      });
    }

    // requires_action: the bank wants the customer to authenticate (3DS); no charge until then.
    Object.assign(pi, {
      amount_received: 0,
      latest_charge: null,
      next_action: {
        type: 'use_stripe_sdk',
        use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: `https://hooks.fake.local/3d_secure_2/${pi.id}` },
      } as Stripe.PaymentIntent.NextAction,
      status: 'requires_action',
    } satisfies Partial<Stripe.PaymentIntent>);
    if (!offSession) {
      s.apiEvent('payment_intent.requires_action', pi);
      return pi;
    }
    const error = {
      type: 'card_error',
      code: 'authentication_required',
      decline_code: 'authentication_required',
      doc_url: 'https://stripe.com/docs/error-codes/authentication-required',
      message: AUTH_REQUIRED,
      payment_method: structuredClone(pm),
      payment_method_type: 'card',
    } as Stripe.PaymentIntent.LastPaymentError;
    pi.last_payment_error = error;
    s.apiEvent('payment_intent.requires_action', pi);
    throw new CardError(AUTH_REQUIRED, 'authentication_required', {
      decline_code: 'authentication_required',
      doc_url: error.doc_url,
      payment_intent: structuredClone(pi),
      payment_method: structuredClone(pm),
    });
  };

  return [
    ['GET', /^\/v1\/setup_intents\/([^/]+)$/, retrieve(s.setupIntents, 'setupintent')],
    ['GET', /^\/v1\/payment_methods\/([^/]+)$/, retrieve(s.paymentMethods, 'PaymentMethod')],
    [
      'GET',
      /^\/v1\/customers\/([^/]+)\/payment_methods$/,
      (form, [id]) => {
        allowOnly(form, ['type', 'allow_redisplay', ...LIST_PARAMS]);
        s.get(s.customers, id, 'customer');
        const type = str(form, 'type');
        return s.list(
          s.paymentMethods.values(),
          form,
          `/v1/customers/${id}/payment_methods`,
          (pm) => pm.customer === id && (type === undefined || pm.type === type),
        );
      },
    ],
    ['POST', /^\/v1\/payment_intents$/, createPaymentIntent],
  ];
}
