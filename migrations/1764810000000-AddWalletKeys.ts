import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A unique key with wallet_id on every wallet-owned table that had none, so
 * that a distributed PostgreSQL (Citus, distributed by wallet_id) can enforce
 * one (docs/scaling.md, "Table by table"). Keys and indexes only: no
 * function, primary key, foreign key or ON CONFLICT target changes.
 *
 * transfers, reservations and generations already had an index that starts
 * with wallet_id for their lists: it becomes unique by ending with the
 * (unique) id, under the same name, so the hot path writes no extra index.
 * The others are written rarely (a credit, a batch, a plan, a payment) and get
 * a UNIQUE (wallet_id, id).
 */
const WIDENED = [
  {
    table: 'transfers',
    index: 'transfers_wallet_created',
    from: '(wallet_id, created_at DESC, id DESC)',
    to: '(wallet_id, created_at DESC, id DESC)',
  },
  {
    table: 'reservations',
    index: 'reservations_wallet',
    from: '(wallet_id, created_at DESC)',
    to: '(wallet_id, created_at DESC, id DESC)',
  },
  { table: 'generations', index: 'generations_wallet', from: '(wallet_id, created_at DESC)', to: '(wallet_id, created_at DESC, id DESC)' },
];
const ADDED = [
  { table: 'buckets', key: 'buckets_wallet_id_id_key', columns: '(wallet_id, id)' },
  { table: 'batches', key: 'batches_wallet_id_id_key', columns: '(wallet_id, id)' },
  { table: 'subscriptions', key: 'subscriptions_wallet_id_id_key', columns: '(wallet_id, id)' },
  { table: 'stripe_payments', key: 'stripe_payments_wallet_id_payment_intent_key', columns: '(wallet_id, payment_intent)' },
];

export class AddWalletKeys1764810000000 implements MigrationInterface {
  name = 'AddWalletKeys1764810000000';

  async up(q: QueryRunner): Promise<void> {
    for (const w of WIDENED) {
      await q.query(`CREATE UNIQUE INDEX ${w.index}_unique ON ${w.table} ${w.to}`);
      await q.query(`DROP INDEX ${w.index}`);
      await q.query(`ALTER INDEX ${w.index}_unique RENAME TO ${w.index}`);
    }
    for (const a of ADDED) await q.query(`ALTER TABLE ${a.table} ADD CONSTRAINT ${a.key} UNIQUE ${a.columns}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const a of ADDED) await q.query(`ALTER TABLE ${a.table} DROP CONSTRAINT ${a.key}`);
    for (const w of WIDENED) {
      await q.query(`CREATE INDEX ${w.index}_plain ON ${w.table} ${w.from}`);
      await q.query(`DROP INDEX ${w.index}`);
      await q.query(`ALTER INDEX ${w.index}_plain RENAME TO ${w.index}`);
    }
  }
}
