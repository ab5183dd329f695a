/**
 * The ledger reserves "variant x quantity" without depending on the pricing
 * domain: it asks whatever provides PRICE_QUOTER (the pricing module).
 */
export interface Quote {
  amount: bigint;
  priceId: string;
  variant: string;
  version: number;
}

/** A metered variant's prices in force, by unit (1k_input_tokens, second, ...): what a metered hold records and is charged at. */
export type Meters = Record<
  string,
  {
    price_id: string;
    version: number;
    /** Millitokens per unit, as a decimal string. */
    tokens: string;
    /** The provider's cost of one unit in micro-USD (provider_costs), as a decimal string; null when the cost table has none. */
    cost_micro_usd?: string | null;
  }
>;

export interface PriceQuoter {
  quote(variant: string, quantity: number, at: Date): Promise<Quote>;
  /** The meters of a metered variant at `at`: 404 variant_not_found, 422 variant_not_metered. */
  meters(variant: string, at: Date): Promise<Meters>;
}

export const PRICE_QUOTER = Symbol('PRICE_QUOTER');
