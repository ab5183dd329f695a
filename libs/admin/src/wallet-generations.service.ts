import { Database, Errors, formatTokens } from '@app/common';
import { Injectable } from '@nestjs/common';

export interface WalletGenerationView {
  id: string;
  status: string;
  variant: string;
  n: number;
  batch_id: string | null;
  tokens_used: string;
  refunded: string;
  created_at: string;
}

/**
 * A wallet's generations for support, newest first and cursor-paginated.
 * Reads generations (owned by the generation lib) and refund transfers;
 * writes nothing.
 */
@Injectable()
export class WalletGenerationsService {
  constructor(private readonly db: Database) {}

  /**
   * Ordered by (created_at, id) descending, a total order: rows created in
   * one instant (a batch's items) are told apart by id. The cursor is the
   * last generation's id; the next page continues below its place.
   */
  async list(ownerId: string, limit = 50, cursor?: string): Promise<{ data: WalletGenerationView[]; next_cursor: string | null }> {
    const wallets = await this.db.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = $1`, [ownerId]);
    if (!wallets[0]) throw Errors.notFound('wallet_not_found', `No wallet for owner ${ownerId}`);
    const rows = await this.db.read<{
      id: string;
      status: string;
      variant: string;
      n: number;
      batch_id: string | null;
      tokens_used: string;
      refunded: string;
      created_at: Date;
    }>(
      `SELECT g.id, g.status, g.variant, g.n, g.batch_id, g.tokens_used::text AS tokens_used,
              coalesce(r.refunded, 0)::text AS refunded, g.created_at
       FROM generations g
       LEFT JOIN LATERAL (SELECT sum(amount) AS refunded FROM transfers t WHERE t.kind = 'refund' AND t.ref = g.id) r ON true
       WHERE g.wallet_id = $1
         AND ($2::text IS NULL OR (g.created_at, g.id) < (SELECT c.created_at, c.id FROM generations c WHERE c.id = $2 AND c.wallet_id = $1))
       ORDER BY g.created_at DESC, g.id DESC LIMIT $3`,
      [wallets[0].id, cursor ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return {
      data: page.map((g) => ({
        ...g,
        tokens_used: formatTokens(BigInt(g.tokens_used)),
        refunded: formatTokens(BigInt(g.refunded)),
        created_at: g.created_at.toISOString(),
      })),
      next_cursor: rows.length > limit ? page[page.length - 1].id : null,
    };
  }
}
