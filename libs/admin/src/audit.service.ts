import { Database, formatTokens, Principal, Tx } from '@app/common';
import { Injectable } from '@nestjs/common';
import type { Action, AuditQuery } from './dto/admin.dto.js';

export interface AuditEntry {
  actor: Principal;
  action: Action;
  targetType: 'wallet' | 'generation' | 'price';
  targetId: string;
  amount?: bigint | null;
  reason: string;
  details?: Record<string, unknown>;
}

/** Append-only (a trigger refuses UPDATE and DELETE); written in the action's own transaction. */
@Injectable()
export class AuditService {
  constructor(private readonly db: Database) {}

  async record(tx: Tx, e: AuditEntry): Promise<void> {
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
        e.details ? JSON.stringify(e.details) : null,
      ],
    );
  }

  async list(q: AuditQuery) {
    const limit = q.limit ?? 50;
    const rows = await this.db.query<{
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
      `SELECT id::text, actor, action, target_type, target_id, amount::text, reason, details, created_at FROM audit_log
       WHERE ($1::text IS NULL OR action = $1) AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR target_id = $3)
         AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
         AND ($6::bigint IS NULL OR id < $6)
       ORDER BY id DESC LIMIT $7`,
      [q.action ?? null, q.actor ?? null, q.target_id ?? null, q.from ?? null, q.to ?? null, q.cursor ?? null, limit + 1],
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
