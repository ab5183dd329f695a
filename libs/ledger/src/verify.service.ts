import { Database, LedgerCheckRegistry } from '@app/common';
import { Injectable } from '@nestjs/common';
import { SYSTEM } from './accounts.js';

export interface Violation {
  invariant: string;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  checked_at: string;
  counts: { transfers: number; entries: number; buckets: number; reservations: number; wallets: number };
  violations: Violation[];
}

const LIMIT = 50;

/** Checks every invariant of spec section 4 against the whole ledger. */
@Injectable()
export class VerifyService {
  constructor(
    private readonly db: Database,
    private readonly extra: LedgerCheckRegistry,
  ) {}

  async verify(): Promise<VerifyReport> {
    const violations: Violation[] = [];
    const add = (invariant: string, rows: Record<string, unknown>[], fmt: (r: Record<string, unknown>) => string) => {
      for (const r of rows) violations.push({ invariant, detail: fmt(r) });
    };
    const q = (text: string, params: unknown[] = []) => this.db.query<Record<string, unknown>>(text, params);

    add(
      '1. each transfer sums to zero',
      await q(`SELECT transfer_id, sum(amount)::text AS sum FROM entries GROUP BY transfer_id HAVING sum(amount) <> 0 LIMIT ${LIMIT}`),
      (r) => `transfer ${String(r.transfer_id)} sums to ${String(r.sum)}`,
    );
    add(
      '1. all entries sum to zero',
      await q(`SELECT sum(amount)::text AS sum FROM entries HAVING coalesce(sum(amount), 0) <> 0`),
      (r) => `all entries sum to ${String(r.sum)}`,
    );
    add(
      '1. every transfer has entries',
      await q(`SELECT t.id FROM transfers t WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.transfer_id = t.id) LIMIT ${LIMIT}`),
      (r) => `transfer ${String(r.id)} has no entries`,
    );
    add(
      '1. every entry names an account',
      await q(
        // An account is a system account or a bucket (a bucket is its own account).
        `SELECT e.id::text, e.account_id FROM entries e
         WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id) AND NOT EXISTS (SELECT 1 FROM buckets b WHERE b.id = e.account_id)
         LIMIT ${LIMIT}`,
      ),
      (r) => `entry ${String(r.id)} posts to unknown account ${String(r.account_id)}`,
    );
    add(
      '1. transfer amount is its bucket entries',
      await q(
        `SELECT t.id, t.amount::text AS amount, coalesce(sum(e.amount) FILTER (WHERE b.id IS NOT NULL), 0)::text AS buckets
       FROM transfers t JOIN entries e ON e.wallet_id = t.wallet_id AND e.transfer_id = t.id LEFT JOIN buckets b ON b.id = e.account_id
       GROUP BY t.id, t.amount HAVING t.amount <> coalesce(sum(e.amount) FILTER (WHERE b.id IS NOT NULL), 0) LIMIT ${LIMIT}`,
      ),
      (r) => `transfer ${String(r.id)} says ${String(r.amount)} but its bucket entries sum to ${String(r.buckets)}`,
    );
    add(
      '2. bucket remaining equals its entries',
      await q(
        `SELECT b.id, b.remaining::text AS remaining, coalesce(e.sum, 0)::text AS entries
       FROM buckets b LEFT JOIN (SELECT account_id, sum(amount) AS sum FROM entries GROUP BY account_id) e ON e.account_id = b.id
       WHERE b.remaining <> coalesce(e.sum, 0) OR b.remaining < 0 LIMIT ${LIMIT}`,
      ),
      (r) => `bucket ${String(r.id)} has remaining ${String(r.remaining)} but entries sum to ${String(r.entries)}`,
    );
    add(
      '2. bucket entries belong to its wallet',
      await q(
        `SELECT e.id::text, e.account_id FROM entries e JOIN buckets b ON b.id = e.account_id WHERE e.wallet_id IS DISTINCT FROM b.wallet_id LIMIT ${LIMIT}`,
      ),
      (r) => `entry ${String(r.id)} on bucket ${String(r.account_id)} is booked to another wallet`,
    );
    add(
      '3. held equals the pending-holds balance',
      await q(
        `WITH h AS (SELECT wallet_id, sum(amount) AS held FROM entries WHERE account_id = $1 GROUP BY wallet_id),
            p AS (SELECT wallet_id, sum(reserved) AS held FROM reservations WHERE status = 'pending' GROUP BY wallet_id)
       SELECT coalesce(h.wallet_id, p.wallet_id) AS wallet_id, coalesce(h.held, 0)::text AS holds, coalesce(p.held, 0)::text AS pending
       FROM h FULL JOIN p ON p.wallet_id = h.wallet_id WHERE coalesce(h.held, 0) <> coalesce(p.held, 0) LIMIT ${LIMIT}`,
        [SYSTEM.pendingHolds],
      ),
      (r) => `wallet ${String(r.wallet_id)}: pending holds account ${String(r.holds)} but pending reservations ${String(r.pending)}`,
    );
    add(
      '3. a pending hold is funded by its buckets',
      await q(
        `SELECT r.id, r.reserved::text AS reserved, (SELECT coalesce(sum((f->>'amount')::bigint), 0) FROM jsonb_array_elements(r.funding) f)::text AS funded
       FROM reservations r
       WHERE (SELECT coalesce(sum((f->>'amount')::bigint), 0) FROM jsonb_array_elements(r.funding) f) <> r.reserved LIMIT ${LIMIT}`,
      ),
      (r) => `reservation ${String(r.id)} reserved ${String(r.reserved)} but its funding sums to ${String(r.funded)}`,
    );
    add(
      '4. a finished reservation has settled + released = reserved',
      await q(
        `SELECT id, status, reserved::text, settled::text, released::text FROM reservations
       WHERE (status <> 'pending' AND settled + released <> reserved) OR (status = 'pending' AND (settled <> 0 OR released <> 0)) LIMIT ${LIMIT}`,
      ),
      (r) =>
        `reservation ${String(r.id)} (${String(r.status)}): reserved ${String(r.reserved)}, settled ${String(r.settled)}, released ${String(r.released)}`,
    );
    add(
      '5. no credit key (week, payment, invoice) is credited twice',
      await q(
        `SELECT grant_key, count(*)::int AS n FROM buckets WHERE grant_key IS NOT NULL GROUP BY grant_key HAVING count(*) > 1 LIMIT ${LIMIT}`,
      ),
      (r) => `${String(r.grant_key)} is credited ${String(r.n)} times`,
    );
    add(
      "5. a keyed credit is its key's claim, and a claim is its credit",
      await q(
        `SELECT b.grant_key, 'its bucket ' || b.id || ' in wallet ' || b.wallet_id || ' has no claim of the key' AS why FROM buckets b
         WHERE b.grant_key IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM grant_claims c WHERE c.grant_key = b.grant_key AND c.wallet_id = b.wallet_id AND c.bucket_id = b.id)
         UNION ALL
         SELECT c.grant_key, 'its claim names bucket ' || c.bucket_id || ' in wallet ' || c.wallet_id || ', which does not hold the key' FROM grant_claims c
         WHERE NOT EXISTS (SELECT 1 FROM buckets b WHERE b.wallet_id = c.wallet_id AND b.id = c.bucket_id AND b.grant_key = c.grant_key)
         LIMIT ${LIMIT}`,
      ),
      (r) => `credit key ${String(r.grant_key)}: ${String(r.why)}`,
    );

    add(
      '2. reversed tokens still due from a bucket are held by its pending reservations',
      await q(
        `SELECT b.id, b.clawback_due::text AS due, coalesce(h.held, 0)::text AS held FROM buckets b
         LEFT JOIN (SELECT (f->>'bucket_id')::uuid AS bucket_id, sum((f->>'amount')::bigint) AS held
                    FROM reservations r, jsonb_array_elements(r.funding) f WHERE r.status = 'pending' GROUP BY 1) h ON h.bucket_id = b.id
         WHERE b.clawback_due > coalesce(h.held, 0) LIMIT ${LIMIT}`,
      ),
      (r) => `bucket ${String(r.id)} has ${String(r.due)} due but its pending holds have ${String(r.held)}`,
    );

    add(
      "6. a wallet's events are numbered 1..n without gaps",
      await q(
        `SELECT wallet_id, count(*)::int AS n, max(seq)::int AS last FROM events GROUP BY wallet_id HAVING count(*) <> max(seq) LIMIT ${LIMIT}`,
      ),
      (r) => `wallet ${String(r.wallet_id)} has ${String(r.n)} events but its last seq is ${String(r.last)}`,
    );
    add(
      "6. a feed position is one event's",
      await q(`SELECT pos::text, count(*)::int AS n FROM events WHERE pos IS NOT NULL GROUP BY pos HAVING count(*) > 1 LIMIT ${LIMIT}`),
      (r) => `feed position ${String(r.pos)} is given to ${String(r.n)} events`,
    );
    add(
      "6. a wallet's events replay to its balance",
      await q(
        `WITH e AS (SELECT wallet_id, sum((data->'balance_change'->>'available')::numeric * 1000)::bigint AS available,
                           sum((data->'balance_change'->>'held')::numeric * 1000)::bigint AS held
                    FROM events WHERE data ? 'balance_change' GROUP BY wallet_id),
              b AS (SELECT wallet_id, sum(remaining)::bigint AS available FROM buckets GROUP BY wallet_id),
              h AS (SELECT wallet_id, sum(reserved)::bigint AS held FROM reservations WHERE status = 'pending' GROUP BY wallet_id)
         SELECT w.id, coalesce(e.available, 0)::text AS ea, coalesce(b.available, 0)::text AS ba, coalesce(e.held, 0)::text AS eh,
                coalesce(h.held, 0)::text AS hh
         FROM wallets w LEFT JOIN e ON e.wallet_id = w.id LEFT JOIN b ON b.wallet_id = w.id LEFT JOIN h ON h.wallet_id = w.id
         WHERE coalesce(e.available, 0) <> coalesce(b.available, 0) OR coalesce(e.held, 0) <> coalesce(h.held, 0) LIMIT ${LIMIT}`,
      ),
      (r) =>
        `wallet ${String(r.id)}: events replay to ${String(r.ea)} in buckets and ${String(r.eh)} held, the ledger has ${String(r.ba)} and ${String(r.hh)}`,
    );
    add(
      '6. every transfer since the stream began has its event',
      await q(
        `SELECT t.id FROM transfers t
         WHERE t.created_at >= (SELECT min(created_at) FROM events e0 WHERE e0.wallet_id = t.wallet_id)
           AND NOT EXISTS (SELECT 1 FROM events e WHERE e.wallet_id = t.wallet_id AND e.data->>'transfer_id' = t.id::text) LIMIT ${LIMIT}`,
      ),
      (r) => `transfer ${String(r.id)} has no event`,
    );
    add(
      '7. a budget counter is what its holds hold or took',
      await q(
        `SELECT c.wallet_id, c.id::text, c.used::text AS used, coalesce(r.s, 0)::text AS holds FROM budget_counters c
         LEFT JOIN (SELECT x.counter, sum(CASE WHEN status = 'pending' THEN reserved ELSE settled + overage END) AS s
                    FROM reservations, unnest(counters) AS x(counter) WHERE counters IS NOT NULL GROUP BY x.counter) r ON r.counter = c.id
         WHERE c.used <> coalesce(r.s, 0) LIMIT ${LIMIT}`,
      ),
      (r) =>
        `budget counter ${String(r.id)} of wallet ${String(r.wallet_id)} says ${String(r.used)} but its holds hold or took ${String(r.holds)}`,
    );

    add(
      "8. a metered reservation's overage and uncollected are its transfers' entries",
      await q(
        `WITH t AS (SELECT t.ref, sum(e.amount) FILTER (WHERE t.kind = 'overage') AS overage, sum(e.amount) FILTER (WHERE t.kind = 'uncollected') AS uncollected
                    FROM transfers t JOIN entries e ON e.wallet_id = t.wallet_id AND e.transfer_id = t.id AND e.account_id = $1
                    WHERE t.kind IN ('overage', 'uncollected') GROUP BY t.ref)
         SELECT coalesce(r.id, t.ref) AS id, coalesce(r.overage, 0)::text AS overage, coalesce(t.overage, 0)::text AS booked_overage,
                coalesce(r.uncollected, 0)::text AS uncollected, coalesce(t.uncollected, 0)::text AS booked_uncollected
         FROM (SELECT id, overage, uncollected FROM reservations WHERE overage > 0 OR uncollected > 0) r FULL JOIN t ON t.ref = r.id
         WHERE coalesce(r.overage, 0) <> coalesce(t.overage, 0) OR coalesce(r.uncollected, 0) <> coalesce(t.uncollected, 0) LIMIT ${LIMIT}`,
        [SYSTEM.revenue],
      ),
      (r) =>
        `reservation ${String(r.id)}: overage ${String(r.overage)} and uncollected ${String(r.uncollected)}, but its transfers book ${String(r.booked_overage)} and ${String(r.booked_uncollected)}`,
    );
    add(
      '8. a settled metered reservation charged what its usage costs at its meters',
      await q(
        // CASE, not OR: SQL does not promise to skip ledger_usage_cost of a NULL usage, which it would refuse.
        `SELECT id, (settled + overage + uncollected)::text AS charged, c.cost::text AS cost
         FROM reservations, LATERAL (SELECT CASE WHEN usage IS NOT NULL THEN ledger_usage_cost(meters, usage) END AS cost) c
         WHERE meters IS NOT NULL AND status = 'settled' AND c.cost IS DISTINCT FROM settled + overage + uncollected LIMIT ${LIMIT}`,
      ),
      (r) => `reservation ${String(r.id)} charged ${String(r.charged)} for a usage that costs ${String(r.cost)}`,
    );
    add(
      '8. the uncollected_usage account is minus all uncollected usage',
      await q(
        `SELECT b.balance::text AS balance, u.uncollected::text AS uncollected
         FROM (SELECT coalesce(sum(amount), 0) AS balance FROM entries WHERE account_id = $1) b,
              (SELECT coalesce(sum(uncollected), 0) AS uncollected FROM reservations) u
         WHERE b.balance <> -u.uncollected`,
        [SYSTEM.uncollectedUsage],
      ),
      (r) => `uncollected_usage has balance ${String(r.balance)} but reservations record ${String(r.uncollected)} uncollected`,
    );

    violations.push(...(await this.extra.run(this.db)));

    const [counts] = await q(`SELECT (SELECT count(*) FROM transfers)::int AS transfers, (SELECT count(*) FROM entries)::int AS entries,
      (SELECT count(*) FROM buckets)::int AS buckets, (SELECT count(*) FROM reservations)::int AS reservations, (SELECT count(*) FROM wallets)::int AS wallets`);
    return {
      ok: violations.length === 0,
      checked_at: new Date().toISOString(),
      counts: counts as VerifyReport['counts'],
      violations,
    };
  }
}
