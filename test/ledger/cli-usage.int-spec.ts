import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, startApp, TestApp } from '../support/app.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI as a separate process; `env` replaces the suite's database settings where given. */
function cli(t: TestApp, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base: Record<string, string | undefined> = {
    ...process.env,
    DATABASE_URL: t.config.DATABASE_URL,
    QUEUE_PREFIX: t.config.QUEUE_PREFIX,
    LOG_LEVEL: 'silent',
    STRIPE_SECRET_KEY: undefined,
    STRIPE_API_BASE: undefined,
  };
  const merged = { ...base, ...env };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/apps/cli/src/main.js', ...args], { env: merged }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const noStack = (r: Run) => expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at /);

describe('cli: parser, help, errors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers --help on every command, with exit 0', async () => {
    const commands = [
      [],
      ['api-key'],
      ['api-key', 'create'],
      ['api-key', 'list'],
      ['api-key', 'revoke'],
      ['api-key', 'rotate'],
      ['ledger', 'verify'],
      ['grants', 'expire'],
      ['stripe', 'sync-catalog'],
      ['stripe', 'reconcile'],
      ['migration', 'run'],
    ];
    const runs = await Promise.all(commands.map((c) => cli(t, [...c, '--help'])));
    for (const [i, r] of runs.entries()) {
      expect([commands[i].join(' '), r.code, r.stdout.startsWith('Usage: npm run cli --')]).toEqual([commands[i].join(' '), 0, true]);
    }
    expect(runs[2].stdout).toContain('--scope <scope>');
    expect(runs[9].stdout).toContain('--since <duration>');
    expect((await cli(t, ['help', 'stripe'])).stdout).toContain('reconcile');
  });

  it('refuses unknown commands, flags and values with one line and exit code 2, no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['nonsense'], /unknown command 'nonsense'/],
      [['api-key', 'delete'], /unknown command 'delete'/],
      [['ledger', 'verify', '--bogus'], /unknown option '--bogus'/],
      [['api-key', 'create', '--name', 'x', '--scope', 'root'], /Allowed choices are gateway, admin/],
      [['api-key', 'create', '--scope', 'admin'], /required option '--name <name>'/],
      [['stripe', 'reconcile', '--since', 'soon'], /7d, 12h or 30m/],
      [['api-key', 'revoke'], /missing required argument/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(t, args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toMatch(message);
      noStack(r);
    }
    // No command at all: the help, as a usage error.
    const none = await cli(t, []);
    expect([none.code, none.stdout]).toEqual([2, expect.stringContaining('Commands:')]);
  });

  it('lists, revokes and rotates API keys', async () => {
    const created = await cli(t, ['api-key', 'create', '--name', 'cli-rotating', '--scope', 'gateway']);
    const first = /^(tw_gw_\S+)$/m.exec(created.stdout)?.[1] as string;
    expect(first).toBeDefined();

    const list = await cli(t, ['api-key', 'list', '--json']);
    expect(list.code).toBe(0);
    const keys = JSON.parse(list.stdout) as { id: string; name: string; prefix: string; revokedAt: string | null }[];
    const row = keys.find((k) => k.name === 'cli-rotating');
    expect(row).toMatchObject({ prefix: first.slice(0, 10), revokedAt: null });
    // The key itself is never shown again.
    expect(list.stdout).not.toContain(first);
    expect((await cli(t, ['api-key', 'list'])).stdout).toMatch(/cli-rotating\tgateway\ttw_gw_/);

    // Rotate by name: a new key works, the old one is refused.
    const rotated = await cli(t, ['api-key', 'rotate', 'cli-rotating']);
    expect(rotated.code).toBe(0);
    const second = /^(tw_gw_\S+)$/m.exec(rotated.stdout)?.[1] as string;
    expect(second).not.toBe(first);
    expect((await call(t, 'GET', '/v1/prices', undefined, { key: first })).status).toBe(401);
    expect((await call(t, 'GET', '/v1/prices', undefined, { key: second })).status).toBe(200);

    // Revoke by id.
    const current = (JSON.parse((await cli(t, ['api-key', 'list', '--json'])).stdout) as typeof keys).find(
      (k) => k.name === 'cli-rotating' && !k.revokedAt,
    );
    const revoked = await cli(t, ['api-key', 'revoke', current!.id]);
    expect([revoked.code, revoked.stdout]).toEqual([0, expect.stringContaining(`Revoked gateway key "cli-rotating"`)]);
    const after = JSON.parse((await cli(t, ['api-key', 'list', '--json'])).stdout) as typeof keys;
    expect(after.filter((k) => k.name === 'cli-rotating').every((k) => k.revokedAt !== null)).toBe(true);

    // Nothing left to revoke: a clear message, exit 1.
    const again = await cli(t, ['api-key', 'revoke', 'cli-rotating']);
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('no active API key with id or name "cli-rotating"')]);
    noStack(again);
  });

  it('says how to configure Stripe, mentioning STRIPE_API_BASE, without a stack trace', async () => {
    for (const command of [
      ['stripe', 'reconcile'],
      ['stripe', 'sync-catalog'],
    ]) {
      const r = await cli(t, command);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: Stripe is not configured: set STRIPE_SECRET_KEY/);
      expect(r.stderr).toContain('STRIPE_API_BASE');
      noStack(r);
    }
    // A key but nothing listening at STRIPE_API_BASE: the host and the variable are named.
    const r = await cli(t, ['stripe', 'reconcile'], { STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_API_BASE: 'http://127.0.0.1:9' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach Stripe at http://127.0.0.1:9');
    noStack(r);
  });

  it('says who holds a locked embedded PostgreSQL data directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-locked-pg-'));
    try {
      // A data directory whose postmaster.pid names a live process (this one) on another port.
      await writeFile(join(dir, 'PG_VERSION'), '18\n');
      await writeFile(join(dir, 'postmaster.pid'), `${process.pid}\n${dir}\n1700000000\n54999\n/tmp\nlocalhost\n`);
      const r = await cli(t, ['ledger', 'verify'], { DATABASE_URL: undefined, EMBEDDED_PG_DIR: dir, EMBEDDED_PG_PORT: '54998' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`is locked by process ${process.pid} (a PostgreSQL on port 54999`);
      expect(r.stderr).toContain('EMBEDDED_PG_DIR');
      expect(r.stderr).not.toContain('undefined');
      noStack(r);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('npm run cli builds only when a source is newer than dist/', async () => {
    const check = () =>
      new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['scripts/build-if-stale.mjs', '--check'], (err, stdout) =>
          err ? reject(new Error(err.message)) : resolve(stdout.trim()),
        ),
      );
    expect(await check()).toBe('fresh');
    // A source edited after the build: stale (its time is put back after).
    const file = 'libs/common/src/ids.ts';
    const before = await stat(file);
    try {
      const later = new Date(Date.now() + 60_000);
      await utimes(file, later, later);
      expect(await check()).toBe('stale');
    } finally {
      await utimes(file, before.atime, before.mtime);
    }
    expect(await check()).toBe('fresh');
  });
});
