import { Clock, Database, Errors, formatTokens, formatUsd } from '@app/common';
import { SYSTEM, WalletService } from '@app/ledger';
import { Injectable } from '@nestjs/common';

const DAY_MS = 86_400_000;

interface MarginRow {
  variant: string;
  settlements: number;
  images: number;
  paid: string;
  free: string;
  other: string;
  revenue: string;
  cost: string;
  free_cost: string;
  without_cost: number;
}

/** USD strings with 6 decimals (micro-dollars), added and subtracted exactly as integers. */
const micros = (usd: string): bigint => {
  const [whole, frac = ''] = usd.replace('-', '').split('.');
  const v = BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0').slice(0, 6));
  return usd.startsWith('-') ? -v : v;
};
const usdOf = (m: bigint): string => {
  const abs = m < 0n ? -m : m;
  return `${m < 0n ? '-' : ''}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, '0')}`;
};
const usdAdd = (a: string, b: string) => usdOf(micros(a) + micros(b));
const usdDiff = (a: string, b: string) => usdOf(micros(a) - micros(b));

/** Finance views over the ledger: totals by kind, dollars by variant, per-day series, statements. */
@Injectable()
export class ReportsService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly wallets: WalletService,
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
   * spent: settled to revenue (with a metered hold's overage; uncollected usage was not spent by a wallet); expired: posted to breakage; refunded: admin
   * refunds. Dollars by variant are what was settled, at 1 token = $0.10.
   */
  async summary(fromText?: string, toText?: string) {
    const { from, to } = this.range(fromText, toText);
    const [totals] = await this.db.read<Record<'sold' | 'granted' | 'spent' | 'expired' | 'refunded', string>>(
      `SELECT
         coalesce(sum(t.amount) FILTER (WHERE t.kind IN ('purchase', 'plan')), 0)::text AS sold,
         coalesce(sum(t.amount) FILTER (WHERE t.kind = 'grant'), 0)::text AS granted,
         coalesce(sum(t.amount) FILTER (WHERE t.kind = 'refund'), 0)::text AS refunded,
         (SELECT coalesce(sum(e.amount), 0) FROM entries e JOIN transfers s ON s.wallet_id = e.wallet_id AND s.id = e.transfer_id
            WHERE e.account_id = $3 AND s.kind IN ('settle', 'overage') AND s.created_at >= $1 AND s.created_at < $2)::text AS spent,
         (SELECT coalesce(sum(e.amount), 0) FROM entries e JOIN transfers s ON s.wallet_id = e.wallet_id AND s.id = e.transfer_id
            WHERE e.account_id = $4 AND s.created_at >= $1 AND s.created_at < $2)::text AS expired
       FROM transfers t WHERE t.created_at >= $1 AND t.created_at < $2`,
      [from, to, SYSTEM.revenue, SYSTEM.breakage],
    );
    const byVariant = await this.db.read<{ variant: string; mt: string }>(
      `SELECT coalesce(r.variant, '(by amount)') AS variant, sum(e.amount)::text AS mt
       FROM transfers t JOIN entries e ON e.wallet_id = t.wallet_id AND e.transfer_id = t.id AND e.account_id = $3
       JOIN reservations r ON r.id = t.ref
       WHERE t.kind IN ('settle', 'overage') AND t.created_at >= $1 AND t.created_at < $2
       GROUP BY 1 ORDER BY 1`,
      [from, to, SYSTEM.revenue],
    );
    const tokens = Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, formatTokens(BigInt(v))]));
    const margins = await this.margins(from, to);
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      tokens,
      usd_by_variant: byVariant.map((v) => ({ variant: v.variant, tokens: formatTokens(BigInt(v.mt)), usd: formatUsd(BigInt(v.mt)) })),
      margin_by_variant: margins.byVariant,
      margin_total: margins.total,
    };
  }

  /**
   * Revenue at the price actually paid, provider cost and margin of what was
   * settled in the range, by variant. A settlement charges the buckets that
   * funded its hold in the order they were taken (ledger_split), and a metered
   * one's overage the buckets its overage transfer took; each share is
   * worth what its bucket was bought for: a pack or plan bucket's Stripe
   * payment (stripe_payments.amount_cents over the bucket's granted tokens, so
   * a 250-token $19 plan makes $0.076 a token, not $0.10); free tokens (weekly
   * grants, admin grants) earn nothing and are counted apart; refund and
   * adjustment buckets earn nothing here either (their tokens' money was
   * counted when first spent, or never taken) and are counted as `other`. The
   * provider cost is what the settled generation recorded for its delivered
   * images (generations.provider_cost_micro_usd), or for a metered hold its
   * usage at the unit costs recorded with its meters (ledger_usage_provider_cost,
   * all of the usage, the uncollected share included); a settlement without one
   * (a reservation by amount, a variant without a cost row) leaves the
   * variant's cost incomplete, so its margin is null.
   */
  private async margins(from: Date, to: Date) {
    const rows = await this.db.read<MarginRow>(
      `WITH settled AS (
         SELECT r.id, coalesce(r.variant, '(by amount)') AS variant, r.funding, r.settled
         FROM transfers t JOIN reservations r ON r.id = t.ref
         WHERE t.kind = 'settle' AND t.created_at >= $1 AND t.created_at < $2 AND r.settled > 0),
       charged AS (
         -- What each bucket paid: its share of the hold (ledger_split) and, for a metered hold's
         -- usage above it, what the overage transfer took from it.
         SELECT s.id, s.variant, x.bucket_id, x.charged
         FROM settled s CROSS JOIN LATERAL ledger_split(s.funding, s.settled) x WHERE x.charged > 0
         UNION ALL
         SELECT r.id, coalesce(r.variant, '(by amount)'), e.account_id, -e.amount
         FROM transfers t JOIN reservations r ON r.id = t.ref JOIN entries e ON e.wallet_id = t.wallet_id AND e.transfer_id = t.id AND e.amount < 0
         WHERE t.kind = 'overage' AND t.created_at >= $1 AND t.created_at < $2),
       shares AS (
         SELECT c.id, c.variant, b.source, c.charged,
           CASE WHEN b.source IN ('purchase', 'plan') THEN c.charged * coalesce(p.amount_cents::numeric / 100 / b.granted, 0.0001) ELSE 0 END AS revenue
         FROM charged c JOIN buckets b ON b.id = c.bucket_id
         LEFT JOIN stripe_payments p ON p.bucket_id = b.id),
       per_hold AS (
         SELECT h.id, h.variant, sum(h.charged) AS settled,
           sum(h.charged) FILTER (WHERE h.source IN ('purchase', 'plan')) AS paid,
           sum(h.charged) FILTER (WHERE h.source IN ('free_weekly', 'promo')) AS free,
           sum(h.charged) FILTER (WHERE h.source NOT IN ('purchase', 'plan', 'free_weekly', 'promo')) AS other,
           sum(h.revenue) AS revenue
         FROM shares h GROUP BY h.id, h.variant),
       costed AS (
         -- A generation's recorded cost; a metered hold's, from its usage at the unit costs its meters recorded.
         SELECT h.*, g.delivered,
           coalesce(g.provider_cost_micro_usd::numeric, CASE WHEN r.meters IS NOT NULL THEN ledger_usage_provider_cost(r.meters, r.usage) END) AS cost
         FROM per_hold h JOIN reservations r ON r.id = h.id LEFT JOIN generations g ON g.reservation_id = h.id)
       SELECT h.variant, count(*)::int AS settlements, coalesce(sum(h.delivered), 0)::int AS images,
         coalesce(sum(h.paid), 0)::text AS paid, coalesce(sum(h.free), 0)::text AS free, coalesce(sum(h.other), 0)::text AS other,
         round(sum(h.revenue), 6)::text AS revenue,
         (count(*) - count(h.cost))::int AS without_cost,
         round(coalesce(sum(h.cost), 0) / 1e6, 6)::text AS cost,
         round(coalesce(sum(h.cost * coalesce(h.free, 0)::numeric / h.settled), 0) / 1e6, 6)::text AS free_cost
       FROM costed h
       GROUP BY h.variant ORDER BY h.variant`,
      [from, to],
    );
    const view = (r: MarginRow) => ({
      variant: r.variant,
      settlements: r.settlements,
      images: r.images,
      tokens: {
        paid: formatTokens(BigInt(r.paid)),
        free: formatTokens(BigInt(r.free)),
        other: formatTokens(BigInt(r.other)),
      },
      revenue_usd: r.revenue,
      provider_cost_usd: r.cost,
      free_tokens_cost_usd: r.free_cost,
      settlements_without_cost: r.without_cost,
      margin_usd: r.without_cost > 0 ? null : usdDiff(r.revenue, r.cost),
    });
    const sumInt = (k: 'settlements' | 'images' | 'without_cost') => rows.reduce((a, r) => a + r[k], 0);
    const sumMt = (k: 'paid' | 'free' | 'other') => rows.reduce((a, r) => a + BigInt(r[k]), 0n).toString();
    const sumUsd = (k: 'revenue' | 'cost' | 'free_cost') => rows.reduce((a, r) => usdAdd(a, r[k]), '0.000000');
    const total = view({
      variant: '(all)',
      settlements: sumInt('settlements'),
      images: sumInt('images'),
      paid: sumMt('paid'),
      free: sumMt('free'),
      other: sumMt('other'),
      revenue: sumUsd('revenue'),
      cost: sumUsd('cost'),
      free_cost: sumUsd('free_cost'),
      without_cost: sumInt('without_cost'),
    });
    // The total is the view of a row summed over every variant, without the variant.
    return { byVariant: rows.map(view), total: { ...total, variant: undefined } };
  }

  async daily(fromText?: string, toText?: string) {
    const { from, to } = this.range(fromText, toText);
    const rows = await this.db.read<{ day: string; sold: string; spent: string; expired: string }>(
      `SELECT to_char(d, 'YYYY-MM-DD') AS day,
         coalesce((SELECT sum(t.amount) FROM transfers t WHERE t.kind IN ('purchase', 'plan') AND t.created_at >= d AND t.created_at < d + interval '1 day'), 0)::text AS sold,
         coalesce((SELECT sum(e.amount) FROM entries e JOIN transfers t ON t.wallet_id = e.wallet_id AND t.id = e.transfer_id
                   WHERE e.account_id = $3 AND t.kind IN ('settle', 'overage') AND t.created_at >= d AND t.created_at < d + interval '1 day'), 0)::text AS spent,
         coalesce((SELECT sum(e.amount) FROM entries e JOIN transfers t ON t.wallet_id = e.wallet_id AND t.id = e.transfer_id
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
    const walletId = await this.wallets.idOf(ownerId);
    const rows = await this.db.read<{ id: string; kind: string; amount: string; after: string; created_at: Date; ref: string | null }>(
      `SELECT * FROM (
         SELECT id, kind, amount::text, (sum(amount) OVER (ORDER BY created_at, id))::text AS after, created_at, ref
         FROM transfers WHERE wallet_id = $1) x
       WHERE created_at >= $2 AND created_at < $3 ORDER BY created_at, id`,
      [walletId, from, to],
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
