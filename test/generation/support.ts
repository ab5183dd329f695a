import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, TestApp } from '../support/app.js';

/** Env for an app that runs its worker against the in-process fake provider, with short retry delays. */
export function generationEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    RUN_WORKER: 'true',
    PROVIDER_MODE: 'fake',
    GENERATION_RETRY_BASE_MS: '20',
    GENERATION_TIMEOUT_MS: '5000',
    WEBHOOK_BACKOFF_BASE_MS: '50',
    ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
    STORAGE_DIR: mkdtempSync(join(tmpdir(), 'tw-images-')),
    ...extra,
  };
}

/** Polls a generation (or batch) until it is finished. */
export async function waitFinished(t: TestApp, path: string, timeoutMs = 30_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(t, 'GET', path);
    const s = r.body?.status;
    if (s === 'succeeded' || s === 'failed' || s === 'completed') return r.body;
    if (Date.now() > until) throw new Error(`${path} still ${s} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
