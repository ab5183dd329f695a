import { claimKey, fingerprintOf, formatTokens, type IdempotentRequest, newId, parseTokens, type Sql, storeOutcome } from '@app/common';
import {
  availableOf,
  credit,
  ensureWeeklyGrant,
  findReservation,
  finish,
  fundingOf,
  hold,
  liveBuckets,
  lockWalletById,
  lockWalletByOwner,
  planSpend,
  reservationView,
  splitSettlement,
  SYSTEM,
} from '@app/ledger';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Progress, runTimed, type TimedResult } from './stats.js';

/** A `pg` client seen through the ledger's narrow {@link Sql} interface. */
export function pgSql(client: pg.ClientBase): Sql {
  return {
    async query<T>(text: string, params?: unknown[]) {
      const r = await client.query(text, params);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
  };
}

/** BEGIN ... COMMIT on one pooled connection (READ COMMITTED, like Database.transaction). */
export async function pgTransaction<T>(pool: pg.Pool, work: (sql: Sql) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(pgSql(client));
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/**
 * Gives the hot wallet enough tokens for any run: one `adjustment` bucket
 * (no expiry) funded from the adjustments system account, posted with the
 * ledger's own credit() under the wallet lock, as an admin adjustment would be.
 */
export async function topUpWallet(pool: pg.Pool, ownerId: string, tokens: bigint, grantKey: string): Promise<void> {
  await pgTransaction(pool, async (sql) => {
    const wallet = await lockWalletByOwner(sql, ownerId);
    if (!wallet) throw new Error(`no wallet ${ownerId} to top up`);
    const bucket = await credit(sql, {
      walletId: wallet.id,
      source: 'adjustment',
      amount: tokens * 1000n,
      expiresAt: null,
      grantKey,
      from: SYSTEM.adjustments,
      kind: 'adjustment',
      at: new Date(),
      ref: grantKey,
      metadata: { reason: 'benchmark hot wallet' },
    });
    if (!bucket) throw new Error(`${grantKey} was already credited`);
  });
}

export interface PgLoadSpec {
  databaseUrl: string;
  poolSize: number;
  principalId: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  ownerPrefix: string;
  walletCount: number;
  hotOwner: string | null;
  amount: string;
  label: string;
  freeWeeklyMt: bigint;
  reservationTtlS: number;
}

/**
 * The same reserve+settle pairs without Nest, Express or TypeORM: two
 * transactions per pair over a `pg.Pool`, each issuing the statements that
 * IdempotencyService.run + ReservationService.reserveIn / settleIn issue, in
 * the same order, through the same exported functions.
 */
export async function runPgLoad(spec: PgLoadSpec, progress?: (p: Progress) => void): Promise<TimedResult> {
  const pool = new pg.Pool({ connectionString: spec.databaseUrl, max: spec.poolSize, application_name: 'token-wallet-bench' });
  const run = `${spec.label}-${randomBytes(4).toString('hex')}`;
  const seq = new Array<number>(spec.clients).fill(0);
  const reserveBody = { amount: spec.amount };

  const reserve = async (ownerId: string, key: string): Promise<string> => {
    // What the HTTP edge does before the transaction: fingerprint the request, parse the amount.
    const idem: IdempotentRequest = {
      principalId: spec.principalId,
      key,
      fingerprint: fingerprintOf('POST', `/v1/wallets/${ownerId}/reservations`, reserveBody),
    };
    const now = new Date();
    const amount = parseTokens(reserveBody.amount);
    return pgTransaction(pool, async (sql) => {
      if (!(await claimKey(sql, idem))) throw new Error(`idempotency key ${key} was already used`);
      // ReservationService.reserveIn -> WalletService.lockForSpend
      const wallet = await lockWalletByOwner(sql, ownerId);
      if (!wallet) throw new Error(`wallet_not_found ${ownerId}`);
      await ensureWeeklyGrant(sql, wallet, spec.freeWeeklyMt, now);
      if (wallet.status === 'frozen') throw new Error(`wallet_frozen ${ownerId}`);
      const buckets = await liveBuckets(sql, wallet.id, now);
      const funding = planSpend(buckets, amount, now);
      if (!funding) throw new Error(`insufficient_funds: ${ownerId} has ${formatTokens(availableOf(buckets, now))}`);
      const r = await hold(sql, {
        id: newId('res'),
        walletId: wallet.id,
        amount,
        funding,
        expiresAt: new Date(now.getTime() + spec.reservationTtlS * 1000),
        at: now,
        priceId: null,
        priceVersion: null,
        variant: null,
        quantity: null,
        ref: null,
        metadata: null,
      });
      await storeOutcome(sql, idem, { status: 201, body: reservationView(r, ownerId, now) });
      return r.id;
    });
  };

  const settle = async (id: string, key: string): Promise<void> => {
    const idem: IdempotentRequest = {
      principalId: spec.principalId,
      key,
      fingerprint: fingerprintOf('POST', `/v1/reservations/${id}/settle`, {}),
    };
    await pgTransaction(pool, async (sql) => {
      if (!(await claimKey(sql, idem))) throw new Error(`idempotency key ${key} was already used`);
      const now = new Date();
      // ReservationService.lockReservation
      const { rows } = await sql.query<{ wallet_id: string }>(`SELECT wallet_id FROM reservations WHERE id = $1`, [id]);
      if (!rows[0]) throw new Error(`reservation_not_found ${id}`);
      const wallet = await lockWalletById(sql, rows[0].wallet_id);
      const r = await findReservation(sql, id);
      if (!r) throw new Error(`reservation_not_found ${id}`);
      // ReservationService.settleIn
      if (r.status !== 'pending' && r.status !== 'expired') throw new Error(`reservation_not_pending ${id}`);
      if (r.status === 'expired' || r.expires_at.getTime() <= now.getTime()) throw new Error(`reservation_expired ${id}`);
      const charge = BigInt(r.reserved);
      const { returned } = splitSettlement(fundingOf(r), charge);
      const done = await finish(sql, r, 'settled', charge, returned, now);
      await storeOutcome(sql, idem, { status: 200, body: reservationView(done, wallet.owner_id, now) });
    });
  };

  try {
    return await runTimed({
      clients: spec.clients,
      warmupMs: spec.warmupMs,
      durationMs: spec.durationMs,
      progress,
      pair: async (c) => {
        const n = seq[c]++;
        const owner = spec.hotOwner ?? `${spec.ownerPrefix}${Math.floor(Math.random() * spec.walletCount)}`;
        const id = await reserve(owner, `${run}-${c}-${n}-r`);
        await settle(id, `${run}-${c}-${n}-s`);
      },
    });
  } finally {
    await pool.end();
  }
}
