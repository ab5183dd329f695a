import { APP_CONFIG, AppConfig, Clock, Database, Errors, formatTokens, OWNER_ID } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import { SYSTEM } from './accounts.js';
import { Ledger } from './ledger.js';
import { isoWeek } from './weeks.js';

export interface WalletView {
  owner_id: string;
  status: 'active' | 'frozen';
  flagged: boolean;
  balance: { available: string; held: string };
  buckets: { id: string; source: string; granted: string; remaining: string; expires_at: string | null }[];
  plan: unknown;
  created_at: string;
}

export interface TransactionView {
  id: string;
  type: string;
  amount: string;
  created_at: string;
  ref: string | null;
  metadata: Record<string, unknown> | null;
  /** A hold's end (settle, release, expire): what went to revenue; null for any other transfer. */
  charged: string | null;
  /** A hold's end: what of the hold was not charged (returned to its buckets, or clawed back by a reversal). */
  released: string | null;
}

/** One wallet found by the admin search. */
export interface WalletMatch {
  owner_id: string;
  status: 'active' | 'frozen';
  flagged: boolean;
  available: string;
  held: string;
  created_at: string;
}

function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  // Exactly what encodeCursor writes: any other date (year -271821) or id would reach PostgreSQL as a bad cast.
  const date = new Date(at ?? '');
  const exact = !Number.isNaN(date.getTime()) && /^\d{4}-/.test(at) && date.toISOString() === at;
  if (!id || !exact || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
    throw Errors.validation('cursor is not a next_cursor value', [{ field: 'cursor', message: 'cursor is invalid' }]);
  }
  return { at: date, id };
}

export function assertOwnerId(ownerId: string): void {
  if (!OWNER_ID.test(ownerId)) {
    throw Errors.validation('owner_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -', [
      { field: 'owner_id', message: 'owner_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' },
    ]);
  }
}

