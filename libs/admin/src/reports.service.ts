import { Clock, Database, Errors, formatTokens, formatUsd } from '@app/common';
import { SYSTEM } from '@app/ledger';
import { Injectable } from '@nestjs/common';

const DAY_MS = 86_400_000;

/** Finance views over the ledger: totals by kind, dollars by variant, per-day series, statements. */
@Injectable()
export class ReportsService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  private range(from?: string, to?: string): { from: Date; to: Date } {
    const end = to ? new Date(to) : this.clock.now();
    const start = from ? new Date(from) : new Date(end.getTime() - 30 * DAY_MS);
    if (start.getTime() >= end.getTime())
      throw Errors.validation('from must be before to', [{ field: 'from', message: 'from must be before to' }]);
    if (end.getTime() - start.getTime() > 3_660 * DAY_MS)
      throw Errors.validation('the range is at most 10 years', [{ field: 'from', message: 'range too long' }]);
    return { from: start, to: end };
  }

  /**
   * sold: tokens credited by Stripe payments; granted: free and admin grants;
   * spent: settled to revenue; expired: posted to breakage; refunded: admin
   * refunds. Dollars by variant are what was settled, at 1 token = $0.10.
   */
  async summary(fromText?: string, toText?: string) {
    const { from, to } = this.range(fromText, toText);
    const [totals] = await this.db.read<Record<'sold' | 'granted' | 'spent' | 'expired' | 'refunded', string>>(
      `SELECT
         coalesce(sum(t.amount) FILTER (WHERE t.kind IN ('purchase', 'plan')), 0)::text AS sold,
         coalesce(sum(t.amount) FILTER (WHERE t.kind = 'grant'), 0)::text AS granted,
         coalesce(sum(t.amount) FILTER (WHERE t.kind = 'refund'), 0)::text AS refunded,
         (SELECT coalesce(sum(e.amount), 0) FROM entries e JOIN transfers s ON s.id = e.transfer_id
            WHERE e.account_id = $3 AND s.kind = 'settle' AND s.created_at >= $1 AND s.created_at < $2)::text AS spent,
         (SELECT coalesce(sum(e.amount), 0) FROM entries e JOIN transfers s ON s.id = e.transfer_id
            WHERE e.account_id = $4 AND s.created_at >= $1 AND s.created_at < $2)::text AS expired
       FROM transfers t WHERE t.created_at >= $1 AND t.created_at < $2`,
      [from, to, SYSTEM.revenue, SYSTEM.breakage],
    );
    const byVariant = await this.db.read<{ variant: string; mt: string }>(
      `SELECT coalesce(r.variant, '(by amount)') AS variant, sum(e.amount)::text AS mt
       FROM transfers t JOIN entries e ON e.transfer_id = t.id AND e.account_id = $3
       JOIN reservations r ON r.id = t.ref
       WHERE t.kind = 'settle' AND t.created_at >= $1 AND t.created_at < $2
       GROUP BY 1 ORDER BY 1`,
      [from, to, SYSTEM.revenue],
    );
    const tokens = Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, formatTokens(BigInt(v))]));
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      tokens,
      usd_by_variant: byVariant.map((v) => ({ variant: v.variant, tokens: formatTokens(BigInt(v.mt)), usd: formatUsd(BigInt(v.mt)) })),
    };
  }

  async daily(fromText?: string, toText?: string) {
    const { from, to } = this.range(fromText, toText);
    const rows = await this.db.read<{ day: string; sold: string; spent: string; expired: string }>(
      `SELECT to_char(d, 'YYYY-MM-DD') AS day,
         coalesce((SELECT sum(t.amount) FROM transfers t WHERE t.kind IN ('purchase', 'plan') AND t.created_at >= d AND t.created_at < d + interval '1 day'), 0)::text AS sold,
         coalesce((SELECT sum(e.amount) FROM entries e JOIN transfers t ON t.id = e.transfer_id
                   WHERE e.account_id = $3 AND t.kind = 'settle' AND t.created_at >= d AND t.created_at < d + interval '1 day'), 0)::text AS spent,
         coalesce((SELECT sum(e.amount) FROM entries e JOIN transfers t ON t.id = e.transfer_id
                   WHERE e.account_id = $4 AND t.created_at >= d AND t.created_at < d + interval '1 day'), 0)::text AS expired
       FROM generate_series(date_trunc('day', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', $2::timestamptz, interval '1 day') AS d
       ORDER BY d`,
      [from, to, SYSTEM.revenue, SYSTEM.breakage],
    );
    return {
      data: rows.map((r) => ({
        day: r.day,
        sold: formatTokens(BigInt(r.sold)),
        spent: formatTokens(BigInt(r.spent)),
        expired: formatTokens(BigInt(r.expired)),
      })),
    };
  }

  /** A wallet's transactions as CSV, oldest first, with the available balance after each. */
  async statementCsv(ownerId: string, fromText?: string, toText?: string): Promise<string> {
    const { from, to } = this.range(fromText, toText);
    const w = await this.db.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = $1`, [ownerId]);
    if (!w[0]) throw Errors.notFound('wallet_not_found', `No wallet for owner ${ownerId}`);
    const rows = await this.db.read<{ id: string; kind: string; amount: string; after: string; created_at: Date; ref: string | null }>(
      `SELECT * FROM (
         SELECT id, kind, amount::text, (sum(amount) OVER (ORDER BY created_at, id))::text AS after, created_at, ref
         FROM transfers WHERE wallet_id = $1) x
       WHERE created_at >= $2 AND created_at < $3 ORDER BY created_at, id`,
      [w[0].id, from, to],
    );
    const cell = (v: string | null) => (v === null ? '' : /[",\n\r]/.test(v) || /^[=+\-@]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const lines = ['created_at,transaction_id,type,amount,available_after,ref'];
    for (const r of rows)
      lines.push(
        [r.created_at.toISOString(), r.id, r.kind, formatTokens(BigInt(r.amount)), formatTokens(BigInt(r.after)), cell(r.ref)].join(','),
      );
    return `${lines.join('\n')}\n`;
  }
}
