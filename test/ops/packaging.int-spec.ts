import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '@app/common';

/**
 * The Dockerfile and docker-compose.yml, read as files: no Docker engine runs
 * here, so this checks their shape (issue 14's packaging list), not a build.
 */
const ROOT = new URL('../../', import.meta.url).pathname;
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

/** The Dockerfile's instructions by stage, continuation lines joined. */
function stages(text: string): { name: string; lines: string[] }[] {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: { name: string; lines: string[] }[] = [];
  for (const l of lines) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(l);
    if (from) out.push({ name: from[1] ?? `stage${out.length}`, lines: [] });
    else out.at(-1)?.lines.push(l);
  }
  return out;
}

describe('packaging', () => {
  it('builds in one stage and runs production dependencies only, as a non-root user, with a liveness HEALTHCHECK', () => {
    const s = stages(read('Dockerfile'));
    expect(s.length).toBeGreaterThanOrEqual(2);
    const [build, runtime] = [s[0], s[s.length - 1]];
    expect(build.lines).toContain('RUN npm run build');
    expect(runtime.lines.some((l) => /^RUN npm ci\b.*--omit=dev/.test(l))).toBe(true);
    expect(runtime.lines.some((l) => /^RUN npm ci\b/.test(l) && !l.includes('--omit=dev'))).toBe(false);
    expect(runtime.lines.some((l) => /^COPY --from=build .*dist/.test(l))).toBe(true);
    const user = runtime.lines.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|$)/);
    const health = runtime.lines.find((l) => l.startsWith('HEALTHCHECK'));
    expect(health).toContain('/health/live');
    expect(runtime.lines.at(-1)).toBe('CMD ["node", "dist/apps/api/src/main.js"]');
    // Everything the build stage copies exists.
    for (const l of build.lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from')))
      for (const src of l.split(/\s+/).slice(1, -1)) expect([src, existsSync(join(ROOT, src))]).toEqual([src, true]);
  });

  it('composes with healthchecks, healthy dependencies, named volumes, no host ports for PostgreSQL and Redis, and file secrets', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true });
    const services = compose.services as Record<string, any>;
    expect(Object.keys(services).sort()).toEqual(['api', 'postgres', 'redis', 'worker']);
    for (const [name, svc] of Object.entries(services)) {
      expect([name, Array.isArray(svc.healthcheck?.test)]).toEqual([name, true]);
      expect([name, svc.restart]).toEqual([name, 'unless-stopped']);
    }
    expect(services.postgres.ports).toBeUndefined();
    expect(services.redis.ports).toBeUndefined();
    expect(services.api.ports).toEqual(['3000:3000']);
    for (const name of ['api', 'worker']) {
      const deps = services[name].depends_on as Record<string, { condition: string }>;
      expect([name, deps.postgres?.condition, deps.redis?.condition]).toEqual([name, 'service_healthy', 'service_healthy']);
    }
    // Every volume a service mounts by name is declared, and data lives on named volumes.
    const declared = Object.keys(compose.volumes as object);
    for (const [name, svc] of Object.entries(services))
      for (const v of (svc.volumes ?? []) as string[]) expect([name, v, declared.includes(v.split(':')[0])]).toEqual([name, v, true]);
    expect(services.postgres.volumes).toEqual(['pgdata:/var/lib/postgresql/data']);
    expect(services.redis.volumes).toEqual(['redisdata:/data']);

    // Secrets: files, no password in the environment, and the example files exist.
    expect(services.postgres.environment.POSTGRES_PASSWORD).toBeUndefined();
    expect(services.api.environment.DATABASE_URL).toBeUndefined();
    expect(services.api.environment.DATABASE_URL_FILE).toBe('/run/secrets/database_url');
    for (const [name, secret] of Object.entries(compose.secrets as Record<string, { file: string }>)) {
      const file = secret.file.replace('${SECRETS_DIR:-./deploy/secrets.example}', 'deploy/secrets.example');
      expect([name, existsSync(join(ROOT, file))]).toEqual([name, true]);
    }
    for (const svc of ['api', 'worker'])
      for (const s of services[svc].secrets as string[]) expect([svc, s, s in compose.secrets]).toEqual([svc, s, true]);
  });

  it('the example secrets configure the service as compose passes them (NAME_FILE)', () => {
    const dir = join(ROOT, 'deploy/secrets.example');
    const c = loadConfig({
      DATABASE_URL_FILE: join(dir, 'database_url'),
      WEBHOOK_SIGNING_SECRET_FILE: join(dir, 'webhook_signing_secret'),
      STRIPE_SECRET_KEY_FILE: join(dir, 'stripe_secret_key'),
      STRIPE_WEBHOOK_SECRET_FILE: join(dir, 'stripe_webhook_secret'),
    });
    expect(c.DATABASE_URL).toBe('postgres://postgres:postgres@postgres:5432/token_wallet');
    expect(c.DATABASE_URL).toContain(read('deploy/secrets.example/postgres_password').trim());
    // Empty files: Stripe stays unconfigured (503 stripe_not_configured), not configured with "".
    expect(c.STRIPE_SECRET_KEY).toBeUndefined();
  });
});
