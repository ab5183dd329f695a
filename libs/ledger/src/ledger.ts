import {
  APP_CONFIG,
  AppConfig,
  Clock,
  Database,
  DomainError,
  ERROR_CODES,
  type ErrorCode,
  type IdempotentRequest,
  ledgerOperations,
  type Meters,
  reservationAge,
  Outcome,
  pgCode,
  Tx,
} from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import { SYSTEM, type SystemAccount } from './accounts.js';
import type { AlertView, BudgetView, ReservationView } from './views.js';
import { ReservationOwners, WalletGate, walletBusy } from './wallet-gate.js';

/**
 * The ledger's front door: every change to `wallets`, `buckets`, `accounts`,
 * `transfers`, `entries` and `reservations` goes through here, and nowhere
 * else. Each operation is one statement (a PL/pgSQL function of the
 * CreateLedgerFunctions migration) that takes the wallet lock itself, with the
 * weekly grant where it spends, so callers say *what* happens and the ledger
 * decides *how*: the spending order, the legs of every transfer, the holds.
 *
 * Without a `tx` an operation runs alone, as a named prepared statement on the
 * pool (one round trip, its own transaction); with one it joins the caller's
 * transaction (a generation records itself with its hold).
 */
export type BucketSource = 'free_weekly' | 'promo' | 'plan' | 'purchase' | 'refund' | 'adjustment';

export interface WalletRow {
  id: string;
  owner_id: string;
  status: 'active' | 'frozen';
  flagged: boolean;
  freezes: string[];
  plan: unknown;
  created_at: Date;
}

/** A usage of a metered call, as stored: tokens as integers, seconds and quantity as decimal strings. */
export type Usage = Partial<Record<'input_tokens' | 'output_tokens', number> & Record<'seconds' | 'quantity', string>>;

export interface Hold {
  /** Millitokens to hold; null for a metered hold, which holds what its estimate costs (ledger_usage_cost). */
  amount: bigint | null;
  expiresInS: number;
  price?: { priceId: string; version: number; variant: string } | null;
  quantity?: number | null;
  ref?: string | null;
  metadata?: Record<string, unknown> | null;
  /** Who inside the wallet's owner spends (an end user, an org member): budgets may limit it. */
  spenderId?: string | null;
  /** The API key that asked: budgets may limit it. */
  apiKeyId?: string | null;
  /** A metered hold: its prices by unit, its estimate, and what a settle may take beyond it (mt). */
  metered?: { variant: string; meters: Meters; estimate: Usage; maxOverage: bigint } | null;
  /** Who alone may settle it: 'generation' for a generation's hold (its finisher); null, the default, for whoever holds its id. */
  holder?: Holder | null;
}

/** A hold's settler other than its id's bearer (GenerationHolds). */
export type Holder = 'generation';

