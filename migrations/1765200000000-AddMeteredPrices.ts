import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Units and metered prices (spec section 11, "Units").
 *
 * Units: `image`, `second` (video, audio), `1k_input_tokens` and
 * `1k_output_tokens` (LLM). A usage is `{input_tokens?, output_tokens?,
 * seconds?, quantity?}`: tokens are integers, seconds and quantity decimals
 * with at most 6 places, all >= 0. Each field is metered by one unit:
 *
 *   input_tokens  -> 1k_input_tokens   (price per 1000 tokens)
 *   output_tokens -> 1k_output_tokens  (price per 1000 tokens)
 *   seconds       -> second
 *   quantity      -> image
 *
 * **The rounding rule, in one place:** `ledger_usage_cost(meters, usage)`.
 * The cost is sum(quantity x price per unit / scale) computed exactly in
 * numeric (no division until the end: every term is scaled to thousandths of
 * a millitoken, which is exact for 6 decimals and a 1000 scale), then rounded
 * UP to the next millitoken once, for the whole usage. It is never less than
 * the exact cost and never 1 millitoken or more above it. The reserve of an
 * estimate and the settle of a usage both call it; nothing in TypeScript
 * computes a metered charge.
 *
 * A metered variant has one price row per unit, keyed by a `meter` dimension
 * whose value is the unit (`{"meter": "1k_input_tokens"}`). That fits the
 * unique key (variant, dimensions, version) as it is: each unit of a variant
 * is versioned on its own, like a size or a quality, with no new column, and
 * the row's `unit` column says the same. A metered variant has no price
 * without a meter, so `{variant, quantity}` on it is 422 price_not_found
 * rather than a charge at one unit's price.
 *
 * Seeded, with the margin of the image prices (AddPriceDimensions:
 * $0.354 / $0.167 = 354/167, price_mt = ceil(cost_micro_usd x 354 / 16700),
 * 1 mt = $0.0001 = 100 micro-USD, rounded up so no price falls below it):
 *
 *   gpt-4o-mini (OpenAI public price: $0.15 per 1M input tokens, $0.60 per
 *   1M output tokens):
 *     1k_input_tokens:   150 micro-USD x 354 / 16700 =  3.18 ->  4 mt (0.004 tokens)
 *     1k_output_tokens:  600 micro-USD x 354 / 16700 = 12.72 -> 13 mt (0.013 tokens)
 *   sora-2 (OpenAI public price: $0.10 per second of 720p video):
 *     second:         100000 micro-USD x 354 / 16700 = 2119.76 -> 2120 mt (2.120 tokens)
 *
 * A price is whole millitokens per unit, so the per-1K token prices round up
 * by up to 1 mt (about 26% above the margin for gpt-4o-mini input); a finer
 * price would need a per-1M unit, which is a new unit, not a schema change.
 * The provider costs go in `provider_costs` with the same meter dimension.
 */
export class AddMeteredPrices1765200000000 implements MigrationInterface {
  name = 'AddMeteredPrices1765200000000';

