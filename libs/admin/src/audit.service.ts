import { Database, Errors, formatTokens, Principal, Tx } from '@app/common';
import { Injectable } from '@nestjs/common';
import type { Action, AuditQuery } from './dto/admin.dto.js';

const MAX_BIGINT = 2n ** 63n - 1n;

/**
 * An action on a wallet's thing (a generation) names the wallet's owner: it
 * is stored as details.owner_id, which the wallet's audit view reads
 * (audit_owner_id, indexed), so a refund shows beside the wallet's grants.
 */
export type AuditEntry = {
  actor: Principal;
  action: Action;
  amount?: bigint | null;
  reason: string;
  details?: Record<string, unknown>;
} & (
  | { targetType: 'wallet'; targetId: string }
  | { targetType: 'generation'; targetId: string; ownerId: string }
  | { targetType: 'price'; targetId: string }
);

/** Append-only (a trigger refuses UPDATE and DELETE); written in the action's own transaction. */
@Injectable()
export class AuditService {
  constructor(private readonly db: Database) {}

  async record(tx: Tx, e: AuditEntry): Promise<void> {
    const details = e.targetType === 'generation' ? { ...e.details, owner_id: e.ownerId } : e.details;
    await tx.sql.query(
      `INSERT INTO audit_log (actor, actor_key_id, action, target_type, target_id, amount, reason, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        e.actor.name,
        e.actor.id,
        e.action,
        e.targetType,
        e.targetId,
        e.amount?.toString() ?? null,
        e.reason,
        details ? JSON.stringify(details) : null,
      ],
    );
  }

  /**
   * Newest first: (created_at, id) descending, the id compared as a number (a
   * text sort put 10-12 after 1 and lost them between pages). The cursor is
   * the last entry's id; the page after it continues below that entry's place.
   * `owner_id` keeps a wallet's entries: those on it and on its generations.
   */
  async list(q: AuditQuery) {
    const limit = q.limit ?? 50;
    if (q.cursor !== undefined && BigInt(q.cursor) > MAX_BIGINT) {
      throw Errors.validation('cursor is not a next_cursor value', [{ field: 'cursor', message: 'cursor is invalid' }]);
    }
    const rows = await this.db.read<{
      id: string;
      actor: string;
      action: string;
      target_type: string;
      target_id: string;
      amount: string | null;
      reason: string;
      details: unknown;
      created_at: Date;
    }>(
      `SELECT a.id::text AS id, a.actor, a.action, a.target_type, a.target_id, a.amount::text AS amount, a.reason, a.details, a.created_at
       FROM audit_log a
       WHERE ($1::text IS NULL OR a.action = $1) AND ($2::text IS NULL OR a.actor = $2) AND ($3::text IS NULL OR a.target_id = $3)
         AND ($4::timestamptz IS NULL OR a.created_at >= $4) AND ($5::timestamptz IS NULL OR a.created_at < $5)
         AND ($6::bigint IS NULL OR (a.created_at, a.id) < (SELECT c.created_at, c.id FROM audit_log c WHERE c.id = $6))
         AND ($8::text IS NULL OR audit_owner_id(a.target_type, a.target_id, a.details) = $8)
       ORDER BY a.created_at DESC, a.id DESC LIMIT $7`,
      [
        q.action ?? null,
        q.actor ?? null,
        q.target_id ?? null,
        q.from ?? null,
        q.to ?? null,
        q.cursor ?? null,
        limit + 1,
        q.owner_id ?? null,
      ],
    );
    const page = rows.slice(0, limit);
    return {
      data: page.map((r) => ({
        ...r,
        amount: r.amount === null ? null : formatTokens(BigInt(r.amount)),
        created_at: r.created_at.toISOString(),
      })),
      next_cursor: rows.length > limit ? page[page.length - 1].id : null,
    };
  }
}
