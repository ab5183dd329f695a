import { Clock, Database, Errors, formatTokens, formatUsd, type Meters, PriceQuoter, Quote, Tx } from '@app/common';
import { Injectable } from '@nestjs/common';
import {
  canonicalDimensions,
  costAt,
  Dimensions,
  dimensionsKey,
  matchPrice,
  priceOf,
  PriceVersion,
  pricesInForce,
  ProviderCost,
} from './price-math.js';

export interface PriceView {
  variant: string;
  model: string;
  unit: string;
  dimensions: Dimensions;
  tokens: string;
  usd: string;
  version: number;
  description: string;
  effective_at: string;
  default: boolean;
}

interface PriceRow {
  id: string;
  variant: string;
  model: string;
  unit: string;
  dimensions: Record<string, string>;
  tokens: string;
  version: number;
  active: boolean;
  is_default: boolean;
  effective_at: Date;
  description: string;
}

const PRICE_COLUMNS = 'id::text, variant, model, unit, dimensions, tokens::text, version, active, is_default, effective_at, description';

const toVersion = (r: PriceRow): PriceVersion => ({
  id: r.id,
  variant: r.variant,
  model: r.model,
  unit: r.unit,
  dimensions: canonicalDimensions(r.dimensions),
  tokens: BigInt(r.tokens),
  version: r.version,
  active: r.active,
  isDefault: r.is_default,
  effectiveAt: r.effective_at,
  description: r.description,
});

export function priceView(v: PriceVersion): PriceView {
  return {
    variant: v.variant,
    model: v.model,
    unit: v.unit,
    dimensions: v.dimensions,
    tokens: formatTokens(v.tokens),
    usd: formatUsd(v.tokens),
    version: v.version,
    description: v.description,
    effective_at: v.effectiveAt.toISOString(),
    default: v.isDefault,
  };
}

const describe = (d: Dimensions) =>
  Object.keys(d).length === 0
    ? 'no dimensions'
    : Object.entries(d)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');

/** What a request is priced at: the matched price version and the provider's cost of one unit (null: unknown). */
export interface PricedRequest {
  price: PriceVersion;
  unitCostMicroUsd: bigint | null;
}

/**
 * The price list (owns `prices` and `provider_costs`): versions of per-unit
 * prices keyed by variant and dimensions, and what the provider charges; also
 * the ledger's PRICE_QUOTER.
 */
@Injectable()
export class PricingService implements PriceQuoter {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  private async versions(variant?: string): Promise<PriceVersion[]> {
    const rows = await this.db.query<PriceRow>(
      `SELECT ${PRICE_COLUMNS} FROM prices WHERE $1::text IS NULL OR variant = $1 ORDER BY variant, dimensions, version`,
      [variant ?? null],
    );
    return rows.map(toVersion);
  }

  /**
   * The price of `variant` for a request with these dimensions, in force at
   * `at`: 404 variant_not_found when the variant has no active price, 422
   * price_not_found when it has none for this combination. `strict` names
   * request dimensions that must be priced (an edit's input_images).
   */
  async price(
    variant: string,
    dimensions: Dimensions = {},
    at: Date = this.clock.now(),
    strict: readonly string[] = [],
  ): Promise<PriceVersion> {
    const m = matchPrice(await this.versions(variant), dimensions, at, strict);
    if (m.kind === 'matched') return m.price;
    if (m.kind === 'no_variant') throw Errors.notFound('variant_not_found', `No active price for variant ${variant}`);
    const by = m.keys.length ? `it is priced by ${m.keys.join(', ')}` : 'it has one flat price';
    throw Errors.unprocessable('price_not_found', `Variant ${variant} has no price for ${describe(m.asked)} (${by}); nothing was reserved`);
  }

  /** The price and the provider's unit cost of a request, read together. */
  async priceRequest(variant: string, dimensions: Dimensions, at: Date, strict: readonly string[] = []): Promise<PricedRequest> {
    const price = await this.price(variant, dimensions, at, strict);
    return { price, unitCostMicroUsd: await this.unitCost(variant, dimensions, at) };
  }

  /** The provider's cost of one unit of `variant` for these dimensions; null when the cost table has none. */
  async unitCost(variant: string, dimensions: Dimensions, at: Date = this.clock.now()): Promise<bigint | null> {
    return costAt(await this.costs(variant), dimensions, at);
  }

