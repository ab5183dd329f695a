import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import pg from 'pg';
import { createTestDatabase } from '../support/database.js';

/**
 * The rounding rule has one definition, in SQL (ledger_usage_cost of the
 * AddMeteredPrices migration): exact in numeric, rounded up to the next
 * millitoken once per charge. These cases and the property run against it.
 */

type Meters = Partial<Record<'1k_input_tokens' | '1k_output_tokens' | 'second' | 'image', number>>;
type Usage = Partial<Record<'input_tokens' | 'output_tokens' | 'seconds' | 'quantity', string | number>>;

const UNIT: Record<keyof Usage, keyof Meters> = {
  input_tokens: '1k_input_tokens',
  output_tokens: '1k_output_tokens',
  seconds: 'second',
  quantity: 'image',
};

/** The exact cost in nano-millitokens (10^-9 mt), from decimal strings: an independent reference in integers. */
function exactNano(meters: Meters, usage: Usage): bigint {
  let total = 0n;
  for (const [field, value] of Object.entries(usage) as [keyof Usage, string | number][]) {
    const price = BigInt(meters[UNIT[field]] ?? 0);
    const [whole, frac = ''] = String(value).split('.');
    const micro = BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0')); // the quantity x 10^6
    // per 1K: q x price / 1000 mt = micro x price nano-mt; per unit: q x price mt = micro x price x 1000 nano-mt.
    total += micro * price * (UNIT[field].startsWith('1k_') ? 1n : 1000n);
  }
  return total;
}

