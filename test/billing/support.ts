import { startFakeStripe, FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { call, idemKey, startApp, TestApp } from '../support/app.js';

export const SECRET = 'whsec_test_current_secret';
export const OLD_SECRET = 'whsec_test_rotated_out_secret';

/** The app with the real Stripe SDK pointed at the bundled fake, which posts signed events back to it. */
/** `now` gives the fake Stripe its own clock (billing periods, prorations); signatures use the wall clock. */
export async function startBillingApp(
  env: Record<string, string> = {},
  fake: { now?: () => number } = {},
): Promise<{ t: TestApp; stripe: FakeStripe }> {
  const stripe = await startFakeStripe({ webhookSecret: SECRET, host: '127.0.0.1', port: 0, now: fake.now });
  const t = await startApp({
    STRIPE_SECRET_KEY: 'sk_test_fake',
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRET: `${SECRET},${OLD_SECRET}`,
    ...env,
  });
  stripe.setWebhookUrl(`${t.baseUrl}/v1/stripe/webhook`);
  return { t, stripe };
}

export async function checkout(t: TestApp, owner: string, item: { pack_id: string } | { plan_id: string }): Promise<string> {
  const r = await call(t, 'POST', '/v1/billing/checkout-sessions', {
    owner_id: owner,
    ...item,
    success_url: 'https://example.com/ok',
    cancel_url: 'https://example.com/no',
  });
  if (r.status !== 201) throw new Error(`checkout: ${r.status} ${r.text}`);
  return r.body.id as string;
}

export const balance = async (t: TestApp, owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body.balance;

/** Spends `tokens` through a reservation settled in full. */
export async function spend(t: TestApp, owner: string, tokens: string): Promise<void> {
  const r = await call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount: tokens }, { idem: idemKey('spend') });
  if (r.status !== 201) throw new Error(`reserve: ${r.status} ${r.text}`);
  const s = await call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, undefined, { idem: idemKey('spend') });
  if (s.status !== 200) throw new Error(`settle: ${s.status} ${s.text}`);
}
