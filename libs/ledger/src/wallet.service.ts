import { APP_CONFIG, AppConfig, Clock, Database, Errors, formatTokens, OWNER_ID } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
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

  /**
   * Newest first; `amount` is the change of the wallet's available balance.
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
    const wallets = await this.db.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = $1`, [ownerId]);
    if (!wallets[0]) throw Errors.notFound('wallet_not_found', `No wallet for owner ${ownerId}`);
    const rows = await this.db.read<{
      id: string;
      kind: string;
      amount: string;
      created_at: Date;
      ref: string | null;
      metadata: Record<string, unknown> | null;
    }>(
      `SELECT id, kind, amount::text, created_at, ref, metadata FROM transfers t
       WHERE wallet_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
         AND ($5::text IS NULL AND $6::uuid IS NULL OR t.ref IN (
           SELECT r.id FROM reservations r WHERE r.wallet_id = $1
             AND ($5::text IS NULL OR r.spender_id = $5) AND ($6::uuid IS NULL OR r.api_key_id = $6)))
       ORDER BY created_at DESC, id DESC LIMIT $4`,
      [wallets[0].id, after?.at ?? null, after?.id ?? null, limit + 1, filter.spenderId ?? null, filter.apiKeyId ?? null],
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
      })),
      next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }
}
