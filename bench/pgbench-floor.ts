import { fingerprintOf, newId, parseTokens } from '@app/common';
import { type ReservationRow, reservationView, SYSTEM } from '@app/ledger';
import { randomUUID } from 'node:crypto';

/**
 * Scenario (f), the pgbench floor: the ledger's own reserve + settle SQL
 * driven by pgbench (C, prepared statements, one backend per client), so
 * that nothing but PostgreSQL and the statements themselves costs anything.
 * (c) runs the same statements from Node through `pg`; (a) through the API.
 * pgbench-run.ts runs the script; this file says what it does.
 */

/** What the floor script is run with: every `:name` in {@link floorScript} comes from here (pgbench -D). */
export interface FloorSpec {
  principalId: string;
  ownerPrefix: string;
  walletCount: number;
  /** Tokens per reservation, as the API takes them ("0.010"). */
  amount: string;
  reservationTtlS: number;
  /** Unique per run: prefixes the run's idempotency keys and reservation ids. */
  run: string;
}

/**
 * ============================ THE FLOOR SCRIPT ============================
 *
 * One pgbench transaction-script iteration = one reserve + settle pair, two
 * database transactions, the statements of IdempotencyService.run +
 * ReservationService.reserveIn / settleIn in the same order (see pg-load.ts,
 * ledger-sql.ts, journal.ts and idempotency.service.ts): 8 statements for
 * the reserve, 9 for the settle, BEGIN and COMMIT included.
 *
 * Where pgbench cannot do what the service does in TypeScript:
 * - spending order (planSpend): the wallet's first live bucket that can pay
 *   the whole amount, by expiry (none last), then age. The bench wallets have
 *   one bucket each (the weekly free tokens), so this is the same choice.
 * - ids: the transfer id is gen_random_uuid() in the statement (the service
 *   sends a randomUUID()); the reservation id is `res_<run>_<client>_<n>`.
 * - the request fingerprint and the stored response bodies are constants of
 *   the real ones' shape and length (pgbench cannot hash or build JSON, and
 *   PostgreSQL doing it would add work the service does in Node).
 * - the checks the service makes in TypeScript (key claimed, wallet found,
 *   reservation still pending) are `\gset`s: pgbench aborts the client when
 *   such a statement returns no row, and the bench counts that as an error.
 * - the weekly grant (ensureWeeklyGrant) sends nothing once the wallet has
 *   this week's grant, as every bench wallet has from its creation.
 *
 * When the ledger's reserve and settle become one PL/pgSQL call each, this
 * function becomes those two calls (plus the \set lines), and the figures
 * of (f) become the floor of the new path. Keep the variables of
 * floorVariables() in step.
 */
