import { createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { AuthedRequest } from './api-key.guard.js';
import { Database, Sql, Tx } from './database.js';
import { DomainError, Errors } from './errors.js';
import { requestPath } from './request-path.js';

/** What identifies one value-moving request: who sent it, the key, and what was asked. */
export interface IdempotentRequest {
  principalId: string;
  key: string;
  fingerprint: string;
}

export interface Outcome<T = unknown> {
  status: number;
  body: T;
  replayed?: boolean;
}

const KEY_FORM = /^[\x20-\x7e]{1,255}$/;

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function fingerprintOf(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonical(body ?? null)}`)
    .digest('hex');
}

/** The Idempotency-Key of a value-moving POST, validated; a missing or malformed key is a 400. */
export const Idem = createParamDecorator((_: unknown, ctx: ExecutionContext): IdempotentRequest => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  const raw = req.headers['idempotency-key'];
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (key === undefined || key === '') {
    throw Errors.validation('The Idempotency-Key header is required on this request', [
      { field: 'Idempotency-Key', message: 'Idempotency-Key is required' },
    ]);
  }
  if (!KEY_FORM.test(key)) {
    throw Errors.validation('The Idempotency-Key header must be 1-255 printable characters', [
      { field: 'Idempotency-Key', message: 'Idempotency-Key must be 1-255 printable ASCII characters' },
    ]);
  }
  if (!req.principal) throw Errors.unauthorized();
  return { principalId: req.principal.id, key, fingerprint: fingerprintOf(req.method, requestPath(req.url), req.body) };
});

/** Sets the status (and the replay marker) that an idempotent outcome carries. */
export function reply<T>(res: FastifyReply, outcome: Outcome<T>): T {
  res.status(outcome.status);
  if (outcome.replayed) res.header('Idempotent-Replayed', 'true');
  return outcome.body;
}

/** Claims the key inside `sql`'s transaction; false when another request holds or held it. */
export async function claimKey(sql: Sql, req: IdempotentRequest): Promise<boolean> {
  const inserted = await sql.query(
    `INSERT INTO idempotency_keys (principal_id, key, fingerprint) VALUES ($1, $2, $3)
     ON CONFLICT (principal_id, key) DO NOTHING RETURNING 1`,
    [req.principalId, req.key, req.fingerprint],
  );
  return inserted.rowCount === 1;
}

/** The key's row as stored: its fingerprint, and its outcome once the request that claimed it committed. */
async function storedKey(
  query: Sql['query'],
  req: IdempotentRequest,
): Promise<{ fingerprint: string; status_code: number | null; response: string | null } | undefined> {
  const { rows } = await query<{ fingerprint: string; status_code: number | null; response: string | null }>(
    `SELECT fingerprint, status_code, response FROM idempotency_keys WHERE principal_id = $1 AND key = $2`,
    [req.principalId, req.key],
  );
  return rows[0];
}

export async function storeOutcome(sql: Sql, req: IdempotentRequest, outcome: Outcome): Promise<void> {
  await sql.query(`UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE principal_id = $1 AND key = $2`, [
    req.principalId,
    req.key,
    outcome.status,
    JSON.stringify(outcome.body),
  ]);
}

@Injectable()
export class IdempotencyService {
  constructor(private readonly db: Database) {}

  /**
   * Runs `work` once per key. The key row is inserted first, in the same
   * transaction as the effect: a concurrent duplicate blocks on the unique
   * index until the first commits, then reads its stored response. If the
   * first fails, nothing is stored and the key can be used again. Only
   * successful outcomes are stored; an error leaves no trace.
   */
  async run<T>(req: IdempotentRequest, work: (tx: Tx) => Promise<Outcome<T>>): Promise<Outcome<T>> {
    return this.db.transaction(async (tx) => {
      if (!(await claimKey(tx.sql, req))) return this.replay<T>(tx, req);
      const outcome = await work(tx);
      await storeOutcome(tx.sql, req, outcome);
      return outcome;
    });
  }

  /**
   * For a request whose checks come before its claim (the price it is charged,
   * its variant, its input images, the queue it goes to): runs `work`, and when
   * it refuses the request, answers a retry whose first try already succeeded
   * with that stored outcome instead, as the claim would have had the checks
   * passed. A price removed or a queue down since the first try does not turn
   * its retry into an error. A key holding nothing yet, still in flight, or
   * used for another request keeps the refusal.
   */
  async orReplay<T>(req: IdempotentRequest, work: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
    try {
      return await work();
    } catch (e) {
      const row = await storedKey(this.db.run.bind(this.db), req);
      if (!row || row.status_code === null || row.response === null || row.fingerprint !== req.fingerprint) throw e;
      return { status: row.status_code, body: JSON.parse(row.response) as T, replayed: true };
    }
  }

  private async replay<T>(tx: Tx, req: IdempotentRequest): Promise<Outcome<T>> {
    const row = await storedKey((text, params) => tx.sql.query(text, params), req);
    if (!row || row.status_code === null || row.response === null)
      throw new DomainError(409, 'idempotency_key_in_flight', 'Conflict', 'A request with this Idempotency-Key is still being processed');
    if (row.fingerprint !== req.fingerprint) {
      throw Errors.conflict('idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
    }
    return { status: row.status_code, body: JSON.parse(row.response) as T, replayed: true };
  }
}
