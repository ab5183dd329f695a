import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Billing changes the ledger only through its front door (Ledger); it may read ledger tables, never write them.
const LEDGER_TABLES = [
  'wallets',
  'wallet_owners',
  'stripe_customers',
  'grant_claims',
  'buckets',
  'accounts',
  'transfers',
  'entries',
  'reservations',
];
const WRITE = `\\b(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM|TRUNCATE|ALTER\\s+TABLE)\\s+(${LEDGER_TABLES.join('|')})\\b`;
const writesIn = (text: string) => [...text.matchAll(new RegExp(WRITE, 'gi'))];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [],
  );
}

describe('billing and the ledger', () => {
  it('never writes a ledger table itself', () => {
    const dir = join(process.cwd(), 'libs/billing/src');
    const files = sources(dir);
    expect(files.length).toBeGreaterThan(5);
    const writes = files.flatMap((f) => {
      const text = readFileSync(f, 'utf8');
      return writesIn(text).map((m) => `${f.slice(dir.length + 1)}:${text.slice(0, m.index).split('\n').length}: ${m[0]}`);
    });
    expect(writes).toEqual([]);
  });

  it('would see a write if there were one', () => {
    expect(writesIn('`UPDATE wallets SET status = $2`')).toHaveLength(1);
    expect(writesIn('INSERT INTO\n   buckets (id)')).toHaveLength(1);
    expect(writesIn('INSERT INTO stripe_payments (payment_intent); SELECT id FROM wallets')).toHaveLength(0);
  });
});
