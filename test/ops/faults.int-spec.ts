import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyService } from '@app/common';
import { randomBytes } from 'node:crypto';
import { spawnApi } from '../support/api-process.js';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';

describe('fault drills', () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await startApp();
    key = (await t.app.get(ApiKeyService).create('drills', 'gateway')).key;
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  /** The built API as its own process, so it can be killed. */
  const apiProcess = () => spawnApi(t);

  const reserve = (url: string, owner: string, idem: string, amount = '0.100') =>
    fetch(`${url}/v1/wallets/${owner}/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idem },
      body: JSON.stringify({ amount }),
    }).then(
      async (r) => ({ status: r.status, body: (await r.json()) as { id?: string } }),
      () => null,
    );

  it('a flood of malformed requests is answered 4xx and changes nothing', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/fuzzed')).status).toBe(201);
    const before = (await call(t, 'GET', '/v1/wallets/fuzzed')).body.balance;
    const bodies = [
      () => randomBytes(64).toString('latin1'),
      () => '{"amount":',
      () => JSON.stringify({ amount: 1e308 }),
      () => '{"amount": 1e2}',
      () => JSON.stringify({ amount: ['1'] }),
      () => JSON.stringify({ amount: { $gt: 0 } }),
      () => JSON.stringify({ amount: '1', metadata: 'x'.repeat(10_000) }),
      () => JSON.stringify({ amount: '-0.001' }),
      () => JSON.stringify({ amount: '0.0001' }),
      () => JSON.stringify({ variant: '../../etc/passwd', quantity: 1 }),
      () => JSON.stringify({ variant: 'gpt-image-1-min', quantity: 1e9 }),
      () => '{"amount":"1","__proto__":{"admin":true}}',
      () => 'null',
      () => '[]',
      () => '"just a string"',
    ];
    const headers = [
      (h: Record<string, string>) => ({ ...h, authorization: 'Bearer ' + 'x'.repeat(500) }),
      (h: Record<string, string>) => ({ ...h, authorization: 'Basic Zm9vOmJhcg==' }),
      (h: Record<string, string>) => ({ ...h, 'idempotency-key': 'é'.repeat(3) }),
      (h: Record<string, string>) => ({ ...h, 'idempotency-key': 'k'.repeat(300) }),
      (h: Record<string, string>) => ({ ...h, 'content-type': 'text/plain' }),
      (h: Record<string, string>) => h,
    ];
    const requests = Array.from({ length: 300 }, (_, i) => {
      const h = headers[i % headers.length]({
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'idempotency-key': `fuzz-${i}`,
      });
      const path = i % 7 === 0 ? `/v1/reservations/res_${randomBytes(4).toString('hex')}/settle` : '/v1/wallets/fuzzed/reservations';
      return fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: h, body: bodies[i % bodies.length]() }).then((r) => r.status);
    });
    const statuses = await Promise.all(requests);
    const bad = statuses.filter((s) => s < 400 || s >= 500);
    expect(bad).toEqual([]);
    expect((await call(t, 'GET', '/v1/wallets/fuzzed')).body.balance).toEqual(before);
  });

  it('the API killed with SIGKILL mid-request: retries with the same keys give one effect each', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/killed')).status).toBe(201);
    const first = await apiProcess();
    const keys = Array.from({ length: 60 }, () => idemKey('kill'));
    const inFlight = keys.map((k) => reserve(first.url, 'killed', k));
    await new Promise((r) => setTimeout(r, 40));
    first.proc.kill('SIGKILL');
    const before = await Promise.all(inFlight);
    const second = await apiProcess();
    try {
      const retried = await Promise.all(keys.map((k) => reserve(second.url, 'killed', k)));
      expect(retried.every((r) => r?.status === 201)).toBe(true);
      // A response that did arrive before the kill is the one the retry replays.
      for (const [i, b] of before.entries()) if (b?.status === 201) expect(retried[i]?.body.id).toBe(b.body.id);
      const again = await Promise.all(keys.map((k) => reserve(second.url, 'killed', k)));
      expect(again.map((r) => r?.body.id)).toEqual(retried.map((r) => r?.body.id));
      expect(new Set(retried.map((r) => r?.body.id)).size).toBe(60);
      expect((await call(t, 'GET', '/v1/wallets/killed')).body.balance).toEqual({ available: '9.000', held: '6.000' });
    } finally {
      second.proc.kill('SIGTERM');
      await new Promise((r) => second.proc.once('exit', r));
    }
  });

  it('SIGTERM drains in-flight requests and exits cleanly, with nothing half-applied', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/drained')).status).toBe(201);
    const api = await apiProcess();
    const inFlight = Array.from({ length: 30 }, () => reserve(api.url, 'drained', idemKey('drain'), '0.200'));
    await new Promise((r) => setTimeout(r, 20));
    api.proc.kill('SIGTERM');
    const results = await Promise.all(inFlight);
    const code = await new Promise<number | null>((r) =>
      api.proc.exitCode !== null ? r(api.proc.exitCode) : api.proc.once('exit', (c) => r(c)),
    );
    expect(code).toBe(0);
    const answered = results.filter((r) => r !== null);
    expect(answered.every((r) => r.status === 201)).toBe(true);
    const held = (await call(t, 'GET', '/v1/wallets/drained')).body.balance.held;
    // Every hold that exists was answered, or was refused a connection before it started: none is half-applied.
    expect(Number(held)).toBeCloseTo(answered.length * 0.2, 3);
    expect((await t.verify()).violations).toEqual([]);
  });
});
