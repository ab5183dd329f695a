import { type AppConfig, Errors } from '@app/common';
import Stripe from 'stripe';

export const STRIPE = Symbol('STRIPE');

/** The real SDK; STRIPE_API_BASE points it at another host (the bundled fake, in tests). Null when unconfigured. */
export function createStripe(config: AppConfig): Stripe | null {
  if (!config.STRIPE_SECRET_KEY) return null;
  const options: Stripe.StripeConfig = { maxNetworkRetries: 2, timeout: 20_000 };
  if (config.STRIPE_API_BASE) {
    const u = new URL(config.STRIPE_API_BASE);
    const protocol = u.protocol === 'http:' ? 'http' : 'https';
    options.host = u.hostname;
    options.port = Number(u.port) || (protocol === 'http' ? 80 : 443);
    options.protocol = protocol;
  }
  return new Stripe(config.STRIPE_SECRET_KEY, options);
}

/** STRIPE_WEBHOOK_SECRET may list several secrets (comma-separated) while one is rotated out. */
export function webhookSecrets(config: AppConfig): string[] {
  return (config.STRIPE_WEBHOOK_SECRET ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const idOf = (v: string | { id: string } | null | undefined): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : v.id;

export const noStripe = () => Errors.unavailable('stripe_not_configured', 'Stripe is not configured (STRIPE_SECRET_KEY)');

/** A wallet id as our metadata carries it (wallet_id): checked before it reaches a uuid column. */
export const isWalletId = (v: string | null | undefined): v is string => typeof v === 'string' && /^[0-9a-f-]{36}$/.test(v);
