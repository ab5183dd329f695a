import { MigrationInterface, QueryRunner } from 'typeorm';

/** The append-only audit log of admin actions (spec section 5, Admin). */
export class CreateAuditLog1764400000000 implements MigrationInterface {
  name = 'CreateAuditLog1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        actor text NOT NULL,
        actor_key_id uuid NOT NULL,
        action text NOT NULL,
        target_type text NOT NULL,
        target_id text NOT NULL,
        amount bigint,
        reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
        details jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX audit_log_created ON audit_log (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX audit_log_target ON audit_log (target_id, created_at DESC)`);
    await q.query(
      `CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION ledger_append_only()`,
    );
    await q.query(
      `CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()`,
    );
    await q.query(`CREATE INDEX transfers_kind_ref ON transfers (kind, ref)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX transfers_kind_ref`);
    await q.query(`DROP TABLE audit_log`);
  }
}
