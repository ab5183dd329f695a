import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The webhook endpoint tables have one writer, libs/events (and their
 * migration): anything else that inserts, updates or deletes them is a second
 * dispatcher. The ledger's tables, events included, are the ledger's: this lib
 * reads the feed through EventsService and never writes it.
 */
const OWN_TABLES = ['webhook_endpoints', 'webhook_endpoint_deliveries', 'webhook_endpoint_attempts'];
const WRITE = (tables: string[]) =>
  new RegExp(`\\b(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM|TRUNCATE(\\s+TABLE)?)\\s+(${tables.join('|')})\\b`, 'i');
const ROOT = join(import.meta.dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dashboard' ? [] : sources(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

function writes(files: string[], re: RegExp): string[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (re.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
  );
}

describe('table owners (events)', () => {
  const all = ['libs', 'apps', 'bench', 'scripts'].flatMap((d) => sources(join(ROOT, d)));

  it('no lib, app or script but libs/events writes the webhook endpoint tables', () => {
    expect(all.length).toBeGreaterThan(50);
    const others = all.filter((f) => !relative(ROOT, f).startsWith(join('libs', 'events')));
    expect(writes(others, WRITE(OWN_TABLES))).toEqual([]);
  });

  it('libs/events writes no table of the ledger', () => {
    const mine = all.filter((f) => relative(ROOT, f).startsWith(join('libs', 'events')));
    expect(mine.length).toBeGreaterThan(3);
    expect(writes(mine, WRITE(['events', 'event_feed', 'wallets', 'budgets', 'alerts', 'reservations']))).toEqual([]);
  });

  it('the scan sees a write when there is one', () => {
    expect(WRITE(OWN_TABLES).test('UPDATE webhook_endpoints SET url = $2')).toBe(true);
    expect(WRITE(OWN_TABLES).test('DELETE FROM webhook_endpoint_deliveries WHERE')).toBe(true);
    expect(WRITE(OWN_TABLES).test('SELECT name FROM webhook_endpoints')).toBe(false);
    expect(WRITE(['events']).test('UPDATE events SET pos = 1')).toBe(true);
    expect(WRITE(['events']).test('INSERT INTO webhook_endpoint_deliveries')).toBe(false);
  });
});
