import { fingerprintOf, parseTokens } from '@app/common';

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
  freeWeeklyMt: bigint;
  /** Unique per run: prefixes the run's idempotency keys and reservation ids. */
  run: string;
}

/**
 * ============================ THE FLOOR SCRIPT ============================
 *
 * One pgbench transaction-script iteration = one reserve + settle pair: the
 * two calls the service makes, `ledger_reserve` and `ledger_finish`, each one
 * statement in its own transaction (idempotency claim, wallet lock, weekly
 * grant, spending order, transfer, hold and stored response inside), with
 * `-M prepared` as the service's named prepared statements. What the service
 * does in Node and pgbench cannot (hash the request fingerprint, make ids) is
 * a constant fingerprint and a `res_<run>_<client>_<n>` id. A failed call
 * (insufficient funds, a replay) aborts the client and counts as an error.
 */
export function floorScript(): string {
  const reserveKey = `:run || '-' || :client_id || '-' || :n || '-r'`;
  const settleKey = `:run || '-' || :client_id || '-' || :n || '-s'`;
  const reservationId = `'res_' || :run || '_' || :client_id || '_' || :n`;
  return String.raw`\set n :n + 1
\set i random(0, :wallets - 1)
-- reserve: POST /v1/wallets/{owner}/reservations
SELECT ledger_reserve(:principal, ${reserveKey}, :fingerprint, :prefix || :i, ${reservationId}, :amount, :ttl, now(), :free,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, :principal) AS r;
-- settle all: POST /v1/reservations/{id}/settle
SELECT ledger_finish(:principal, ${settleKey}, :fingerprint, ${reservationId}, 'settle', NULL, now()) AS r;
`;
}

/** The pgbench variables (-D name=value) that {@link floorScript} reads. */
export function floorVariables(spec: FloorSpec): Record<string, string> {
  const amount = parseTokens(spec.amount);
  const owner = `${spec.ownerPrefix}${spec.walletCount - 1}`;
  return {
    n: '0',
    run: spec.run,
    principal: spec.principalId,
    prefix: spec.ownerPrefix,
    wallets: String(spec.walletCount),
    amount: amount.toString(),
    ttl: String(spec.reservationTtlS),
    free: spec.freeWeeklyMt.toString(),
    fingerprint: fingerprintOf('POST', `/v1/wallets/${owner}/reservations`, { amount: spec.amount }),
  };
}