  async up(q: QueryRunner): Promise<void> {
    // Which unit a usage field is counted in: one definition, for the charge and for the provider's cost.
    await q.query(`
      CREATE FUNCTION ledger_usage_unit(p_field text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE p_field WHEN 'input_tokens' THEN '1k_input_tokens' WHEN 'output_tokens' THEN '1k_output_tokens'
                            WHEN 'seconds' THEN 'second' WHEN 'quantity' THEN 'image' END
      $$`);
    await q.query(`
      CREATE FUNCTION ledger_usage_cost(p_meters jsonb, p_usage jsonb) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE
        v_exact numeric := 0;  -- thousandths of a millitoken, exact
        v_cost numeric;
        v_field text;
        v_value text;
        v_unit text;
        v_meter jsonb;
      BEGIN
        IF p_meters IS NULL OR jsonb_typeof(p_meters) <> 'object' THEN
          RAISE EXCEPTION USING ERRCODE = 'TW001', MESSAGE = 'reservation_not_metered', DETAIL = 'The reservation has no meters';
        END IF;
        IF p_usage IS NULL OR jsonb_typeof(p_usage) <> 'object' THEN
          RAISE EXCEPTION USING ERRCODE = 'TW001', MESSAGE = 'validation_error', DETAIL = 'usage must be an object';
        END IF;
        FOR v_field, v_value IN SELECT key, value #>> '{}' FROM jsonb_each(p_usage) ORDER BY key LOOP
          v_unit := ledger_usage_unit(v_field);
          IF v_unit IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'TW001', MESSAGE = 'validation_error',
              DETAIL = format('%s is not a usage field (input_tokens, output_tokens, seconds, quantity)', v_field);
          END IF;
          IF v_value IS NULL OR v_value !~ (CASE WHEN v_unit LIKE '1k\\_%' THEN '^[0-9]{1,12}$' ELSE '^[0-9]{1,12}(\\.[0-9]{1,6})?$' END) THEN
            RAISE EXCEPTION USING ERRCODE = 'TW001', MESSAGE = 'validation_error',
              DETAIL = format('%s must be %s >= 0', v_field,
                CASE WHEN v_unit LIKE '1k\\_%' THEN 'a whole number' ELSE 'a decimal with at most 6 places' END);
          END IF;
          v_meter := p_meters -> v_unit;
          IF v_meter IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'TW001', MESSAGE = 'meter_not_priced',
              DETAIL = format('%s (%s) is not metered for this variant; it meters %s', v_field, v_unit,
                (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(p_meters) AS k));
          END IF;
          -- Scaled to thousandths of a millitoken: per-1K prices as they are, per-unit prices x 1000. Exact: no division.
          v_exact := v_exact + v_value::numeric * (v_meter->>'tokens')::numeric * CASE WHEN v_unit LIKE '1k\\_%' THEN 1 ELSE 1000 END;
        END LOOP;
        -- Rounded up to the next millitoken, once: ceil(x / 1000) = (ceil(x) + 999) div 1000 for x >= 0, in integers.
        v_cost := div(ceil(v_exact) + 999, 1000);
        IF v_cost > 1000000000000000 THEN
          RAISE EXCEPTION USING ERRCODE = 'TW001', MESSAGE = 'validation_error',
            DETAIL = format('the usage costs %s millitokens, more than the ledger can hold in one charge', v_cost);
        END IF;
        RETURN v_cost::bigint;
      END $$`);
    // What the provider charged for a usage, in micro-USD, exact: each meter's cost_micro_usd (recorded with the
    // hold's meters when it was reserved) times the quantity, per 1K for the 1k_ units. NULL when a meter the
    // usage used has no recorded cost. Read by the margin report; the usage was checked when it was settled.
    await q.query(`
      CREATE FUNCTION ledger_usage_provider_cost(p_meters jsonb, p_usage jsonb) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN bool_and(c IS NOT NULL) THEN coalesce(sum(c), 0) END
        FROM (SELECT (u.value #>> '{}')::numeric * (p_meters -> ledger_usage_unit(u.key) ->> 'cost_micro_usd')::numeric
                     / CASE WHEN ledger_usage_unit(u.key) LIKE '1k\\_%' THEN 1000 ELSE 1 END AS c
              FROM jsonb_each(p_usage) AS u) x
      $$`);
    await q.query(
      `COMMENT ON FUNCTION ledger_usage_cost(jsonb, jsonb) IS 'What a usage costs at these meters, in millitokens: exact, rounded up once (the rounding rule)'`,
    );

    const SEEDED = '2026-01-01T00:00:00Z';
    const priceMt = (micro: number) => Math.ceil((micro * 354) / 16_700);
    const rows: [variant: string, model: string, unit: string, micro: number, description: string, source: string][] = [
      [
        'gpt-4o-mini',
        'models/openai/gpt-4o-mini',
        '1k_input_tokens',
        150,
        'gpt-4o-mini, OpenAI Chat Completions, per 1K input tokens',
        'OpenAI gpt-4o-mini public price: $0.15 per 1M input tokens',
      ],
      [
        'gpt-4o-mini',
        'models/openai/gpt-4o-mini',
        '1k_output_tokens',
        600,
        'gpt-4o-mini, OpenAI Chat Completions, per 1K output tokens',
        'OpenAI gpt-4o-mini public price: $0.60 per 1M output tokens',
      ],
      [
        'sora-2',
        'models/openai/sora',
        'second',
        100_000,
        'sora-2, OpenAI Videos API, 720p, per second',
        'OpenAI sora-2 public price: $0.10 per second',
      ],
    ];
    for (const [variant, model, unit, micro, description, source] of rows) {
      const dims = JSON.stringify({ meter: unit });
      await q.query(
        `INSERT INTO prices (variant, model, unit, tokens, version, is_default, effective_at, description, dimensions)
         VALUES ($1, $2, $3, $4, 1, false, $5, $6, $7)`,
        [variant, model, unit, priceMt(micro), SEEDED, description, dims],
      );
      await q.query(`INSERT INTO provider_costs (variant, dimensions, cost_micro_usd, effective_at, source) VALUES ($1, $2, $3, $4, $5)`, [
        variant,
        dims,
        micro,
        SEEDED,
        source,
      ]);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM provider_costs WHERE variant IN ('gpt-4o-mini', 'sora-2')`);
    await q.query(`DELETE FROM prices WHERE variant IN ('gpt-4o-mini', 'sora-2')`);
    await q.query(`DROP FUNCTION ledger_usage_provider_cost(jsonb, jsonb)`);
    await q.query(`DROP FUNCTION ledger_usage_cost(jsonb, jsonb)`);
    await q.query(`DROP FUNCTION ledger_usage_unit(text)`);
  }
}
