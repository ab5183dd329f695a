import { Clock, Database, Errors, formatTokens, formatUsd, PriceQuoter, Quote, Tx } from '@app/common';
import { Injectable } from '@nestjs/common';
import { priceOf, PriceVersion, versionAt } from './price-math.js';

export interface PriceView {
  variant: string;
  model: string;
  unit: string;
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
  tokens: string;
  version: number;
  active: boolean;
  is_default: boolean;
  effective_at: Date;
  description: string;
}

const toVersion = (r: PriceRow): PriceVersion => ({
  id: r.id,
  variant: r.variant,
  model: r.model,
  unit: r.unit,
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
    tokens: formatTokens(v.tokens),
    usd: formatUsd(v.tokens),
    version: v.version,
    description: v.description,
    effective_at: v.effectiveAt.toISOString(),
    default: v.isDefault,
  };
}

/** The price list: versions of flat per-unit prices; also the ledger's PRICE_QUOTER. */
@Injectable()
export class PricingService implements PriceQuoter {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  private async versions(variant?: string): Promise<PriceVersion[]> {
    const rows = await this.db.query<PriceRow>(
      `SELECT id::text, variant, model, unit, tokens::text, version, active, is_default, effective_at, description
       FROM prices WHERE $1::text IS NULL OR variant = $1 ORDER BY variant, version`,
      [variant ?? null],
    );
    return rows.map(toVersion);
  }

  /** The version of `variant` in force at `at`; 404 when the variant is unknown or withdrawn. */
  async current(variant: string, at: Date = this.clock.now()): Promise<PriceVersion> {
    const v = versionAt(await this.versions(variant), at);
    if (!v || !v.active) throw Errors.notFound('variant_not_found', `No active price for variant ${variant}`);
    return v;
  }

  async list(at: Date = this.clock.now()): Promise<PriceVersion[]> {
    const byVariant = new Map<string, PriceVersion[]>();
    for (const v of await this.versions()) byVariant.set(v.variant, [...(byVariant.get(v.variant) ?? []), v]);
    return [...byVariant.values()].map((vs) => versionAt(vs, at)).filter((v): v is PriceVersion => v !== null && v.active);
  }

  /**
   * A new version of a variant's price (admin): the same model, unit and
   * description, effective from `effectiveAt`. Reservations keep the version
   * they were priced at. The variant's rows are locked so two changes at once
   * get distinct version numbers.
   */
  async newVersion(tx: Tx, variant: string, change: { tokens: bigint; active?: boolean; effectiveAt: Date }): Promise<PriceVersion> {
    const { rows } = await tx.sql.query<PriceRow>(
      `SELECT id::text, variant, model, unit, tokens::text, version, active, is_default, effective_at, description
       FROM prices WHERE variant = $1 ORDER BY version DESC FOR UPDATE`,
      [variant],
    );
    const latest = rows[0];
    if (!latest) throw Errors.notFound('variant_not_found', `No variant ${variant}`);
    const ins = await tx.sql.query<PriceRow>(
      `INSERT INTO prices (variant, model, unit, tokens, version, active, is_default, effective_at, description)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       RETURNING id::text, variant, model, unit, tokens::text, version, active, is_default, effective_at, description`,
      [
        variant,
        latest.model,
        latest.unit,
        change.tokens.toString(),
        latest.version + 1,
        change.active ?? latest.active,
        latest.is_default,
        change.effectiveAt,
        latest.description,
      ],
    );
    return toVersion(ins.rows[0]);
  }

  async quote(variant: string, quantity: number, at: Date): Promise<Quote> {
    const v = await this.current(variant, at);
    return { amount: priceOf(v.tokens, quantity), priceId: v.id, variant: v.variant, version: v.version };
  }
}
