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

export interface PriceQuoter {
  quote(variant: string, quantity: number, at: Date): Promise<Quote>;
}

export const PRICE_QUOTER = Symbol('PRICE_QUOTER');
