import { formatUsd } from '@app/common';

/** The injection token of the catalog in use (BILLING_CATALOG, else the default). */
export const CATALOG = Symbol('CATALOG');

/** What the service sells through Stripe (spec section 5 defaults; BILLING_CATALOG overrides). */
export interface Pack {
  id: string;
  tokens: number;
  usd_cents: number;
}

export interface Plan extends Pack {
  interval: 'month';
}

export interface Catalog {
  packs: Pack[];
  plans: Plan[];
}

export const DEFAULT_CATALOG: Catalog = {
  packs: [
    { id: 'pack_50', tokens: 50, usd_cents: 500 },
    { id: 'pack_200', tokens: 200, usd_cents: 2_000 },
    { id: 'pack_1000', tokens: 1_000, usd_cents: 10_000 },
  ],
  plans: [
    { id: 'creator', tokens: 250, usd_cents: 1_900, interval: 'month' },
    { id: 'studio', tokens: 1_500, usd_cents: 9_900, interval: 'month' },
  ],
};

const ID = /^[a-z0-9_-]{1,40}$/;

/** Parses BILLING_CATALOG (JSON of the Catalog shape); throws naming what is wrong. */
export function parseCatalog(json: string | undefined): Catalog {
  if (!json) return DEFAULT_CATALOG;
  const raw = JSON.parse(json) as Partial<Catalog>;
  const check = (p: Pack, kind: string) => {
    if (!ID.test(p.id)) throw new Error(`BILLING_CATALOG ${kind} id ${JSON.stringify(p.id)} must match ${ID}`);
    if (!Number.isSafeInteger(p.tokens) || p.tokens <= 0)
      throw new Error(`BILLING_CATALOG ${kind} ${p.id}: tokens must be a positive integer`);
    if (!Number.isSafeInteger(p.usd_cents) || p.usd_cents < 50)
      throw new Error(`BILLING_CATALOG ${kind} ${p.id}: usd_cents must be an integer >= 50`);
  };
  const packs = raw.packs ?? [];
  const plans = (raw.plans ?? []).map((p) => ({ ...p, interval: 'month' as const }));
  packs.forEach((p) => check(p, 'pack'));
  plans.forEach((p) => check(p, 'plan'));
  const ids = [...packs, ...plans].map((p) => p.id);
  if (new Set(ids).size !== ids.length) throw new Error('BILLING_CATALOG ids must be unique');
  return { packs, plans };
}

/** Stripe lookup keys: the catalog's stable handle on prices, so sync finds what it made before. */
export const lookupKey = (kind: 'pack' | 'plan', p: Pack) => `tw_${kind}_${p.id}_${p.usd_cents}`;

/** Dollars per token, in the API's USD string form: 1900 cents / 250 tokens -> "0.076". */
export function usdPerToken(p: Pack): string {
  // In 1/10000 dollar units, rounded half up: cents * 100 / tokens.
  const units = (BigInt(p.usd_cents) * 100n * 2n + BigInt(p.tokens)) / (2n * BigInt(p.tokens));
  return formatUsd(units);
}

export function catalogView(c: Catalog) {
  const view = (p: Pack) => ({
    id: p.id,
    tokens: `${p.tokens}.000`,
    usd: formatUsd(BigInt(p.usd_cents) * 100n),
    usd_per_token: usdPerToken(p),
  });
  return { packs: c.packs.map(view), plans: c.plans.map((p) => ({ ...view(p), interval: p.interval })) };
}
