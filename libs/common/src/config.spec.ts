import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('applies the defaults of the spec', () => {
    const c = loadConfig({});
    expect(c.REDIS_URL).toBeUndefined();
    expect(c.REDIS_PROBE_URL).toBe('redis://127.0.0.1:6379');
    expect([c.EMBEDDED_REDIS_DIR, c.EMBEDDED_REDIS_PORT]).toEqual(['.data/redis', 56379]);
    expect(c.PORT).toBe(3000);
    expect(c.RUN_WORKER).toBe(true);
    expect(c.freeWeeklyMt).toBe(15_000n);
    expect(c.DATABASE_URL).toBeUndefined();
  });

  it('reads and converts given values', () => {
    const c = loadConfig({ PORT: '8080', RUN_WORKER: 'false', FREE_WEEKLY_TOKENS: '0', DATABASE_URL: 'postgres://u@db:5432/x' });
    expect([c.PORT, c.RUN_WORKER, c.freeWeeklyMt, c.DATABASE_URL]).toEqual([8080, false, 0n, 'postgres://u@db:5432/x']);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['RUN_WORKER', 'maybe'],
    ['FREE_WEEKLY_TOKENS', '1.0001'],
    ['FREE_WEEKLY_TOKENS', '-5'],
    ['REDIS_URL', 'localhost:6379'],
    ['REDIS_PROBE_URL', 'http://127.0.0.1:6379'],
    ['EMBEDDED_REDIS_PORT', '0'],
    ['DATABASE_URL', 'mysql://x'],
    ['PROVIDER_MODE', 'mock'],
    ['RESERVATION_DEFAULT_TTL_S', '0'],
    ['REDIS_URL', 'redis://a:1,b:2'],
    ['REDIS_URL', 'redis+cluster://a:1,b:99999'],
    ['REDIS_URL', 'redis+cluster://a:1/2'],
    ['REDIS_CLUSTER_NODES', 'a:1,,b:x'],
    ['DATABASE_READ_URL', 'mysql://x'],
    ['DATABASE_PREPARED_STATEMENTS', 'sometimes'],
  ])('stops on %s=%s and names it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('reads a secret from NAME_FILE (compose secrets), the variable itself winning, and names an unreadable file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-secrets-'));
    writeFileSync(join(dir, 'stripe'), 'sk_test_from_file\n');
    writeFileSync(join(dir, 'db'), 'postgres://u:p@db:5432/x\n');
    const c = loadConfig({ STRIPE_SECRET_KEY_FILE: join(dir, 'stripe'), DATABASE_URL_FILE: join(dir, 'db') });
    expect([c.STRIPE_SECRET_KEY, c.DATABASE_URL]).toEqual(['sk_test_from_file', 'postgres://u:p@db:5432/x']);
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_env', STRIPE_SECRET_KEY_FILE: join(dir, 'stripe') }).STRIPE_SECRET_KEY).toBe('sk_env');
    expect(() => loadConfig({ OPENAI_API_KEY_FILE: join(dir, 'missing') })).toThrow(/OPENAI_API_KEY_FILE=.*cannot read it \(ENOENT\)/);
  });

  it('takes a Redis Cluster as redis+cluster:// or REDIS_CLUSTER_NODES, with a hash-tagged queue prefix', () => {
    const c = loadConfig({ REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7001' });
    expect([c.REDIS_URL, c.QUEUE_PREFIX]).toEqual(['redis+cluster://10.0.0.1:7000,10.0.0.2:7001', '{tw}']);
    const n = loadConfig({ REDIS_CLUSTER_NODES: 'h1:7000, h2:7001', QUEUE_PREFIX: 'prod:{tw}' });
    expect([n.REDIS_URL, n.QUEUE_PREFIX]).toEqual(['redis+cluster://h1:7000,h2:7001', 'prod:{tw}']);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://h1:7000', QUEUE_PREFIX: 'tw' })).toThrow(/QUEUE_PREFIX="tw": .*hash tag/);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://h1:7000', QUEUE_PREFIX: '{}tw' })).toThrow(/QUEUE_PREFIX/);
    expect(() => loadConfig({ REDIS_URL: 'redis://h1:6379', REDIS_CLUSTER_NODES: 'h1:7000' })).toThrow(/not both/);
    // One server keeps the plain prefix.
    expect(loadConfig({ REDIS_URL: 'redis://h1:6379/2' }).QUEUE_PREFIX).toBe('tw');
  });

  it('never echoes a Redis password in a config error', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://u:s3cret@h1:7000,h2:x' })).toThrow(/REDIS_URL=/);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://u:s3cret@h1:7000,h2:x' })).not.toThrow(/s3cret/);
  });

  it('reads the replica URL and the prepared-statement switch', () => {
    expect([loadConfig({}).DATABASE_PREPARED_STATEMENTS, loadConfig({}).DATABASE_READ_URL]).toEqual([true, undefined]);
    const c = loadConfig({ DATABASE_READ_URL: 'postgres://u@replica:5432/x', DATABASE_PREPARED_STATEMENTS: 'false' });
    expect([c.DATABASE_READ_URL, c.DATABASE_PREPARED_STATEMENTS]).toEqual(['postgres://u@replica:5432/x', false]);
  });
});