export interface Credit {
  walletId: string;
  source: BucketSource;
  amount: bigint;
  expiresAt: Date | null;
  /** Unique: a second credit with the same key is a no-op (null). */
  grantKey?: string | null;
  /** The system account the value comes from. */
  from: SystemAccount;
  kind: 'grant' | 'purchase' | 'plan' | 'refund' | 'adjustment';
  ref?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface Reversal {
  /** Of the bucket's tokens, how many its payment's reversals take back now (absolute). */
  reversed: bigint;
  ref: string;
  metadata?: Record<string, unknown> | null;
}

export interface ReversalResult {
  walletId: string;
  clawed: bigint;
  lost: bigint;
  due: bigint;
  /** Expired tokens taken back from breakage (or, lowering a reversal, returned to it): never a loss. */
  unexpired: bigint;
  direction: -1 | 0 | 1;
}

export interface BudgetDefinition {
  /** Millitokens per period. */
  limit: bigint;
  period: 'day' | 'week' | 'month' | 'total';
  scope: 'wallet' | 'api_key' | 'spender';
  /** The API key id or spender id; none for scope wallet. */
  subject?: string | null;
}

export type AlertDefinition = { type: 'balance_below'; threshold: bigint } | { type: 'budget_used'; budget: string; percent: number };

type Replayable<T> = Outcome<T> & { replayed?: boolean };

const TITLES: Record<number, string> = {
  402: 'Insufficient funds',
  404: 'Not found',
  409: 'Conflict',
  422: 'Unprocessable request',
  423: 'Wallet frozen',
};

const CODE_TITLES: Partial<Record<ErrorCode, string>> = { budget_exceeded: 'Budget exceeded' };

/** A domain error raised by the ledger's SQL (SQLSTATE TW001: message = code, detail = text). */
export function ledgerError(e: unknown): unknown {
  if (pgCode(e) === '55P03') return walletBusy();
  if (pgCode(e) !== 'TW001') return e;
  const err = e as { driverError?: { message?: string; detail?: string; hint?: string }; message?: string; detail?: string; hint?: string };
  const code = (err.driverError?.message ?? err.message ?? '') as ErrorCode;
  const detail = err.driverError?.detail ?? err.detail ?? code;
  const hint = err.driverError?.hint ?? err.hint;
  const status = (ERROR_CODES[code] as { status: number } | undefined)?.status ?? 409;
  // ledger_fail_with puts the problem's extension members in the HINT, as a JSON object.
  const extensions = hint ? (JSON.parse(hint) as Record<string, unknown>) : undefined;
  return new DomainError(status, code, CODE_TITLES[code] ?? TITLES[status] ?? 'Conflict', detail, undefined, extensions);
}

const RESERVE = `SELECT ledger_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) AS r`;
const FINISH = `SELECT ledger_finish($1, $2, $3, $4, $5, $6, $7, $8, $9) AS r`;
const EXTEND = `SELECT ledger_extend($1, $2, $3, $4, $5, $6, $7) AS r`;
/** How long a call waits in this process while its wallet does not move: the functions' own lock_timeout. */
const WALLET_WAIT_MS = 2_000;
/** Calls of one wallet that may wait in this process before the next is refused at once. */
const WALLET_QUEUE = 1_000;

@Injectable()
export class Ledger {
  /** One wallet's calls in flight from this process (LEDGER_WALLET_CONCURRENCY); the rest wait in the process, not in PostgreSQL. */
  private readonly gate: WalletGate;
  private readonly owners = new ReservationOwners();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.gate = new WalletGate(config.LEDGER_WALLET_CONCURRENCY, WALLET_WAIT_MS, WALLET_QUEUE, (e) => pgCode(e) === '55P03');
  }

  /** `wallet`: the owner the call locks, when known; a call of its own (no `tx`) then goes through the wallet's gate. */
  private async call<T>(op: string, name: string, text: string, params: unknown[], tx?: Tx, wallet?: string): Promise<T> {
    try {
      const rows = await (tx
        ? this.db.call<{ r: T }>(name, text, params, tx)
        : this.gate.run(wallet, () => this.db.call<{ r: T }>(name, text, params)));
      ledgerOperations.inc({ type: op, outcome: 'ok' });
      return rows[0].r;
    } catch (e) {
      const mapped = ledgerError(e);
      ledgerOperations.inc({ type: op, outcome: mapped instanceof DomainError ? mapped.code : 'error' });
      throw mapped;
    }
  }

  private idemParams(idem?: IdempotentRequest): unknown[] {
    return [idem?.principalId ?? null, idem?.key ?? null, idem?.fingerprint ?? null];
  }

  /** PUT /v1/wallets: true when the wallet was created (with this week's grant). */
  createWallet(ownerId: string, now = this.clock.now()): Promise<boolean> {
    return this.call('create_wallet', 'ledger_create_wallet', `SELECT ledger_create_wallet($1, $2, $3) AS r`, [
      ownerId,
      now,
      this.config.freeWeeklyMt.toString(),
    ]);
  }

