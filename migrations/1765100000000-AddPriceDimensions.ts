import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keyed prices and provider costs (spec section 11, "Price dimensions").
 *
 * A price row may be keyed by dimensions besides its variant: `dimensions` is
 * a JSON object of string values (`{"quality": "high", "size": "1024x1536"}`,
 * `{"input_images": "2", ...}`), `{}` for a flat price. jsonb is its canonical
 * form (keys sorted, one copy each, no whitespace), so two rows of the same
 * variant and dimensions compare equal however they were written; values are
 * strings (`"2"`, not `2`) so that `2` and `2.0` cannot be two keys. A new
 * model family adds rows with its own dimension names, never a column.
 * Versions count per (variant, dimensions), each row effective from its
 * `effective_at` as before.
 *
 * Seeded: the variant `gpt-image-1` (OpenAI Images API, model gpt-image-1)
 * keyed by quality x size for generations, and by quality x size x
 * input_images (1-4) for edits. Provider cost per output image, OpenAI's
 * public price for gpt-image-1:
 *
 *   quality   1024x1024   1024x1536 / 1536x1024
 *   low       $0.011      $0.016
 *   medium    $0.042      $0.063
 *   high      $0.167      $0.25
 *
 * An input image of an edit is billed by OpenAI as image input tokens, $10
 * per 1M for gpt-image-1. Counted here as a 1024x1024 image at high detail
 * in GPT-4o's tiling, 85 + 4 x 170 = 765 tokens: 765 x $10 / 1M = $0.00765 an
 * input image. That is an estimate (the prompt's text tokens are not counted);
 * the cost table below is where it is corrected.
 *
 * The margin is today's: `gpt-image-1-min` sells a 1024x1024 gpt-image-1
 * image for 3.540 tokens ($0.354) and sends no quality, which gpt-image-1
 * renders as `auto`, billed at up to the high tier, $0.167. Neither the spec
 * nor the code states another provider cost for it, so
 *
 *   margin = $0.354 / $0.167 = 354/167 (x2.1198)
 *
 * and a price is cost x 354/167, in millitokens (1 mt = $0.0001 = 100 micro-USD),
 * rounded up to the next millitoken so no price falls below the margin:
 *
 *   price_mt = ceil(cost_micro_usd x 354 / (167 x 100))
 *
 *   low    1024x1024:   11000 x 354 / 16700 =  233.2 ->  234 mt (0.234 tokens)
 *   low    1024x1536:   16000 x 354 / 16700 =  339.2 ->  340 mt (0.340)
 *   medium 1024x1024:   42000 x 354 / 16700 =  890.3 ->  891 mt (0.891)
 *   medium 1024x1536:   63000 x 354 / 16700 = 1335.4 -> 1336 mt (1.336)
 *   high   1024x1024:  167000 x 354 / 16700 = 3540.0 -> 3540 mt (3.540, today's price)
 *   high   1024x1536:  250000 x 354 / 16700 = 5299.4 -> 5300 mt (5.300)
 *   (1536x1024 as 1024x1536.) An edit with k input images costs the output
 *   image plus k x 7650 micro-USD and is priced by the same formula, e.g.
 *   high 1024x1024 with 2 inputs: (167000 + 15300) x 354 / 16700 = 3864.3 -> 3865 mt.
 *
 * `provider_costs` is that cost table, owned by pricing: micro-USD per unit of
 * a variant, keyed by dimensions like prices, versioned by effective_at. A
 * cost row's dimensions may be fewer than the price's: the most specific row
 * whose dimensions the request has is the cost (the flat gpt-image-1-min is
 * priced once but costs by the quality it is asked for). The flat variants
 * cost as the table says; gpt-image-2-cloudflare has no public per-image
 * price to cite, so it has no row and its cost is reported as unknown.
 */
export class AddPriceDimensions1765100000000 implements MigrationInterface {
  name = 'AddPriceDimensions1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION price_dimensions_valid(d jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
        SELECT jsonb_typeof(d) = 'object' AND (SELECT count(*) FROM jsonb_object_keys(d)) <= 8
          AND NOT EXISTS (SELECT 1 FROM jsonb_each(d) AS e(k, v)
                          WHERE k !~ '^[a-z][a-z0-9_]{0,31}$' OR jsonb_typeof(v) <> 'string' OR (v #>> '{}') !~ '^[A-Za-z0-9._-]{1,32}$')
      $$`);
    await q.query(`ALTER TABLE prices ADD COLUMN dimensions jsonb NOT NULL DEFAULT '{}' CHECK (price_dimensions_valid(dimensions))`);
    await q.query(
      `COMMENT ON COLUMN prices.dimensions IS 'What the price is keyed by besides the variant (size, quality, input_images): string values, {} for a flat price'`,
    );
    await q.query(`ALTER TABLE prices DROP CONSTRAINT prices_variant_version_key`);
    await q.query(`ALTER TABLE prices ADD CONSTRAINT prices_variant_dimensions_version_key UNIQUE (variant, dimensions, version)`);
    await q.query(`DROP INDEX prices_variant_effective`);
    await q.query(`CREATE INDEX prices_variant_effective ON prices (variant, dimensions, effective_at DESC, version DESC)`);

    await q.query(`
      CREATE TABLE provider_costs (
        id bigserial PRIMARY KEY,
        variant text NOT NULL,
        dimensions jsonb NOT NULL DEFAULT '{}' CHECK (price_dimensions_valid(dimensions)),
        cost_micro_usd bigint NOT NULL CHECK (cost_micro_usd >= 0),
        effective_at timestamptz NOT NULL,
        source text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (variant, dimensions, effective_at)
      )`);
    await q.query(
      `COMMENT ON TABLE provider_costs IS 'What the provider charges per unit of a variant (micro-USD), by dimensions; owned by pricing'`,
    );

    // Output image cost in micro-USD by quality and size (OpenAI's public gpt-image-1 price).
    const outputCost: Record<string, Record<string, number>> = {
      low: { '1024x1024': 11_000, '1024x1536': 16_000, '1536x1024': 16_000 },
      medium: { '1024x1024': 42_000, '1024x1536': 63_000, '1536x1024': 63_000 },
      high: { '1024x1024': 167_000, '1024x1536': 250_000, '1536x1024': 250_000 },
    };
    const INPUT_IMAGE_COST = 7_650;
    const priceMt = (micro: number) => Math.ceil((micro * 354) / 16_700);
    const SEEDED = '2026-01-01T00:00:00Z';
    const source = 'OpenAI gpt-image-1 public price per output image; input images at 765 image tokens x $10/1M';

    const prices: unknown[][] = [];
    const costs: unknown[][] = [];
    for (const [quality, bySize] of Object.entries(outputCost)) {
      for (const [size, micro] of Object.entries(bySize)) {
        const dims = { quality, size };
        prices.push([JSON.stringify(dims), priceMt(micro), `gpt-image-1, ${quality} quality, ${size}`]);
        costs.push(['gpt-image-1', JSON.stringify(dims), micro, source]);
        for (let k = 1; k <= 4; k++) {
          const edit = { ...dims, input_images: String(k) };
          const cost = micro + k * INPUT_IMAGE_COST;
          prices.push([
            JSON.stringify(edit),
            priceMt(cost),
            `gpt-image-1 edit, ${quality} quality, ${size}, ${k} input image${k > 1 ? 's' : ''}`,
          ]);
          costs.push(['gpt-image-1', JSON.stringify(edit), cost, source]);
        }
      }
    }
    for (const [dims, mt, description] of prices) {
      await q.query(
        `INSERT INTO prices (variant, model, unit, tokens, version, is_default, effective_at, description, dimensions)
         VALUES ('gpt-image-1', 'models/openai/gpt-image', 'image', $1, 1, false, $2, $3, $4)`,
        [mt, SEEDED, description, dims],
      );
    }
    // The flat variants call gpt-image-1 at one size each and cost by the quality asked for;
    // no quality (auto) is costed at the high tier, the most it can be billed.
    for (const [variant, size] of [
      ['gpt-image-1-min', '1024x1024'],
      ['gpt-image-1-max', '1024x1536'],
    ]) {
      const bySize = (quality: string) => outputCost[quality][size];
      costs.push([variant, '{}', bySize('high'), `${source}; no quality: auto, costed as high`]);
      for (const quality of ['low', 'medium', 'high']) costs.push([variant, JSON.stringify({ quality }), bySize(quality), source]);
    }
    for (const [variant, dims, micro, src] of costs) {
      await q.query(`INSERT INTO provider_costs (variant, dimensions, cost_micro_usd, effective_at, source) VALUES ($1, $2, $3, $4, $5)`, [
        variant,
        dims,
        micro,
        SEEDED,
        src,
      ]);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE provider_costs`);
    await q.query(`DELETE FROM prices WHERE dimensions <> '{}'`);
    await q.query(`DROP INDEX prices_variant_effective`);
    await q.query(`CREATE INDEX prices_variant_effective ON prices (variant, effective_at DESC, version DESC)`);
    await q.query(`ALTER TABLE prices DROP CONSTRAINT prices_variant_dimensions_version_key`);
    await q.query(`ALTER TABLE prices ADD CONSTRAINT prices_variant_version_key UNIQUE (variant, version)`);
    await q.query(`ALTER TABLE prices DROP COLUMN dimensions`);
    await q.query(`DROP FUNCTION price_dimensions_valid(jsonb)`);
  }
}
