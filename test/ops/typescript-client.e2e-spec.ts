import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { example } from '../../clients/typescript/example.js';
import { useApp } from '../support/app.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const CLIENT = join(ROOT, 'clients/typescript');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** tsc on the given files with the client's strict options; resolves to its output and whether it passed. */
async function typecheck(files: string[]): Promise<{ ok: boolean; output: string }> {
  const flags = ['--ignoreConfig', '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
  try {
    await run(process.execPath, [TSC, ...flags, '--lib', 'es2022,dom', '--types', 'node', ...files], { cwd: ROOT });
    return { ok: true, output: '' };
  } catch (e) {
    return { ok: false, output: String((e as { stdout?: string }).stdout) };
  }
}

describe('the typed TypeScript client (clients/typescript)', () => {
  const t = useApp();

  it('is generated from docs/openapi.json as it is now (npm run client)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-client-'));
    try {
      const out = join(dir, 'schema.d.ts');
      await run(process.execPath, [join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'), 'docs/openapi.json', '-o', out], {
        cwd: ROOT,
      });
      expect(await readFile(join(CLIENT, 'schema.d.ts'), 'utf8')).toBe(await readFile(out, 'utf8'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('type-checks the sample program, and refuses a misspelt field or an unknown error code', async () => {
    const good = await typecheck([join(CLIENT, 'example.ts')]);
    expect(good).toEqual({ ok: true, output: '' });
    // The types are real, not any or never: a wrong field and a code this route cannot answer do not compile.
    const dir = await mkdtemp(join(CLIENT, '.tmp-'));
    try {
      const bad = join(dir, 'bad.ts');
      await writeFile(
        bad,
        `import { createTokenWalletClient } from '../index.js';
const api = createTokenWalletClient({ baseUrl: 'http://localhost:3000', apiKey: 'k' });
export async function f() {
  const w = await api.GET('/v1/wallets/{owner_id}', { params: { path: { owner_id: 'u' } } });
  const a: string | undefined = w.data?.balance.availble;
  const c: boolean = w.error?.code === 'insufficient_funds';
  return [a, c];
}
`,
      );
      const result = await typecheck([bad]);
      expect(result.ok).toBe(false);
      expect(result.output).toContain("Property 'availble' does not exist");
      expect(result.output).toMatch(/TS2367.*insufficient_funds/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs the sample program against the service', async () => {
    const result = await example(t().baseUrl, t().gatewayKey, 'client-example');
    expect(result).toEqual({
      available: '15.000',
      reservationId: expect.stringMatching(/^res_[0-9a-f]{32}$/),
      settled: '3.540',
      missingWalletCode: 'wallet_not_found',
    });
  });
});
