import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, startApp, TestApp } from '../support/app.js';

describe('wallets over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('creates a wallet with the weekly free grant, then fetches it', async () => {
    const first = await call(t, 'PUT', '/v1/wallets/user_1');
    expect(first.status).toBe(201);
    expect(first.body.balance).toEqual({ available: '15.000', held: '0.000' });
    expect(first.body.buckets).toHaveLength(1);
    expect(first.body.buckets[0]).toMatchObject({ source: 'free_weekly', granted: '15.000', remaining: '15.000' });
    const again = await call(t, 'PUT', '/v1/wallets/user_1');
    expect(again.status).toBe(200);
    expect(again.body.balance.available).toBe('15.000');
    const got = await call(t, 'GET', '/v1/wallets/user_1');
    expect(got.status).toBe(200);
    expect(got.body.owner_id).toBe('user_1');
  });

  it('answers problem+json for unknown wallets, bad owner ids and missing keys', async () => {
    const missing = await call(t, 'GET', '/v1/wallets/nobody');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(missing.body).toMatchObject({ status: 404, code: 'wallet_not_found' });
    const bad = await call(t, 'PUT', '/v1/wallets/has%20space');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_error');
    const anon = await call(t, 'GET', '/v1/wallets/user_1', undefined, { key: null });
    expect(anon.status).toBe(401);
    expect(anon.body.code).toBe('unauthorized');
    const wrong = await call(t, 'GET', '/v1/wallets/user_1', undefined, { key: 'tw_gw_notarealkeyatall' });
    expect(wrong.status).toBe(401);
  });
});
