import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One hot wallet must not hold the pool hostage: an operation waits at most
 * 2 s for a wallet's lock (or a concurrent duplicate's idempotency key), then
 * fails with SQLSTATE 55P03, answered 503 `wallet_busy` (nothing applied,
 * retry with the same Idempotency-Key). Other wallets' operations get their
 * connections back within that bound.
 */
const FUNCTIONS = [
  'ledger_reserve(uuid, text, text, text, text, bigint, int, timestamptz, bigint, bigint, int, text, int, text, jsonb)',
  'ledger_reserve_all(text, text[], bigint[], int[], text[], int, timestamptz, bigint, bigint, int, text)',
  'ledger_finish(uuid, text, text, text, text, bigint, timestamptz)',
  'ledger_extend(uuid, text, text, text, timestamptz, int, timestamptz)',
];

export class BoundWalletLockWaits1764500003000 implements MigrationInterface {
  name = 'BoundWalletLockWaits1764500003000';

  async up(q: QueryRunner): Promise<void> {
    for (const f of FUNCTIONS) await q.query(`ALTER FUNCTION ${f} SET lock_timeout = '2s'`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const f of FUNCTIONS) await q.query(`ALTER FUNCTION ${f} RESET lock_timeout`);
  }
}
