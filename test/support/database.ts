import { dataSourceOptions, runMigrations } from '@app/common';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import { dbUrl, PG_ADMIN_URL, TEMPLATE_DB } from './env.js';

/** Runs the given migrations (a prefix of MIGRATIONS, for a migration's own test) on `url`; the names it applied. */
export async function migrateWith(url: string, migrations: (new () => MigrationInterface)[]): Promise<string[]> {
  const ds = new DataSource({ ...dataSourceOptions(url, 2), migrations });
  await ds.initialize();
  try {
    return await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}

/**
 * Builds the template database with the real migrations, once per run: the
 * first test file to get here does it under an advisory lock, the others wait.
 */
async function ensureTemplate(admin: pg.Client): Promise<void> {
  await admin.query(`SELECT pg_advisory_lock(hashtext('tw-test-template'))`);
  try {
    const { rowCount } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [TEMPLATE_DB]);
    if (rowCount) return;
    const building = `${TEMPLATE_DB}_building`;
    await admin.query(`DROP DATABASE IF EXISTS ${building}`);
    await admin.query(`CREATE DATABASE ${building}`);
    const ds = new DataSource(dataSourceOptions(dbUrl(building), 2));
    await ds.initialize();
    await runMigrations(ds);
    await ds.destroy();
    await admin.query(`ALTER DATABASE ${building} RENAME TO ${TEMPLATE_DB}`);
  } finally {
    await admin.query(`SELECT pg_advisory_unlock(hashtext('tw-test-template'))`);
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

/** A new database's name, under this run's prefix (global-teardown.js drops what a crashed file left). */
function testDatabaseName(): string {
  return `tw_t_${process.env.TW_TEST_RUN ?? 'local'}_${randomBytes(4).toString('hex')}`;
}

function testDatabase(name: string): TestDatabase {
  return {
    url: dbUrl(name),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** An empty database, no migration applied (for tests of a migration on data written before it). */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const name = testDatabaseName();
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return testDatabase(name);
}

/** An empty database with every migration before the named one applied (the schema that migration starts from). */
export async function createDatabaseBefore(migration: string): Promise<TestDatabase> {
  const at = MIGRATIONS.findIndex((m) => m.name === migration);
  if (at < 0) throw new Error(`No migration named ${migration}`);
  const db = await createEmptyDatabase();
  await migrateWith(db.url, MIGRATIONS.slice(0, at));
  return db;
}

/** A fresh database for one test file, copied from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = testDatabaseName();
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await ensureTemplate(admin);
  // CREATE DATABASE ... TEMPLATE fails while another session is copying the same template.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
      break;
    } catch (e) {
      if (attempt > 50 || !/being accessed by other users/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  await admin.end();
  return testDatabase(name);
}