@Injectable()
export class WalletService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** PUT: creates the wallet (with this week's free grant) or returns it. */
  async ensure(ownerId: string): Promise<{ created: boolean; view: WalletView }> {
    assertOwnerId(ownerId);
    const created = await this.ledger.createWallet(ownerId, this.clock.now());
    return { created, view: await this.view(ownerId) };
  }

  async view(ownerId: string): Promise<WalletView> {
    assertOwnerId(ownerId);
    const now = this.clock.now();
    const rows = await this.db.query<{
      id: string;
      status: 'active' | 'frozen';
      flagged: boolean;
      free_week: string | null;
      plan: unknown;
      created_at: Date;
    }>(`SELECT id, status, flagged, free_week, plan, created_at FROM wallets WHERE owner_id = $1`, [ownerId]);
    const wallet = rows[0];
    if (!wallet) throw Errors.notFound('wallet_not_found', `No wallet for owner ${ownerId}`);
    if (this.config.freeWeeklyMt > 0n && wallet.free_week !== isoWeek(now)) {
      // A read in a new week grants lazily too, so the balance shown is the balance spendable.
      await this.db.transaction(async (tx) => this.ledger.lock(tx, { ownerId }, now));
    }
    const [buckets, held] = await Promise.all([
      this.db.query<{ id: string; source: string; granted: string; remaining: string; expires_at: Date | null }>(
        `SELECT id, source, granted::text, remaining::text, expires_at FROM buckets
         WHERE wallet_id = $1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $2)
         ORDER BY expires_at ASC NULLS LAST, created_at ASC`,
        [wallet.id, now],
      ),
      this.db.query<{ held: string }>(
        `SELECT coalesce(sum(reserved), 0)::text AS held FROM reservations WHERE wallet_id = $1 AND status = 'pending'`,
        [wallet.id],
      ),
    ]);
    const available = buckets.reduce((s, b) => s + BigInt(b.remaining), 0n);
    return {
      owner_id: ownerId,
      status: wallet.status,
      flagged: wallet.flagged,
      balance: { available: formatTokens(available), held: formatTokens(BigInt(held[0].held)) },
      buckets: buckets.map((b) => ({
        id: b.id,
        source: b.source,
        granted: formatTokens(BigInt(b.granted)),
        remaining: formatTokens(BigInt(b.remaining)),
        expires_at: b.expires_at ? b.expires_at.toISOString() : null,
      })),
      plan: wallet.plan ?? null,
      created_at: wallet.created_at.toISOString(),
    };
  }

  /** The wallet's pending holds, oldest first (the admin view). */
  async pendingReservations(ownerId: string) {
    const rows = await this.db.query<{
      id: string;
      status: string;
      reserved: string;
      expires_at: Date;
      created_at: Date;
      ref: string | null;
    }>(
      `SELECT r.id, r.status, r.reserved::text, r.expires_at, r.created_at, r.ref FROM reservations r JOIN wallets w ON w.id = r.wallet_id
       WHERE w.owner_id = $1 AND r.status = 'pending' ORDER BY r.created_at, r.id LIMIT 200`,
      [ownerId],
    );
    return rows.map((r) => ({
      ...r,
      reserved: formatTokens(BigInt(r.reserved)),
      expires_at: r.expires_at.toISOString(),
      created_at: r.created_at.toISOString(),
    }));
  }

  /** The wallet's id, for the reads of other libs keyed by it (their rows carry wallet_id). */
  async idOf(ownerId: string): Promise<string> {
    assertOwnerId(ownerId);
    const rows = await this.db.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = $1`, [ownerId]);
    if (!rows[0]) throw Errors.notFound('wallet_not_found', `No wallet for owner ${ownerId}`);
    return rows[0].id;
  }

  /** The owner of a wallet id, a reservation or a Stripe customer; null when there is none. */
  async ownerOf(key: { walletId: string } | { reservationId: string } | { stripeCustomerId: string }): Promise<string | null> {
    const [where, value] =
      'walletId' in key
        ? ['w.id = $1::uuid', key.walletId]
        : 'reservationId' in key
          ? ['w.id = (SELECT r.wallet_id FROM reservations r WHERE r.id = $1)', key.reservationId]
          : ['w.id = (SELECT c.wallet_id FROM stripe_customers c WHERE c.customer_id = $1)', key.stripeCustomerId];
    const rows = await this.db.query<{ owner_id: string }>(`SELECT w.owner_id FROM wallets w WHERE ${where}`, [value]);
    return rows[0]?.owner_id ?? null;
  }

  /**
   * Wallets whose owner_id starts with `prefix`, in byte order of owner_id (a
   * total order: owner ids are unique), `cursor` being the last owner_id of
   * the page before. Owner ids hold only characters below `~`, so the prefix
   * is the byte range [prefix, prefix~): one range scan of wallets_owner_id_bytes.
   */
  async search(prefix: string, limit: number, cursor?: string): Promise<{ data: WalletMatch[]; next_cursor: string | null }> {
    const now = this.clock.now();
    const rows = await this.db.query<{
      id: string;
      owner_id: string;
      status: 'active' | 'frozen';
      flagged: boolean;
      available: string;
      held: string;
      created_at: Date;
    }>(
      `SELECT w.id, w.owner_id, w.status, w.flagged, ledger_available(w.id, $4)::text AS available,
              (SELECT coalesce(sum(r.reserved), 0) FROM reservations r WHERE r.wallet_id = w.id AND r.status = 'pending')::text AS held,
              w.created_at
       FROM wallets w
       WHERE w.owner_id COLLATE "C" >= $1 AND w.owner_id COLLATE "C" < $1 || '~'
         AND ($2::text IS NULL OR w.owner_id COLLATE "C" > $2)
       ORDER BY w.owner_id COLLATE "C" LIMIT $3`,
      [prefix, cursor ?? null, limit + 1, now],
    );
    const page = rows.slice(0, limit);
    return {
      data: page.map((w) => ({
        owner_id: w.owner_id,
        status: w.status,
        flagged: w.flagged,
        available: formatTokens(BigInt(w.available)),
        held: formatTokens(BigInt(w.held)),
        created_at: w.created_at.toISOString(),
      })),
      next_cursor: rows.length > limit ? page[page.length - 1].owner_id : null,
    };
  }

  /** What admins refunded against each ref (a generation id), in millitokens; refs without refunds are absent. */
  async refundedTotals(refs: string[]): Promise<Map<string, bigint>> {
    if (refs.length === 0) return new Map();
    const rows = await this.db.query<{ ref: string; refunded: string }>(
      `SELECT ref, sum(amount)::text AS refunded FROM transfers WHERE kind = 'refund' AND ref = ANY ($1::text[]) GROUP BY ref`,
      [refs],
    );
    return new Map(rows.map((r) => [r.ref, BigInt(r.refunded)]));
  }

  /**
   * Newest first; `amount` is the change of the wallet's available balance.
   * A hold's end also says what it charged and released (its `amount` is only
   * what came back to the buckets: 0 for a full settle).
   * With `spenderId` or `apiKeyId`, only the transfers of that spender's or key's holds.
   */
  async transactions(
    ownerId: string,
    limit = 20,
    cursor?: string,
    filter: { spenderId?: string; apiKeyId?: string } = {},
  ): Promise<{ data: TransactionView[]; next_cursor: string | null }> {
    assertOwnerId(ownerId);
    const after = cursor ? decodeCursor(cursor) : null;
    const walletId = await this.idOf(ownerId);
    const rows = await this.db.read<{
      id: string;
      kind: string;
      amount: string;
      created_at: Date;
      ref: string | null;
      metadata: Record<string, unknown> | null;
      charged: string | null;
      released: string | null;
    }>(
      // A hold's end is the transfer that takes from pending holds (a negative entry there); its
      // revenue entry is the charge, and the rest of the hold was released.
      `SELECT t.id, t.kind, t.amount::text, t.created_at, t.ref, t.metadata, h.charged::text, (h.ended - h.charged)::text AS released
       FROM transfers t
       LEFT JOIN LATERAL (
         SELECT -sum(e.amount) FILTER (WHERE e.account_id = $7::uuid) AS ended,
                coalesce(sum(e.amount) FILTER (WHERE e.account_id = $8::uuid), 0) AS charged
         FROM entries e WHERE e.transfer_id = t.id AND e.account_id IN ($7::uuid, $8::uuid)
         HAVING sum(e.amount) FILTER (WHERE e.account_id = $7::uuid) < 0
       ) h ON true
       WHERE t.wallet_id = $1 AND ($2::timestamptz IS NULL OR (t.created_at, t.id) < ($2::timestamptz, $3::uuid))
         AND ($5::text IS NULL AND $6::uuid IS NULL OR t.ref IN (
           SELECT r.id FROM reservations r WHERE r.wallet_id = $1
             AND ($5::text IS NULL OR r.spender_id = $5) AND ($6::uuid IS NULL OR r.api_key_id = $6)))
       ORDER BY t.created_at DESC, t.id DESC LIMIT $4`,
      [
        walletId,
        after?.at ?? null,
        after?.id ?? null,
        limit + 1,
        filter.spenderId ?? null,
        filter.apiKeyId ?? null,
        SYSTEM.pendingHolds,
        SYSTEM.revenue,
      ],
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((t) => ({
        id: t.id,
        type: t.kind,
        amount: formatTokens(BigInt(t.amount)),
        created_at: t.created_at.toISOString(),
        ref: t.ref,
        metadata: t.metadata,
        charged: t.charged === null ? null : formatTokens(BigInt(t.charged)),
        released: t.released === null ? null : formatTokens(BigInt(t.released)),
      })),
      next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }
}