  /** Every cost row of `variant`, for costAt to choose from. */
  private async costs(variant: string): Promise<ProviderCost[]> {
    const rows = await this.db.query<{ dimensions: Record<string, string>; cost_micro_usd: string; effective_at: Date }>(
      `SELECT dimensions, cost_micro_usd::text, effective_at FROM provider_costs WHERE variant = $1`,
      [variant],
    );
    return rows.map((r) => ({ variant, dimensions: r.dimensions, costMicroUsd: BigInt(r.cost_micro_usd), effectiveAt: r.effective_at }));
  }

  /** The flat price of `variant` (its price with no dimensions asked). */
  current(variant: string, at: Date = this.clock.now()): Promise<PriceVersion> {
    return this.price(variant, {}, at);
  }

  /** Every active price in force, by variant, then number of dimensions, then dimensions. */
  async list(at: Date = this.clock.now()): Promise<PriceVersion[]> {
    const size = (p: PriceVersion) => Object.keys(p.dimensions).length;
    return pricesInForce(await this.versions(), at).sort(
      (a, b) =>
        a.variant.localeCompare(b.variant) || size(a) - size(b) || dimensionsKey(a.dimensions).localeCompare(dimensionsKey(b.dimensions)),
    );
  }

  /**
   * A new version of one (variant, dimensions) price (admin): the same model,
   * unit and description, effective from `effectiveAt`. Dimensions the variant
   * has no price for yet start at version 1, with the variant's model and unit.
   * Reservations keep the version they were priced at. The variant's rows are
   * locked so two changes at once get distinct version numbers.
   */
  async newVersion(
    tx: Tx,
    variant: string,
    change: { tokens: bigint; active?: boolean; effectiveAt: Date; dimensions?: Dimensions },
  ): Promise<PriceVersion> {
    const dimensions = canonicalDimensions(change.dimensions ?? {});
    const { rows } = await tx.sql.query<PriceRow>(
      `SELECT ${PRICE_COLUMNS} FROM prices WHERE variant = $1 ORDER BY version DESC, id DESC FOR UPDATE`,
      [variant],
    );
    if (rows.length === 0) throw Errors.notFound('variant_not_found', `No variant ${variant}`);
    const same = rows.filter((r) => dimensionsKey(r.dimensions) === dimensionsKey(dimensions));
    const latest = same[0];
    const base = latest ?? rows[0];
    const ins = await tx.sql.query<PriceRow>(
      `INSERT INTO prices (variant, model, unit, tokens, version, active, is_default, effective_at, description, dimensions)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       RETURNING ${PRICE_COLUMNS}`,
      [
        variant,
        base.model,
        base.unit,
        change.tokens.toString(),
        latest ? latest.version + 1 : 1,
        change.active ?? latest?.active ?? true,
        latest ? latest.is_default : false,
        change.effectiveAt,
        latest ? latest.description : `${variant}, ${describe(dimensions)}`,
        JSON.stringify(dimensions),
      ],
    );
    return toVersion(ins.rows[0]);
  }

  /**
   * The prices in force of a metered variant, one per unit: its rows keyed by
   * a `meter` dimension (AddMeteredPrices). 404 when the variant has no price,
   * 422 variant_not_metered when it has no meter.
   */
  async meters(variant: string, at: Date): Promise<Meters> {
    const live = pricesInForce(await this.versions(variant), at);
    if (live.length === 0) throw Errors.notFound('variant_not_found', `No active price for variant ${variant}`);
    const metered = live.filter((p) => p.dimensions.meter !== undefined);
    if (metered.length === 0) {
      throw Errors.unprocessable('variant_not_metered', `Variant ${variant} is not metered; reserve it by quantity`);
    }
    // The provider's unit cost of each meter, from one read of the variant's cost rows.
    const costs = await this.costs(variant);
    return Object.fromEntries(
      metered.map((p) => {
        const cost = costAt(costs, { meter: p.dimensions.meter }, at);
        return [
          p.dimensions.meter,
          { price_id: p.id, version: p.version, tokens: p.tokens.toString(), cost_micro_usd: cost?.toString() ?? null },
        ];
      }),
    );
  }

  async quote(variant: string, quantity: number, at: Date, dimensions: Dimensions = {}): Promise<Quote> {
    const v = await this.price(variant, dimensions, at);
    return { amount: priceOf(v.tokens, quantity), priceId: v.id, variant: v.variant, version: v.version };
  }
}
