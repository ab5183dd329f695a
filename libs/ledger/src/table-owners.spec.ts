import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The ledger's tables have one writer, the ledger (libs/ledger, through its
 * SQL functions): any other lib, app or script that inserts, updates or
 * deletes them by hand is a second set of money rules. This scan fails with
 * the file and line of each such statement.
 */
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
  'budgets',
  'budget_counters',
  'alerts',
  'events',
  'event_feed',
  'event_consumers',
];
const WRITE = new RegExp(`\\b(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM|TRUNCATE(\\s+TABLE)?)\\s+(${LEDGER_TABLES.join('|')})\\b`, 'i');
const ROOT = join(import.meta.dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dashboard' ? [] : sources(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

describe('table owners', () => {
  it('no lib, app or script but libs/ledger writes the ledger tables', () => {
    const offenders: string[] = [];
    const files = ['libs', 'apps', 'bench', 'scripts'].flatMap((d) => sources(join(ROOT, d)));
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const rel = relative(ROOT, file);
      if (rel.startsWith(join('libs', 'ledger'))) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (WRITE.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('the scan sees a write when there is one', () => {
    expect(WRITE.test('await tx.sql.query(`UPDATE wallets SET status = $2`)')).toBe(true);
    expect(WRITE.test('INSERT INTO entries (transfer_id) VALUES ($1)')).toBe(true);
    expect(WRITE.test('delete from reservations where id = $1')).toBe(true);
    expect(WRITE.test('SELECT id FROM wallets WHERE owner_id = $1 FOR UPDATE')).toBe(false);
    expect(WRITE.test('UPDATE generations SET status = $2')).toBe(false);
  });
});