  /**
   * Takes the wallet's row lock (and this week's grant) inside the caller's
   * transaction, for work that must read and decide under it (a refund reads
   * what was charged). 404 when there is no wallet.
   */
  async lock(tx: Tx, wallet: { ownerId: string } | { walletId: string }, now = this.clock.now()): Promise<WalletRow> {
    const id = 'walletId' in wallet ? wallet.walletId : null;
    const owner = 'ownerId' in wallet ? wallet.ownerId : null;
    try {
      const { rows } = await tx.sql.query<WalletRow>(
        `SELECT id, owner_id, status, flagged, freezes, plan, created_at FROM ledger_lock($1, $2, $3, $4)`,
        [id, owner, now, this.config.freeWeeklyMt.toString()],
      );
      return rows[0];
    } catch (e) {
      throw ledgerError(e);
    }
  }

  /** Holds tokens: the idempotency claim, lock, weekly grant, spend, hold and stored response in one call. */
  async reserve(
    ownerId: string,
    id: string,
    hold: Hold,
    idem?: IdempotentRequest,
    tx?: Tx,
    now = this.clock.now(),
  ): Promise<Replayable<ReservationView>> {
    const out = await this.call<Replayable<ReservationView>>(
      'reserve',
      'ledger_reserve',
      RESERVE,
      [
        ...this.idemParams(idem),
        ownerId,
        id,
        hold.amount?.toString() ?? null,
        hold.expiresInS,
        now,
        this.config.freeWeeklyMt.toString(),
        hold.price?.priceId ?? null,
        hold.price?.version ?? null,
        hold.price?.variant ?? hold.metered?.variant ?? null,
        hold.quantity ?? null,
        hold.ref ?? null,
        hold.metadata ? JSON.stringify(hold.metadata) : null,
        hold.spenderId ?? null,
        hold.apiKeyId ?? null,
        hold.metered ? JSON.stringify(hold.metered.meters) : null,
        hold.metered ? JSON.stringify(hold.metered.estimate) : null,
        hold.metered ? hold.metered.maxOverage.toString() : '0',
        hold.holder ?? null,
      ],
      tx,
      ownerId,
    );
    if (!tx && !out.replayed && out.body.status === 'pending') this.owners.set(out.body.id, ownerId);
    return out;
  }

