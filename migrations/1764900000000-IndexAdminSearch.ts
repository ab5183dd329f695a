import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the dashboard's search and a wallet's audit view read by: owner ids by
 * prefix, and the audit entries of one wallet (its own and its generations').
 */
export class IndexAdminSearch1764900000000 implements MigrationInterface {
  name = 'IndexAdminSearch1764900000000';

  async up(q: QueryRunner): Promise<void> {
    // A prefix is a range in byte order ("C"): the unique index's collation may order _ . : @ - otherwise.
    await q.query(`CREATE INDEX wallets_owner_id_bytes ON wallets (owner_id COLLATE "C")`);
    // The wallet an audit entry belongs to: the target for a wallet action, the owner_id the
    // action recorded for anything a wallet has (a refund's generation); null for a price.
    await q.query(`
      CREATE FUNCTION audit_owner_id(p_target_type text, p_target_id text, p_details jsonb)
      RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN p_target_type = 'wallet' THEN p_target_id ELSE p_details ->> 'owner_id' END
      $$`);
    await q.query(`CREATE INDEX audit_log_owner ON audit_log (audit_owner_id(target_type, target_id, details), created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX audit_log_owner`);
    await q.query(`DROP FUNCTION audit_owner_id(text, text, jsonb)`);
    await q.query(`DROP INDEX wallets_owner_id_bytes`);
  }
}
