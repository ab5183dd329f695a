import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a generation was priced at, what the provider charged for it, and the
 * input images of an edit (spec section 11). Owned by generation.
 *
 * - `kind`: generate, or edit (images.edit with input images).
 * - `dimensions`, `price_id`, `price_version`: the price row the request
 *   matched; `unit_price` stays the millitokens per image it was reserved at.
 * - `unit_cost_micro_usd`: the provider's cost of one image (provider_costs,
 *   as of the request); NULL when the variant's cost is not known.
 * - `provider_cost_micro_usd`: set when the generation ends, delivered x
 *   unit cost (0 when nothing was delivered); NULL while running or unknown.
 * - `generation_inputs`: an edit's input images, stored with the generation
 *   in its transaction so any worker can send them, and deleted when it ends.
 */
export class AddGenerationCosts1765100001000 implements MigrationInterface {
  name = 'AddGenerationCosts1765100001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE generations
        ADD COLUMN kind text NOT NULL DEFAULT 'generate' CHECK (kind IN ('generate', 'edit')),
        ADD COLUMN dimensions jsonb,
        ADD COLUMN price_id bigint,
        ADD COLUMN price_version int,
        ADD COLUMN input_images int NOT NULL DEFAULT 0 CHECK (input_images BETWEEN 0 AND 16),
        ADD COLUMN unit_cost_micro_usd bigint CHECK (unit_cost_micro_usd >= 0),
        ADD COLUMN provider_cost_micro_usd bigint CHECK (provider_cost_micro_usd >= 0)`);
    await q.query(`CREATE INDEX generations_finished ON generations (finished_at) WHERE finished_at IS NOT NULL`);
    await q.query(`
      CREATE TABLE generation_inputs (
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        generation_id text NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
        idx int NOT NULL CHECK (idx >= 0),
        media_type text NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg', 'image/webp')),
        data bytea NOT NULL,
        PRIMARY KEY (wallet_id, generation_id, idx)
      )`);
    // Read and deleted by generation alone (the wallet key is for distribution by wallet).
    await q.query(`CREATE INDEX generation_inputs_generation ON generation_inputs (generation_id, idx)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE generation_inputs`);
    await q.query(`DROP INDEX generations_finished`);
    await q.query(`
      ALTER TABLE generations DROP COLUMN kind, DROP COLUMN dimensions, DROP COLUMN price_id, DROP COLUMN price_version,
        DROP COLUMN input_images, DROP COLUMN unit_cost_micro_usd, DROP COLUMN provider_cost_micro_usd`);
  }
}
