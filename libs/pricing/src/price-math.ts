/** Pure price decisions: which version applies, which keyed price a request matches, and what n units cost. */

/**
 * What a price is keyed by besides its variant: `{quality: "high", size: "1024x1536"}`,
 * `{}` for a flat price. Values are strings; the canonical form has its keys sorted.
 */
export type Dimensions = Readonly<Record<string, string>>;

export interface PriceVersion {
  id: string;
  variant: string;
  model: string;
  unit: string;
  dimensions: Dimensions;
  /** Millitokens per unit. */
  tokens: bigint;
  version: number;
  active: boolean;
  isDefault: boolean;
  effectiveAt: Date;
  description: string;
}

/** A provider's cost per unit of a variant, keyed by dimensions like a price (possibly by fewer). */
export interface ProviderCost {
  variant: string;
  dimensions: Dimensions;
  /** Micro-USD per unit. */
  costMicroUsd: bigint;
  effectiveAt: Date;
}

/** Keys sorted, values as given: the form jsonb keeps, so equal dimensions compare equal. */
export function canonicalDimensions(d: Record<string, string>): Dimensions {
  return Object.fromEntries(
    Object.keys(d)
      .sort()
      .map((k) => [k, d[k]]),
  );
}

/** A stable string for a set of dimensions (map keys, logs). */
export const dimensionsKey = (d: Dimensions): string => JSON.stringify(canonicalDimensions(d));

const sameDimensions = (a: Dimensions, b: Dimensions) => dimensionsKey(a) === dimensionsKey(b);

/** The version in force at `at`: the latest effective one (highest version on a tie). */
export function versionAt(versions: PriceVersion[], at: Date): PriceVersion | null {
  let best: PriceVersion | null = null;
  for (const v of versions) {
    if (v.effectiveAt.getTime() > at.getTime()) continue;
    if (
      !best ||
      v.effectiveAt.getTime() > best.effectiveAt.getTime() ||
      (v.effectiveAt.getTime() === best.effectiveAt.getTime() && v.version > best.version)
    ) {
      best = v;
    }
  }
  return best;
}

/** Every (dimensions) price of a variant's rows in force and active at `at`. */
export function pricesInForce(versions: PriceVersion[], at: Date): PriceVersion[] {
  const byKey = new Map<string, PriceVersion[]>();
  for (const v of versions) {
    const key = `${v.variant}\u0000${dimensionsKey(v.dimensions)}`;
    byKey.set(key, [...(byKey.get(key) ?? []), v]);
  }
  return [...byKey.values()].map((vs) => versionAt(vs, at)).filter((v): v is PriceVersion => v !== null && v.active);
}

export type PriceMatch =
  | { kind: 'matched'; price: PriceVersion }
  /** The variant has no active price at all. */
  | { kind: 'no_variant' }
  /** It has prices, none for this combination; `keys` are the dimensions the variant is priced by. */
  | { kind: 'no_price'; keys: string[]; asked: Dimensions };

/**
 * The price of one variant a request matches. The variant is priced by the
 * dimension names its prices in force use (its keys); of the request, only
 * those count, and they must equal one price's dimensions exactly. A flat
 * variant (keys: none) matches any request, as before dimensions. A `strict`
 * dimension of the request must be one of the variant's keys: an edit's
 * input_images is never ignored, so a variant without edit prices does not
 * quietly bill an edit as a generation.
 */
export function matchPrice(versions: PriceVersion[], request: Dimensions, at: Date, strict: readonly string[] = []): PriceMatch {
  const live = pricesInForce(versions, at);
  if (live.length === 0) return { kind: 'no_variant' };
  const keys = [...new Set(live.flatMap((p) => Object.keys(p.dimensions)))].sort();
  const asked = canonicalDimensions(Object.fromEntries(Object.entries(request).filter(([k]) => keys.includes(k))));
  const unpriced = strict.filter((k) => request[k] !== undefined && !keys.includes(k));
  const price = unpriced.length === 0 ? live.find((p) => sameDimensions(p.dimensions, asked)) : undefined;
  return price ? { kind: 'matched', price } : { kind: 'no_price', keys, asked: canonicalDimensions({ ...request }) };
}

/**
 * The provider's cost of one unit: of the cost rows in effect at `at` whose
 * every dimension the request has with the same value, the most specific
 * (most dimensions), then the latest. Null when none fits: the cost is unknown.
 */
export function costAt(costs: ProviderCost[], request: Dimensions, at: Date): bigint | null {
  let best: ProviderCost | null = null;
  for (const c of costs) {
    if (c.effectiveAt.getTime() > at.getTime()) continue;
    if (!Object.entries(c.dimensions).every(([k, v]) => request[k] === v)) continue;
    const n = Object.keys(c.dimensions).length;
    const bestN = best ? Object.keys(best.dimensions).length : -1;
    if (!best || n > bestN || (n === bestN && c.effectiveAt.getTime() > best.effectiveAt.getTime())) best = c;
  }
  return best ? best.costMicroUsd : null;
}

/** Flat pricing: quantity x unit price, exact in millitokens. */
export function priceOf(unitMt: bigint, quantity: number): bigint {
  if (!Number.isSafeInteger(quantity) || quantity < 1) throw new RangeError('quantity must be a positive integer');
  return unitMt * BigInt(quantity);
}
