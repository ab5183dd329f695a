import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { AppConfig } from './config.js';
import { APP_CONFIG } from './tokens.js';

interface PgPool {
  query<T>(q: { name?: string; text: string; values: unknown[] }): Promise<{ rows: T[] }>;
}

/**
 * The narrow SQL surface the ledger is written against. TypeORM's query
 * runner and a bare `pg` client both fit it, so the benchmark can issue the
 * very same statements without Nest or TypeORM.
 */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[]; rowCount: number }>;
}

/** A database transaction: the entity manager for TypeORM reads, `sql` for the ledger's statements. */
export interface Tx {
  em: EntityManager;
  sql: Sql;
}

export function sqlOf(em: EntityManager): Sql {
  const runner = em.queryRunner;
  if (!runner) throw new Error('sqlOf() needs the entity manager of a transaction');
  return {
    async query<T>(text: string, params?: unknown[]) {
      const r = await runner.query(text, params as unknown[], true);
      return { rows: (r.records ?? []) as T[], rowCount: r.affected ?? r.records?.length ?? 0 };
    },
  };
}

/** Postgres error codes the services react to. */
export const PgCode = {
  uniqueViolation: '23505',
  checkViolation: '23514',
  serializationFailure: '40001',
  deadlock: '40P01',
} as const;

export function pgCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; driverError?: { code?: unknown } };
  const code = err?.driverError?.code ?? err?.code;
  return typeof code === 'string' ? code : undefined;
}

@Injectable()
export class Database {
  private readonly prepared: boolean;
  private readonly replica: boolean;

  constructor(
    readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prepared = config.DATABASE_PREPARED_STATEMENTS;
    this.replica = Boolean(config.DATABASE_READ_URL);
  }

  /** Runs `work` in one READ COMMITTED transaction; wallet row locks give the isolation money needs. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((em) => work({ em, sql: sqlOf(em) }));
  }

  /** A single statement outside a transaction, with the affected row count (UPDATE ... RETURNING). */
  async run<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[]; rowCount: number }> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const r = await runner.query(text, params, true);
      return { rows: (r.records ?? []) as T[], rowCount: r.affected ?? r.records?.length ?? 0 };
    } finally {
      await runner.release();
    }
  }

  /**
   * One statement as a named prepared statement on the driver's pool (no
   * TypeORM in between): the hot path's single round trip. Inside a caller's
   * transaction it runs there instead, unnamed. With
   * DATABASE_PREPARED_STATEMENTS=false it is always unnamed: a pooler in
   * transaction mode hands each statement to any server connection, where a
   * name prepared on another one does not exist. (The PL/pgSQL function it
   * calls keeps its cached plans per server connection either way.)
   */
  async call<T = Record<string, unknown>>(name: string, text: string, params: unknown[], tx?: Tx): Promise<T[]> {
    if (tx) return (await tx.sql.query<T>(text, params)).rows;
    const pool = (this.dataSource.driver as unknown as { master: PgPool }).master;
    return (await pool.query<T>(this.prepared ? { name, text, values: params } : { text, values: params })).rows;
  }

  /**
   * A read that may lag the primary: reports, statements and lists. It goes
   * to DATABASE_READ_URL (a streaming replica) when set, else to the primary.
   * Never for anything that decides about money: those read the primary,
   * under the wallet's lock.
   */
  async read<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]> {
    if (!this.replica) return this.query<T>(text, params);
    const runner = this.dataSource.createQueryRunner('slave');
    try {
      return (await runner.query(text, params)) as T[];
    } finally {
      await runner.release();
    }
  }

  /** A single SELECT outside an explicit transaction. */
  async query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]> {
    return this.dataSource.query<T[]>(text, params);
  }
}