describe('ledger_usage_cost: the rounding rule', () => {
  let db: { url: string; drop: () => Promise<void> };
  let client: pg.Client;
  const cost = async (meters: Meters, usage: Usage): Promise<bigint> => {
    const m = Object.fromEntries(Object.entries(meters).map(([u, t]) => [u, { price_id: '1', version: 1, tokens: String(t) }]));
    const { rows } = await client.query<{ c: string }>(`SELECT ledger_usage_cost($1, $2)::text AS c`, [
      JSON.stringify(m),
      JSON.stringify(usage),
    ]);
    return BigInt(rows[0].c);
  };
  const failure = async (meters: Meters, usage: unknown): Promise<string> => {
    const m = Object.fromEntries(Object.entries(meters).map(([u, t]) => [u, { tokens: String(t) }]));
    try {
      await client.query(`SELECT ledger_usage_cost($1, $2)`, [JSON.stringify(m), JSON.stringify(usage)]);
      return 'no error';
    } catch (e) {
      return `${(e as { code?: string }).code} ${(e as Error).message}`;
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  const LLM: Meters = { '1k_input_tokens': 4, '1k_output_tokens': 13 };
  const VIDEO: Meters = { second: 2120 };

  it('charges an exact integer as it is, and rounds anything above it up by one millitoken', async () => {
    expect(await cost(LLM, { input_tokens: 1000 })).toBe(4n);
    expect(await cost(LLM, { input_tokens: 250, output_tokens: 0 })).toBe(1n); // exactly 1.000 mt
    expect(await cost(LLM, { input_tokens: 251 })).toBe(2n); // 1.004 mt
    expect(await cost(LLM, { input_tokens: 1 })).toBe(1n); // 0.004 mt
    expect(await cost(VIDEO, { seconds: '1' })).toBe(2120n);
    expect(await cost(VIDEO, { seconds: '1.000000' })).toBe(2120n);
    // 1 part in 10^6 above: 2120.00212 mt -> 2121.
    expect(await cost(VIDEO, { seconds: '1.000001' })).toBe(2121n);
    expect(await cost({ second: 1 }, { seconds: '0.000001' })).toBe(1n); // 0.000001 mt
    expect(await cost({ second: 1000 }, { seconds: '0.001' })).toBe(1n); // exactly 1 mt
    expect(await cost({ second: 1000 }, { seconds: '0.001001' })).toBe(2n);
  });

  it('rounds once per charge, not per meter', async () => {
    // 1 input token 0.004 + 1 output token 0.013 = 0.017 mt -> 1, where rounding each meter would charge 2.
    expect(await cost(LLM, { input_tokens: 1, output_tokens: 1 })).toBe(1n);
    // 0.5 s + 0.5 s of two images at 1 mt: 0.5 + 0.5 = 1 exactly.
    expect(await cost({ second: 1, image: 1 }, { seconds: '0.5', quantity: '0.5' })).toBe(1n);
  });

  it('charges nothing for no usage', async () => {
    expect(await cost(LLM, {})).toBe(0n);
    expect(await cost(LLM, { input_tokens: 0, output_tokens: 0 })).toBe(0n);
    expect(await cost(VIDEO, { seconds: '0.000000' })).toBe(0n);
  });

  it('is exact for large values', async () => {
    // 10^12 - 1 output tokens at 13 mt per 1K: 12999999999.987 mt -> 13000000000.
    expect(await cost(LLM, { output_tokens: 999_999_999_999 })).toBe(13_000_000_000n);
    // 999999999999.999999 s at 2120 mt: 2119999999999999.99788 -> over the cap of one charge.
    expect(await failure(VIDEO, { seconds: '999999999999.999999' })).toBe('TW001 validation_error');
    // 123456789.123456 s x 2120 mt = 261728392680 + 261.72672 = 261728392941.72672 mt -> 261728392942.
    expect(await cost(VIDEO, { seconds: '123456789.123456' })).toBe(261_728_392_942n);
  });

  it('refuses a negative, over-precise, unknown or unpriced usage', async () => {
    expect(await failure(LLM, { input_tokens: -1 })).toBe('TW001 validation_error');
    expect(await failure(LLM, { input_tokens: 1.5 })).toBe('TW001 validation_error');
    expect(await failure(VIDEO, { seconds: '1.0000001' })).toBe('TW001 validation_error');
    expect(await failure(VIDEO, { seconds: '1e3' })).toBe('TW001 validation_error');
    expect(await failure(VIDEO, { seconds: null })).toBe('TW001 validation_error');
    expect(await failure(VIDEO, { minutes: 1 })).toBe('TW001 validation_error');
    expect(await failure(VIDEO, { input_tokens: 10 })).toBe('TW001 meter_not_priced');
    expect(await failure(LLM, { seconds: '0' })).toBe('TW001 meter_not_priced');
    expect(await failure(LLM, [1])).toBe('TW001 validation_error');
  });

  it('never charges less than the exact cost, nor 1 millitoken or more above it (property)', async () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 6 }))
      .map(([w, f, places]) => (places === 0 ? String(w) : `${w}.${String(f).padStart(6, '0').slice(0, places)}`));
    const price = fc.integer({ min: 0, max: 1_000_000 });
    await fc.assert(
      fc.asyncProperty(
        fc.record({ '1k_input_tokens': price, '1k_output_tokens': price, second: price, image: price }, { requiredKeys: [] }),
        fc.record(
          {
            input_tokens: fc.integer({ min: 0, max: 2_000_000_000 }),
            output_tokens: fc.integer({ min: 0, max: 2_000_000_000 }),
            seconds: decimal,
            quantity: decimal,
          },
          { requiredKeys: [] },
        ),
        async (meters: Meters, raw: Usage) => {
          const usage = Object.fromEntries(Object.entries(raw).filter(([f]) => meters[UNIT[f as keyof Usage]] !== undefined)) as Usage;
          const exact = exactNano(meters, usage);
          if (exact > 10n ** 24n) return; // past the cap of one charge (10^15 mt): refused, tested above
          const charged = (await cost(meters, usage)) * 1_000_000_000n;
          expect(charged >= exact).toBe(true);
          expect(charged - exact < 1_000_000_000n).toBe(true);
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });
});