  /** A batch: every hold under one lock, all or nothing. Returns the wallet's id. */
  async reserveAll(
    tx: Tx,
    ownerId: string,
    holds: (Omit<Hold, 'price' | 'metadata' | 'spenderId' | 'apiKeyId' | 'metered' | 'amount'> & { id: string; amount: bigint })[],
    price: { priceId: string; version: number; variant: string },
    who: { spenderId?: string | null; apiKeyId?: string | null; holder?: Holder | null } = {},
    now = this.clock.now(),
  ): Promise<string> {
    try {
      const { rows } = await tx.sql.query<{ id: string; wallet_id: string }>(
        `SELECT id, wallet_id FROM ledger_reserve_all($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          ownerId,
          holds.map((h) => h.id),
          holds.map((h) => h.amount.toString()),
          holds.map((h) => h.quantity ?? null),
          holds.map((h) => h.ref ?? null),
          holds[0]?.expiresInS ?? this.config.RESERVATION_DEFAULT_TTL_S,
          now,
          this.config.freeWeeklyMt.toString(),
          price.priceId,
          price.version,
          price.variant,
          who.spenderId ?? null,
          who.apiKeyId ?? null,
          who.holder ?? null,
        ],
      );
      ledgerOperations.inc({ type: 'reserve', outcome: 'ok' }, rows.length);
      return rows[0].wallet_id;
    } catch (e) {
      throw ledgerError(e);
    }
  }

  /**
   * Charges `amount` (default: all) of a pending hold; the rest returns to the buckets it came from.
   * A held reservation (a generation's) is settled only by a caller naming its `holder`: 409 reservation_held otherwise.
   */
  settle(id: string, amount: bigint | undefined, idem?: IdempotentRequest, tx?: Tx, holder?: Holder): Promise<Replayable<ReservationView>> {
    return this.finish('settle', id, amount ?? null, idem, tx, undefined, holder);
  }

  /**
   * Charges a metered hold by its usage at its own meters (ledger_settle_usage):
   * up to the hold from the hold, beyond it up to max_overage from the live
   * buckets, and the rest recorded as uncollected, all under the wallet lock.
   */
  settleUsage(id: string, usage: Usage, idem?: IdempotentRequest, tx?: Tx): Promise<Replayable<ReservationView>> {
    return this.finish('settle', id, null, idem, tx, usage);
  }

  /** Returns all of a pending hold to its buckets. */
  release(id: string, idem?: IdempotentRequest, tx?: Tx): Promise<Replayable<ReservationView>> {
    return this.finish('release', id, 0n, idem, tx);
  }

  /** Ends a lapsed hold (the sweeper); false when it was not pending and due. */
  async expire(id: string): Promise<boolean> {
    return (await this.finish('expire', id, 0n)) !== null;
  }

  private async finish(
    action: 'settle' | 'release' | 'expire',
    id: string,
    amount: bigint | null,
    idem?: IdempotentRequest,
    tx?: Tx,
    usage?: Usage,
    holder?: Holder,
  ): Promise<Replayable<ReservationView>> {
    const out = await this.call<Replayable<ReservationView> | null>(
      action,
      'ledger_finish',
      FINISH,
      [
        ...this.idemParams(idem),
        id,
        action,
        amount?.toString() ?? null,
        this.clock.now(),
        usage ? JSON.stringify(usage) : null,
        holder ?? null,
      ],
      tx,
      // The sweeper's expiries are not queued behind a hot wallet's burst: its loop serves every wallet.
      action === 'expire' ? undefined : this.owners.get(id),
    );
    if (!tx) this.owners.delete(id);
    if (out && !out.replayed && out.body.finished_at) {
      reservationAge.observe({ status: out.body.status }, (Date.parse(out.body.finished_at) - Date.parse(out.body.created_at)) / 1000);
    }
    return out as Replayable<ReservationView>;
  }

  /** Moves a pending hold's expiry later, at most `maxS` after it was made. */
  extend(id: string, expiresAt: Date, maxS: number, idem?: IdempotentRequest, tx?: Tx): Promise<Replayable<ReservationView>> {
    return this.call('extend', 'ledger_extend', EXTEND, [...this.idemParams(idem), id, expiresAt, maxS, this.clock.now()], tx);
  }

  /**
   * Keeps holds alive while their work goes on: each pending, unexpired hold
   * of `ids` lasts at least until `expiresAt`, at most `maxS` after it was
   * made. Returns the ids still pending (a missing id's hold is gone).
   */
  async extendAll(ids: string[], expiresAt: Date, maxS: number, now = this.clock.now()): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.call<string[]>('extend', 'ledger_extend_all', `SELECT ledger_extend_all($1, $2, $3, $4) AS r`, [ids, expiresAt, maxS, now]);
  }

  /** Opens a bucket funded from a system account; null when `grantKey` was already credited. The caller holds the lock. */
  credit(tx: Tx, c: Credit, now = this.clock.now()): Promise<string | null> {
    return this.call(
      c.kind,
      'ledger_credit',
      `SELECT ledger_credit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS r`,
      [
        c.walletId,
        c.source,
        c.amount.toString(),
        c.expiresAt,
        c.grantKey ?? null,
        SYSTEM[c.from],
        c.kind,
        now,
        c.ref ?? null,
        c.metadata ? JSON.stringify(c.metadata) : null,
      ],
      tx,
    );
  }

  /** Debits live buckets in spending order to a system account; null when they hold less. The caller holds the lock. */
  debit(
    tx: Tx,
    d: {
      walletId: string;
      amount: bigint;
      to: SystemAccount;
      kind: 'adjustment';
      ref?: string | null;
      metadata?: Record<string, unknown> | null;
    },
    now = this.clock.now(),
  ): Promise<string | null> {
    return this.call(
      d.kind,
      'ledger_debit',
      `SELECT ledger_debit($1, $2, $3, $4, $5, $6, $7) AS r`,
      [d.walletId, d.amount.toString(), SYSTEM[d.to], d.kind, now, d.ref ?? null, d.metadata ? JSON.stringify(d.metadata) : null],
      tx,
    );
  }

  /**
   * A refund of a settled hold: a refund bucket from revenue that keeps the
   * earliest expiry of the buckets that paid (free tokens refunded stay free
   * tokens that lapse). The caller holds the lock and checked the amount.
   */
  async refund(
    tx: Tx,
    r: { walletId: string; reservationId: string; amount: bigint; ref: string; metadata?: Record<string, unknown> | null },
    now = this.clock.now(),
  ): Promise<{ bucketId: string; expiresAt: Date | null }> {
    const { rows } = await tx.sql.query<{ expires_at: Date | null }>(
      `SELECT min(b.expires_at) AS expires_at FROM reservations r, ledger_split(r.funding, r.settled) s JOIN buckets b ON b.id = s.bucket_id
       WHERE r.id = $1 AND s.charged > 0`,
      [r.reservationId],
    );
    const expiresAt = rows[0]?.expires_at ?? null;
    const bucketId = await this.credit(
      tx,
      {
        walletId: r.walletId,
        source: 'refund',
        amount: r.amount,
        expiresAt,
        from: 'revenue',
        kind: 'refund',
        ref: r.ref,
        metadata: r.metadata,
      },
      now,
    );
    return { bucketId: bucketId as string, expiresAt };
  }

  /**
   * The part of a settled hold's charge that was paid from purchases Stripe
   * has since reversed (refunded or disputed): for each bucket that paid,
   * its share times the reversed fraction of that bucket, rounded up. Those
   * tokens were taken back with the money (or booked as chargeback losses);
   * a refund of them would hand them back a second time.
   */
  async reversedShare(tx: Tx, reservationId: string): Promise<bigint> {
    const { rows } = await tx.sql.query<{ share: string }>(
      `SELECT coalesce(sum(ceil(s.charged::numeric * b.reversed / b.granted)), 0)::bigint::text AS share
       FROM reservations r, ledger_split(r.funding, r.settled) s JOIN buckets b ON b.id = s.bucket_id
       WHERE r.id = $1 AND s.charged > 0 AND b.reversed > 0`,
      [reservationId],
    );
    return BigInt(rows[0].share);
  }

  /** What refunds (transfers of kind refund with this ref) have given back so far. */
  async refunded(tx: Tx, ref: string): Promise<bigint> {
    const { rows } = await tx.sql.query<{ refunded: string }>(
      `SELECT coalesce(sum(amount), 0)::text AS refunded FROM transfers WHERE kind = 'refund' AND ref = $1`,
      [ref],
    );
    return BigInt(rows[0].refunded);
  }

  /** Sets how many of a bucket's tokens are reversed (refunds, disputes); see ledger_set_reversed. */
  async setReversed(tx: Tx, bucketId: string, r: Reversal, now = this.clock.now()): Promise<ReversalResult> {
    const out = await this.call<{ wallet_id: string; clawed: number; lost: number; due: number; unexpired: number; direction: -1 | 0 | 1 }>(
      'clawback',
      'ledger_set_reversed',
      `SELECT ledger_set_reversed($1, $2, $3, $4, $5) AS r`,
      [bucketId, r.reversed.toString(), now, r.ref, r.metadata ? JSON.stringify(r.metadata) : null],
      tx,
    );
    return {
      walletId: out.wallet_id,
      clawed: BigInt(out.clawed),
      lost: BigInt(out.lost),
      due: BigInt(out.due),
      unexpired: BigInt(out.unexpired),
      direction: out.direction,
    };
  }

  /** Posts a lapsed bucket's remainder to breakage; what was expired (0 when nothing was due). */
  async expireBucket(bucketId: string): Promise<bigint> {
    const r = await this.call<number | string>('expire', 'ledger_expire_bucket', `SELECT ledger_expire_bucket($1, $2) AS r`, [
      bucketId,
      this.clock.now(),
    ]);
    return BigInt(r);
  }

  /** Freezes the wallet for `cause` (admin, dispute:<id>); it stays frozen while any cause remains. The caller holds the lock. */
  async freeze(tx: Tx, walletId: string, cause: string, now = this.clock.now()): Promise<void> {
    await tx.sql.query(`SELECT ledger_freeze($1, $2, true, $3)`, [walletId, cause, now]);
  }

  /** Lifts one cause of a freeze, or every cause (`all`: an admin's decision). */
  async unfreeze(tx: Tx, walletId: string, cause: string, now = this.clock.now()): Promise<void> {
    await tx.sql.query(`SELECT ledger_freeze($1, $2, false, $3)`, [walletId, cause, now]);
  }

  /** Writes an event that is not a transfer (auto_top_up.succeeded / failed) in the caller's transaction, under the wallet lock. */
  async note(
    tx: Tx,
    walletId: string,
    type: 'auto_top_up.succeeded' | 'auto_top_up.failed',
    data: Record<string, unknown>,
    now = this.clock.now(),
  ) {
    await tx.sql.query(`SELECT ledger_note($1, $2, $3, $4)`, [walletId, type, JSON.stringify(data), now]);
  }

  /** Creates or replaces a budget under the wallet lock; see ledger_put_budget. */
  putBudget(ownerId: string, name: string, b: BudgetDefinition, now = this.clock.now()): Promise<{ created: boolean; budget: BudgetView }> {
    return this.call('budget', 'ledger_put_budget', `SELECT ledger_put_budget($1, $2, $3, $4, $5, $6, $7, $8) AS r`, [
      ownerId,
      name,
      b.scope,
      b.subject ?? null,
      b.period,
      b.limit.toString(),
      now,
      this.config.freeWeeklyMt.toString(),
    ]);
  }

  /** False when the wallet had no such budget. */
  deleteBudget(ownerId: string, name: string, now = this.clock.now()): Promise<boolean> {
    return this.call('budget', 'ledger_delete_budget', `SELECT ledger_delete_budget($1, $2, $3, $4) AS r`, [
      ownerId,
      name,
      now,
      this.config.freeWeeklyMt.toString(),
    ]);
  }

  /** Creates or replaces an alert and evaluates it at once. */
  putAlert(
    ownerId: string,
    name: string,
    a: AlertDefinition,
    now = this.clock.now(),
    tx?: Tx,
  ): Promise<{ created: boolean; alert: AlertView }> {
    return this.call(
      'alert',
      'ledger_put_alert',
      `SELECT ledger_put_alert($1, $2, $3, $4, $5, $6, $7, $8) AS r`,
      [
        ownerId,
        name,
        a.type,
        a.type === 'balance_below' ? a.threshold.toString() : null,
        a.type === 'budget_used' ? a.budget : null,
        a.type === 'budget_used' ? a.percent : null,
        now,
        this.config.freeWeeklyMt.toString(),
      ],
      tx,
    );
  }

  /** False when the wallet had no such alert. */
  deleteAlert(ownerId: string, name: string, now = this.clock.now(), tx?: Tx): Promise<boolean> {
    return this.call(
      'alert',
      'ledger_delete_alert',
      `SELECT ledger_delete_alert($1, $2, $3, $4) AS r`,
      [ownerId, name, now, this.config.freeWeeklyMt.toString()],
      tx,
    );
  }

  /** The plan the wallet shows (billing's newest subscription), or null. */
  async setPlan(tx: Tx, walletId: string, plan: Record<string, unknown> | null): Promise<void> {
    await tx.sql.query(`UPDATE wallets SET plan = $2, updated_at = now() WHERE id = $1`, [walletId, plan ? JSON.stringify(plan) : null]);
  }

  /**
   * Records the wallet's Stripe customer once, with its row in stripe_customers
   * (customer to wallet, in one statement); false when the wallet already had one.
   */
  async setStripeCustomer(walletId: string, customerId: string): Promise<boolean> {
    const r = await this.db.run(
      `WITH w AS (UPDATE wallets SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL RETURNING id)
       INSERT INTO stripe_customers (customer_id, wallet_id) SELECT $2, id FROM w`,
      [walletId, customerId],
    );
    return r.rowCount === 1;
  }
}
