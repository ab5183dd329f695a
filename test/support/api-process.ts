import { ChildProcess, spawn } from 'node:child_process';
import type { TestApp } from './app.js';
import { freePort } from './ports.js';

/** The environment of a built API process on `t`'s database, Redis and queue prefix. */
export function apiEnv(t: TestApp, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: t.config.DATABASE_URL,
    REDIS_URL: t.config.REDIS_URL,
    QUEUE_PREFIX: t.config.QUEUE_PREFIX,
    RUN_WORKER: 'false',
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

/** Polls /health/live for up to `tries` x 100 ms (a loaded CI machine starts Node slowly); false if it never answered or `proc` exited. */
export async function waitLive(url: string, proc?: ChildProcess, tries = 300): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const up = await fetch(`${url}/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return true;
    if (proc && proc.exitCode !== null) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** The built API (dist/apps/api) as its own process, so that a test can kill it; resolves once it is live. */
export async function spawnApi(
  t: TestApp,
  extra: Record<string, string> = {},
  port?: number,
): Promise<{ url: string; proc: ChildProcess }> {
  const p = port ?? (await freePort());
  const proc = spawn(process.execPath, ['dist/apps/api/src/main.js'], { env: apiEnv(t, { PORT: String(p), ...extra }), stdio: 'ignore' });
  const url = `http://127.0.0.1:${p}`;
  if (!(await waitLive(url, proc))) {
    proc.kill('SIGKILL');
    throw new Error('API process did not start');
  }
  return { url, proc };
}
