/** Pure price decisions: which version applies, and what n units cost. */
export interface PriceVersion {
  id: string;
  variant: string;
  model: string;
  unit: string;
  /** Millitokens per unit. */
  tokens: bigint;
  version: number;
  active: boolean;
  isDefault: boolean;
  effectiveAt: Date;
  description: string;
}

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

/** Flat pricing: quantity x unit price, exact in millitokens. */
export function priceOf(unitMt: bigint, quantity: number): bigint {
  if (!Number.isSafeInteger(quantity) || quantity < 1) throw new RangeError('quantity must be a positive integer');
  return unitMt * BigInt(quantity);
}
