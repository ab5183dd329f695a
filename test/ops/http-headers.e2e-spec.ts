import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';

/** Waits out the end of a rate-limit minute, so a run of requests falls in one window. */
async function awayFromWindowEnd(): Promise<void> {
  const left = 60 - (Math.floor(Date.now() / 1000) % 60);
  if (left <= 3) await new Promise((r) => setTimeout(r, left * 1000 + 100));
}

describe('HTTP details: Location, WWW-Authenticate, RateLimit-*', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ RATE_LIMIT_PER_MINUTE: '1000' });
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('a 201 names what it created in Location, a replay too; a 200 does not', async () => {
    const created = await call(t, 'PUT', '/v1/wallets/loc_user');
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/wallets/loc_user');
    const existed = await call(t, 'PUT', '/v1/wallets/loc_user');
    expect(existed.status).toBe(200);
    expect(existed.headers.get('location')).toBeNull();

    const idem = idemKey('loc');
    const r = await call(t, 'POST', '/v1/wallets/loc_user/reservations', { amount: '1.000' }, { idem });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`/v1/reservations/${r.body.id}`);
    expect((await call(t, 'GET', r.headers.get('location')!)).body).toEqual(r.body);
    const replay = await call(t, 'POST', '/v1/wallets/loc_user/reservations', { amount: '1.000' }, { idem });
    expect([replay.status, replay.headers.get('idempotent-replayed'), replay.headers.get('location')]).toEqual([
      201,
      'true',
      r.headers.get('location'),
    ]);
    const settled = await call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, undefined, { idem: idemKey('loc-s') });
    expect([settled.status, settled.headers.get('location')]).toEqual([200, null]);

    const grant = await call(
      t,
      'POST',
      '/v1/admin/wallets/loc_user/grants',
      { amount: '2.000', reason: 'location test' },
      { key: t.adminKey, idem: idemKey('loc-g') },
    );
    expect([grant.status, grant.headers.get('location')]).toEqual([201, '/v1/admin/wallets/loc_user']);
  });

  it('a 202 generation points at where its progress is read', async () => {
    const g = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'loc_user', model: 'models/openai/gpt-image', prompt: 'a lighthouse' },
      { idem: idemKey('loc-gen') },
    );
    expect(g.status).toBe(202);
    expect(g.headers.get('location')).toBe(`/v1/generations/${g.body.id}`);
    expect((await call(t, 'GET', g.headers.get('location')!)).body.id).toBe(g.body.id);
  });

  it('a 401 says the scheme in WWW-Authenticate, with or without a key', async () => {
    for (const key of [null, 'tw_gw_not_a_real_key_000000']) {
      const res = await call(t, 'GET', '/v1/prices', undefined, { key });
      expect([res.status, res.body.code, res.headers.get('www-authenticate')]).toEqual([
        401,
        'unauthorized',
        'Bearer realm="token-wallet"',
      ]);
    }
    // Other errors do not carry it.
    expect((await call(t, 'GET', '/v1/wallets/nobody_here')).headers.get('www-authenticate')).toBeNull();
  });

  it('keyed routes carry RateLimit-Limit, -Remaining and -Reset; public ones do not', async () => {
    await awayFromWindowEnd();
    const a = await call(t, 'GET', '/v1/prices');
    const b = await call(t, 'GET', '/v1/prices');
    expect(a.headers.get('ratelimit-limit')).toBe('1000');
    const remaining = [a, b].map((r) => Number(r.headers.get('ratelimit-remaining')));
    expect(remaining[1]).toBe(remaining[0] - 1);
    const reset = Number(b.headers.get('ratelimit-reset'));
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(60);
    const live = await call(t, 'GET', '/health/live', undefined, { key: null });
    expect(live.headers.get('ratelimit-limit')).toBeNull();
  });
});

describe('RateLimit-* on the 429', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ RATE_LIMIT_PER_MINUTE: '2' });
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('counts down to 0 and then answers 429 with Retry-After equal to RateLimit-Reset', async () => {
    await awayFromWindowEnd();
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const r = await call(t, 'GET', '/v1/prices');
      seen.push([r.status, r.headers.get('ratelimit-limit'), r.headers.get('ratelimit-remaining')]);
      if (r.status === 429) expect(r.headers.get('retry-after')).toBe(r.headers.get('ratelimit-reset'));
    }
    expect(seen).toEqual([
      [200, '2', '1'],
      [200, '2', '0'],
      [429, '2', '0'],
    ]);
  });
});
