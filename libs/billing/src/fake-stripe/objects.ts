import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';

/** The API version the installed SDK pins; events carry it as Stripe's would. */
export const API_VERSION = '2026-10-28.endive';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Stripe-looking ids (`cus_…`, `cs_test_…`): a prefix and random base62. */
export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${s}`;
}

/**
 * The fake fills the fields a billing integration reads; Stripe's objects have
 * dozens more, which are absent here rather than null. Typing the literal as
 * Partial<T> still checks every field it does set against the SDK's types.
 */
export function stripeObject<T>(fields: Partial<T>): T {
  return fields as T;
}

/** One calendar month later, clamped to the month's end (Jan 31 -> Feb 28), as Stripe bills monthly. */
export function addMonth(unixSeconds: number): number {
  const d = new Date(unixSeconds * 1000);
  const day = d.getUTCDate();
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return Math.floor(target.getTime() / 1000);
}

/** The id of a field that holds an id or, once expanded, the object. */
export function idOf(ref: string | { id?: string } | null | undefined): string {
  return (typeof ref === 'string' ? ref : ref?.id) ?? '';
}

export function apiList<T>(url: string, data: T[], hasMore = false): Stripe.ApiList<T> {
  return { object: 'list', data, has_more: hasMore, url };
}

export function customerObject(now: number, p: { email?: string; name?: string; description?: string; metadata: Stripe.Metadata }) {
  return stripeObject<Stripe.Customer>({
    id: newId('cus', 14),
    object: 'customer',
    balance: 0,
    created: now,
    default_source: null,
    description: p.description ?? null,
    email: p.email ?? null,
    name: p.name ?? null,
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: p.metadata,
    shipping: null,
  });
}

export function productObject(now: number, p: { name: string; description?: string; active: boolean; metadata: Stripe.Metadata }) {
  return stripeObject<Stripe.Product>({
    id: newId('prod', 14),
    object: 'product',
    active: p.active,
    created: now,
    updated: now,
    description: p.description ?? null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: p.metadata,
    name: p.name,
    type: 'service',
    url: null,
  });
}

export function priceObject(
  now: number,
  p: {
    product: string;
    unitAmount: number;
    currency: string;
    recurring?: { interval: 'day' | 'week' | 'month' | 'year'; interval_count: number };
    lookupKey?: string;
    nickname?: string;
    active: boolean;
    metadata: Stripe.Metadata;
  },
) {
  return stripeObject<Stripe.Price>({
    id: newId('price'),
    object: 'price',
    active: p.active,
    billing_scheme: 'per_unit',
    created: now,
    currency: p.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: p.lookupKey ?? null,
    metadata: p.metadata,
    nickname: p.nickname ?? null,
    product: p.product,
    recurring: p.recurring ? { ...p.recurring, meter: null, trial_period_days: null, usage_type: 'licensed' } : null,
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: p.recurring ? 'recurring' : 'one_time',
    unit_amount: p.unitAmount,
  });
}

/** An event carries a snapshot: later changes to the object must not rewrite events already built. */
export function eventObject(now: number, type: Stripe.Event.Type, object: object, previous?: object): Stripe.Event {
  const data: { object: unknown; previous_attributes?: unknown } = { object: structuredClone(object) };
  if (previous) data.previous_attributes = structuredClone(previous);
  return {
    id: newId('evt'),
    object: 'event',
    api_version: API_VERSION,
    created: now,
    data,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  } as Stripe.Event;
}
