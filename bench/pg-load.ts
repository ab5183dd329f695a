import { fingerprintOf, newId, parseTokens } from '@app/common';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Progress, runTimed, type TimedResult } from './stats.js';

/**
 * Gives the hot wallet enough tokens for any run: one `adjustment` bucket
 * (no expiry) funded from the adjustments system account, posted with the
 * ledger's own credit function under the wallet lock, as an admin adjustment would be.
 */
export async function topUpWallet(pool: pg.Pool, ownerId: string, tokens: bigint, grantKey: string): Promise<void> {
  const { rows } = await pool.query<{ bucket: string | null }>(
    `SELECT ledger_credit(w.id, 'adjustment', $2, NULL, $3, '00000000-0000-4000-8000-000000000007', 'adjustment', now(), $3,
       '{"reason": "benchmark hot wallet"}') AS bucket
     FROM ledger_lock(NULL, $1, now(), 0) AS w`,
    [ownerId, (tokens * 1000n).toString(), grantKey],
  );
  if (!rows[0]?.bucket) throw new Error(`${grantKey} was already credited`);
}

/** The service's own one-call-per-operation SQL, as Ledger sends it (named prepared statements). */
export const RESERVE_SQL = `SELECT ledger_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) AS r`;
export const SETTLE_SQL = `SELECT ledger_finish($1, $2, $3, $4, 'settle', NULL, $5) AS r`;

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
 * The same reserve+settle pairs without Nest, Fastify/Express or TypeORM: one
 * statement per operation over a `pg.Pool`, the very functions Ledger calls,
 * after the same edge work (the request fingerprint, the amount parsed).
 */
export async function runPgLoad(spec: PgLoadSpec, progress?: (p: Progress) => void): Promise<TimedResult> {
  const pool = new pg.Pool({ connectionString: spec.databaseUrl, max: spec.poolSize, application_name: 'token-wallet-bench' });
  const run = `${spec.label}-${randomBytes(4).toString('hex')}`;
  const seq = new Array<number>(spec.clients).fill(0);
  const reserveBody = { amount: spec.amount };

  const reserve = async (ownerId: string, key: string): Promise<string> => {
    const fingerprint = fingerprintOf('POST', `/v1/wallets/${ownerId}/reservations`, reserveBody);
    const amount = parseTokens(reserveBody.amount);
    const { rows } = await pool.query<{ r: { status: number; body: { id: string }; replayed?: boolean } }>({
      name: 'ledger_reserve',
      text: RESERVE_SQL,
      values: [
        spec.principalId,
        key,
        fingerprint,
        ownerId,
        newId('res'),
        amount.toString(),
        spec.reservationTtlS,
        new Date(),
        spec.freeWeeklyMt.toString(),
      ],
    });
    if (rows[0].r.replayed) throw new Error(`idempotency key ${key} was already used`);
    return rows[0].r.body.id;
  };

  const settle = async (id: string, key: string): Promise<void> => {
    const fingerprint = fingerprintOf('POST', `/v1/reservations/${id}/settle`, {});
    const { rows } = await pool.query<{ r: { status: number; replayed?: boolean } }>({
      name: 'ledger_finish',
      text: SETTLE_SQL,
      values: [spec.principalId, key, fingerprint, id, new Date()],
    });
    if (rows[0].r.replayed) throw new Error(`idempotency key ${key} was already used`);
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
