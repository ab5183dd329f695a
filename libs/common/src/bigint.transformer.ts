import type { ValueTransformer } from 'typeorm';

/** Turns a Postgres bigint (which `pg` returns as a string) into a JS bigint and back. */
export const bigintColumn: ValueTransformer = {
  to: (v: bigint | null | undefined) => (v === null || v === undefined ? v : v.toString()),
  from: (v: string | null) => (v === null ? null : BigInt(v)),
};
