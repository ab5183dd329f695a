import pg from 'pg';

/** Drops every database this run created, the template last. */
export default async function globalTeardown() {
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  const run = process.env.TW_TEST_RUN;
  const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2 ORDER BY datname DESC`, [
    `tw_t_${run}_%`,
    `tw_test_template_${run}`,
  ]);
  for (const r of rows) await admin.query(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`);
  await admin.end();
}
