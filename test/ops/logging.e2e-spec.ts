import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from '../generation/support.js';

/** JSON logs with request ids, and never a key, a secret or a prompt in them. */
describe('logging', () => {
  let t: TestApp;
  const logs: string[] = [];
  beforeAll(async () => {
    t = await startApp(generationEnv({ LOG_LEVEL: 'debug' }), logs);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('logs each request as a JSON line with its id, and no key, prompt or metadata', async () => {
    const secretPrompt = `a portrait of SECRET-PROMPT-${idemKey()}`;
    expect((await call(t, 'PUT', '/v1/wallets/logged', undefined, { headers: { 'x-request-id': 'req-logged-1' } })).status).toBe(201);
    const g = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'logged', model: 'models/openai/gpt-image', prompt: secretPrompt, metadata: { note: 'META-SECRET' } },
      { idem: idemKey() },
    );
    await waitFinished(t, `/v1/generations/${g.body.id}`);
    await call(t, 'GET', '/v1/wallets/logged', undefined, { key: 'tw_gw_notarealbutsecretkey' });
    await fetch(`${t.baseUrl}/v1/stripe/webhook`, {
      method: 'POST',
      headers: { 'stripe-signature': 't=1,v1=SIGNATURE-SECRET' },
      body: '{}',
    });
    const text = logs.join('');
    expect(logs.length).toBeGreaterThan(5);
    for (const line of logs) expect(() => JSON.parse(line)).not.toThrow();
    expect(logs.some((l) => l.includes('"id":"req-logged-1"'))).toBe(true);
    for (const secret of [
      t.gatewayKey,
      t.adminKey,
      'tw_gw_notarealbutsecretkey',
      'SECRET-PROMPT',
      'META-SECRET',
      'SIGNATURE-SECRET',
      t.config.WEBHOOK_SIGNING_SECRET,
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('lists routes at debug only, skips health probes, and logs a 4xx at warn with its code and the key name', async () => {
    const parsed = () => logs.map((l) => JSON.parse(l) as Record<string, any>);
    // Nest's route listing and module loading: debug (20), never info.
    const mapped = parsed().filter((l) => typeof l.msg === 'string' && /Mapped \{/.test(l.msg));
    expect(mapped.length).toBeGreaterThan(20);
    expect(mapped.every((l) => l.level === 20)).toBe(true);
    expect(parsed().filter((l) => l.level >= 30 && ['RouterExplorer', 'RoutesResolver', 'InstanceLoader'].includes(l.context))).toEqual([]);

    const before = logs.length;
    const id = `req-probe-${idemKey()}`;
    await call(t, 'GET', '/health/live', undefined, { key: null, headers: { 'x-request-id': id } });
    await call(t, 'GET', '/health/ready', undefined, { key: null, headers: { 'x-request-id': id } });
    await call(t, 'GET', '/v1/wallets/never_made', undefined, { headers: { 'x-request-id': 'req-404' } });
    await call(t, 'GET', '/v1/prices', undefined, { key: 'tw_gw_unknownbutsecret', headers: { 'x-request-id': 'req-401' } });
    const lines = logs.slice(before).map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines.filter((l) => l.req?.id === id)).toEqual([]);
    const notFound = lines.find((l) => l.req?.id === 'req-404');
    expect(notFound).toMatchObject({ level: 40, code: 'wallet_not_found', key_name: 'test-gateway', res: { statusCode: 404 } });
    const unauthorized = lines.find((l) => l.req?.id === 'req-401');
    expect(unauthorized).toMatchObject({ level: 40, code: 'unauthorized', res: { statusCode: 401 } });
    expect(JSON.stringify(lines)).not.toContain('tw_gw_unknownbutsecret');
    expect(JSON.stringify(lines)).not.toContain(t.gatewayKey);
  });
});
