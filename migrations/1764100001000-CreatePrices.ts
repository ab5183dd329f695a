import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Versioned flat prices (spec section 3). `tokens` is millitokens per unit;
 * `unit` is free text (image, second, 1k_tokens) so video and LLM models fit
 * the same table.
 */
export class CreatePrices1764100001000 implements MigrationInterface {
  name = 'CreatePrices1764100001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE prices (
        id bigserial PRIMARY KEY,
        variant text NOT NULL CHECK (variant ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
        model text NOT NULL,
        unit text NOT NULL,
        tokens bigint NOT NULL CHECK (tokens >= 0),
        version int NOT NULL CHECK (version > 0),
        active boolean NOT NULL DEFAULT true,
        is_default boolean NOT NULL DEFAULT false,
        effective_at timestamptz NOT NULL,
        description text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (variant, version)
      )`);
    await q.query(`CREATE INDEX prices_variant_effective ON prices (variant, effective_at DESC, version DESC)`);
    await q.query(`
      INSERT INTO prices (variant, model, unit, tokens, version, is_default, effective_at, description) VALUES
        ('gpt-image-1-min', 'models/openai/gpt-image', 'image', 3540, 1, true, '2026-01-01T00:00:00Z',
         '1024x1024, OpenAI Images API, model gpt-image-1'),
        ('gpt-image-1-max', 'models/openai/gpt-image', 'image', 3540, 1, false, '2026-01-01T00:00:00Z',
         '1024x1536, OpenAI Images API, model gpt-image-1'),
        ('gpt-image-2-cloudflare', 'models/openai/gpt-image', 'image', 850, 1, false, '2026-01-01T00:00:00Z',
         'budget variant, Cloudflare Workers AI')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE prices`);
  }
}