export function floorScript(): string {
  const reserveKey = `:run || '-' || :client_id || '-' || :n || '-r'`;
  const settleKey = `:run || '-' || :client_id || '-' || :n || '-s'`;
  const reservationId = `'res_' || :run || '_' || :client_id || '_' || :n`;
  const walletColumns = 'id, owner_id, status, flagged, free_week, plan, created_at';
  const reservationColumns = '*, reserved::text, settled::text, released::text, price_id::text';
  // journal.ts postTransfer: the transfer, its entries and the buckets' remaining, in one statement.
  const postTransfer = (walletId: string, kind: string, amount: string, ref: string, accounts: string, amounts: string) => `WITH t AS (
    INSERT INTO transfers (id, wallet_id, kind, amount, ref, metadata, created_at)
    VALUES (gen_random_uuid(), ${walletId}, '${kind}', ${amount}, ${ref}, NULL, now())
    RETURNING id
  ), e AS (
    INSERT INTO entries (transfer_id, account_id, wallet_id, amount)
    SELECT t.id, x.a, ${walletId}, x.m FROM t, unnest(${accounts}, ${amounts}) AS x(a, m)
  ), b AS (
    UPDATE buckets SET remaining = buckets.remaining + d.m
    FROM (SELECT a, sum(m) AS m FROM unnest(${accounts}, ${amounts}) AS x(a, m) GROUP BY a) AS d
    WHERE buckets.id = d.a
    RETURNING buckets.id
  )
  SELECT count(*)::text AS updated FROM b;`;
  return String.raw`\set n :n + 1
\set i random(0, :wallets - 1)
-- reserve: POST /v1/wallets/{owner}/reservations
BEGIN;
INSERT INTO idempotency_keys (principal_id, key, fingerprint) VALUES (:principal, ${reserveKey}, :fingerprint)
  ON CONFLICT (principal_id, key) DO NOTHING RETURNING 1 AS claimed \gset
SELECT ${walletColumns} FROM wallets WHERE owner_id = :prefix || :i FOR UPDATE \gset w_
SELECT id, source, remaining::text, expires_at, created_at FROM buckets
  WHERE wallet_id = :w_id AND remaining > 0 AND (expires_at IS NULL OR expires_at > now()) AND remaining >= :amount
  ORDER BY expires_at NULLS LAST, created_at, id LIMIT 1 \gset b_
${postTransfer(':w_id', 'reserve', '-:amount::bigint', reservationId, 'ARRAY[:b_id, :pending]::uuid[]', 'ARRAY[-:amount::bigint, :amount]::bigint[]')}
INSERT INTO reservations (id, wallet_id, status, reserved, funding, expires_at, price_id, price_version, variant, quantity, ref, metadata, created_at)
  VALUES (${reservationId}, :w_id, 'pending', :amount, jsonb_build_array(jsonb_build_object('bucket_id', :b_id::text, 'amount', :amount::text)),
          now() + :ttl * interval '1 second', NULL, NULL, NULL, NULL, NULL, NULL, now())
  RETURNING ${reservationColumns};
UPDATE idempotency_keys SET status_code = 201, response = :reserved_body WHERE principal_id = :principal AND key = ${reserveKey};
COMMIT;
-- settle all: POST /v1/reservations/{id}/settle
BEGIN;
INSERT INTO idempotency_keys (principal_id, key, fingerprint) VALUES (:principal, ${settleKey}, :fingerprint)
  ON CONFLICT (principal_id, key) DO NOTHING RETURNING 1 AS claimed \gset
SELECT wallet_id FROM reservations WHERE id = ${reservationId} \gset s_
SELECT ${walletColumns} FROM wallets WHERE id = :s_wallet_id FOR UPDATE \gset w_
SELECT ${reservationColumns} FROM reservations WHERE id = ${reservationId} \gset r_
${postTransfer(':r_wallet_id', 'settle', '0', ':r_id', 'ARRAY[:pending, :revenue]::uuid[]', 'ARRAY[-:r_reserved::bigint, :r_reserved]::bigint[]')}
UPDATE reservations SET status = 'settled', settled = :r_reserved, released = 0, finished_at = now()
  WHERE id = :r_id AND status = 'pending'
  RETURNING ${reservationColumns} \gset f_
UPDATE idempotency_keys SET status_code = 200, response = :settled_body WHERE principal_id = :principal AND key = ${settleKey};
COMMIT;
`;
}

/** The pgbench variables (-D name=value) that {@link floorScript} reads. */
export function floorVariables(spec: FloorSpec): Record<string, string> {
  const amount = parseTokens(spec.amount);
  const owner = `${spec.ownerPrefix}${spec.walletCount - 1}`;
  const now = new Date();
  const reserved: ReservationRow = {
    id: newId('res'),
    wallet_id: randomUUID(),
    status: 'pending',
    reserved: amount.toString(),
    settled: '0',
    released: '0',
    funding: [],
    expires_at: new Date(now.getTime() + spec.reservationTtlS * 1000),
    price_id: null,
    price_version: null,
    variant: null,
    quantity: null,
    ref: null,
    metadata: null,
    created_at: now,
    finished_at: null,
  };
  const settled: ReservationRow = { ...reserved, status: 'settled', settled: amount.toString(), finished_at: now };
  return {
    n: '0',
    run: spec.run,
    principal: spec.principalId,
    prefix: spec.ownerPrefix,
    wallets: String(spec.walletCount),
    amount: amount.toString(),
    ttl: String(spec.reservationTtlS),
    pending: SYSTEM.pendingHolds,
    revenue: SYSTEM.revenue,
    fingerprint: fingerprintOf('POST', `/v1/wallets/${owner}/reservations`, { amount: spec.amount }),
    reserved_body: JSON.stringify(reservationView(reserved, owner, now)),
    settled_body: JSON.stringify(reservationView(settled, owner, now)),
  };
}
