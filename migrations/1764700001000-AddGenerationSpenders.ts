import { MigrationInterface, QueryRunner } from 'typeorm';

/** A generation or batch carries the spender it was made for (spec section 9); its holds carry it to the budgets. */
export class AddGenerationSpenders1764700001000 implements MigrationInterface {
  name = 'AddGenerationSpenders1764700001000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of ['generations', 'batches']) {
      await q.query(`ALTER TABLE ${t} ADD COLUMN spender_id text CHECK (spender_id ~ '^[A-Za-z0-9_.:@-]{1,128}$')`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['generations', 'batches']) await q.query(`ALTER TABLE ${t} DROP COLUMN spender_id`);
  }
}
