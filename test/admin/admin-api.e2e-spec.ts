import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from '../generation/support.js';

describe('admin API', () => {
  let t: TestApp;
  let genId: string;
  const admin = (method: string, path: string, body?: unknown, idem: string | undefined = idemKey('adm')) =>
    call(t, method, path, body, { key: t.adminKey, idem });
  const balance = async (owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body.balance;

  beforeAll(async () => {
    t = await startApp(generationEnv());
    for (const o of ['adm_a', 'adm_b']) expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
    const g = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'adm_a', model: 'models/openai/gpt-image', prompt: 'two foxes', n: 2 },
      { idem: idemKey() },
    );
    genId = g.body.id;
    expect((await waitFinished(t, `/v1/generations/${genId}`)).tokens_used).toBe('7.080');
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('grants tokens with a reason and an optional expiry, idempotently', async () => {
    const key = idemKey('grant');
    const r = await admin('POST', '/v1/admin/wallets/adm_a/grants', { amount: '10', reason: 'goodwill for ticket 42' }, key);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      owner_id: 'adm_a',
      amount: '10.000',
      expires_at: null,
      balance: { available: '17.920', held: '0.000' },
    });
    const again = await admin('POST', '/v1/admin/wallets/adm_a/grants', { amount: '10', reason: 'goodwill for ticket 42' }, key);
    expect(again.text).toBe(r.text);
    const expiring = await admin('POST', '/v1/admin/wallets/adm_b/grants', {
      amount: '2.5',
      reason: 'promo',
      expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(expiring.status).toBe(201);
    expect(await balance('adm_a')).toEqual({ available: '17.920', held: '0.000' });
  });

  it('refunds a generation in part and then the rest, never more than charged', async () => {
    const part = await admin('POST', `/v1/admin/generations/${genId}/refund`, { amount: '3.540', reason: 'one image was blank' });
    expect(part.status).toBe(201);
    expect(part.body).toMatchObject({ generation_id: genId, amount: '3.540', refunded_total: '3.540' });
    // Paid from this week's free tokens, so the refund keeps their expiry.
    const w = await call(t, 'GET', '/v1/wallets/adm_a');
    const free = w.body.buckets.find((b: { source: string }) => b.source === 'free_weekly');
    expect(part.body.expires_at).toBe(free.expires_at);
    const over = await admin('POST', `/v1/admin/generations/${genId}/refund`, { amount: '3.541', reason: 'again' });
    expect([over.status, over.body.code]).toEqual([422, 'refund_exceeds_charge']);
    const rest = await admin('POST', `/v1/admin/generations/${genId}/refund`, { reason: 'the other one too' });
    expect(rest.body).toMatchObject({ amount: '3.540', refunded_total: '7.080' });
    const none = await admin('POST', `/v1/admin/generations/${genId}/refund`, { reason: 'nothing left' });
    expect([none.status, none.body.code]).toEqual([422, 'refund_exceeds_charge']);
    expect((await admin('POST', '/v1/admin/generations/gen_nope/refund', { reason: 'x' })).body.code).toBe('generation_not_found');
    const detail = await call(t, 'GET', '/v1/admin/wallets/adm_a', undefined, { key: t.adminKey });
    expect(detail.body.generations[0]).toMatchObject({ id: genId, tokens_used: '7.080', refunded: '7.080' });
  });

  it('adjusts up and down, never taking a bucket below zero', async () => {
    const up = await admin('POST', '/v1/admin/wallets/adm_b/adjustments', { amount: '1.250', reason: 'correction' });
    expect(up.body).toMatchObject({ amount: '1.250', balance: { available: '18.750' } });
    const down = await admin('POST', '/v1/admin/wallets/adm_b/adjustments', { amount: '-18.000', reason: 'duplicate grant' });
    expect(down.status).toBe(201);
    expect(down.body.balance.available).toBe('0.750');
    const tooFar = await admin('POST', '/v1/admin/wallets/adm_b/adjustments', { amount: '-0.751', reason: 'too far' });
    expect([tooFar.status, tooFar.body.code]).toEqual([422, 'adjustment_exceeds_balance']);
    expect(await balance('adm_b')).toEqual({ available: '0.750', held: '0.000' });
  });

  it('freezes and unfreezes spending', async () => {
    expect((await admin('POST', '/v1/admin/wallets/adm_b/freeze', { reason: 'fraud review' })).body).toEqual({
      owner_id: 'adm_b',
      status: 'frozen',
    });
    const r = await call(t, 'POST', '/v1/wallets/adm_b/reservations', { amount: '0.5' }, { idem: idemKey() });
    expect([r.status, r.body.code]).toEqual([423, 'wallet_frozen']);
    expect((await admin('POST', '/v1/admin/wallets/adm_b/unfreeze', { reason: 'cleared' })).body.status).toBe('active');
    expect((await call(t, 'POST', '/v1/wallets/adm_b/reservations', { amount: '0.5' }, { idem: idemKey() })).status).toBe(201);
  });

  it('changes a price as a new version; reservations keep the version they were priced at', async () => {
    const before = await call(
      t,
      'POST',
      '/v1/wallets/adm_a/reservations',
      { variant: 'gpt-image-2-cloudflare', quantity: 1 },
      { idem: idemKey() },
    );
    expect(before.body).toMatchObject({ reserved: '0.850', price_version: 1 });
    const p = await admin('PUT', '/v1/admin/prices/gpt-image-2-cloudflare', { tokens: '0.900', reason: 'provider raised prices' });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ variant: 'gpt-image-2-cloudflare', tokens: '0.900', usd: '0.090', version: 2 });
    const after = await call(
      t,
      'POST',
      '/v1/wallets/adm_a/reservations',
      { variant: 'gpt-image-2-cloudflare', quantity: 1 },
      { idem: idemKey() },
    );
    expect(after.body).toMatchObject({ reserved: '0.900', price_version: 2 });
    expect((await call(t, 'GET', `/v1/reservations/${before.body.id}`)).body.price_version).toBe(1);
  });

  it('refuses bad input with problem+json and changes nothing', async () => {
    const cases: [string, unknown, number, string, string?][] = [
      ['/v1/admin/wallets/adm_a/grants', { amount: '5' }, 400, 'validation_error', 'reason'],
      ['/v1/admin/wallets/adm_a/grants', { amount: '5', reason: '' }, 400, 'validation_error', 'reason'],
      ['/v1/admin/wallets/adm_a/grants', { amount: '5', reason: '   ' }, 400, 'validation_error', 'reason'],
      ['/v1/admin/wallets/adm_a/freeze', { reason: ' \t ' }, 400, 'validation_error', 'reason'],
      ['/v1/admin/wallets/adm_a/grants', { amount: '-5', reason: 'x' }, 400, 'validation_error', 'amount'],
      ['/v1/admin/wallets/adm_a/grants', { amount: '1.0001', reason: 'x' }, 400, 'validation_error', 'amount'],
      // 0.001 once a double: refused as sent.
      ['/v1/admin/wallets/adm_a/grants', '{"amount": 0.00099999999999999999, "reason": "x"}', 400, 'validation_error'],
      ['/v1/admin/wallets/adm_a/adjustments', '{"amount": -1.0000000000000001, "reason": "x"}', 400, 'validation_error'],
      [
        '/v1/admin/wallets/adm_a/grants',
        { amount: '1', reason: 'x', expires_at: '2020-01-01T00:00:00Z' },
        400,
        'validation_error',
        'expires_at',
      ],
      ['/v1/admin/wallets/adm_a/adjustments', { amount: '0', reason: 'x' }, 400, 'validation_error', 'amount'],
      ['/v1/admin/wallets/adm_a/freeze', {}, 400, 'validation_error', 'reason'],
      ['/v1/admin/wallets/nobody_here/grants', { amount: '1', reason: 'x' }, 404, 'wallet_not_found'],
      ['/v1/admin/generations/' + 'gen_x/refund', { amount: '1.0001', reason: 'x' }, 400, 'validation_error', 'amount'],
    ];
    const before = await balance('adm_a');
    for (const [path, body, status, code, field] of cases) {
      const r = await admin('POST', path, body);
      expect([path, r.status, r.body.code]).toEqual([path, status, code]);
      if (field) expect(r.body.errors?.[0]?.field).toBe(field);
    }
    const gateway = await call(t, 'POST', '/v1/admin/wallets/adm_a/grants', { amount: '1', reason: 'x' }, { idem: idemKey() });
    expect([gateway.status, gateway.body.code]).toEqual([403, 'forbidden']);
    expect((await call(t, 'GET', '/v1/admin/audit-log')).status).toBe(403);
    const noKey = await call(t, 'POST', '/v1/admin/wallets/adm_a/grants', { amount: '1', reason: 'x' }, { key: t.adminKey });
    expect(noKey.status).toBe(400);
    expect(await balance('adm_a')).toEqual(before);
  });

  it('keeps an audit log with the actor, filters and pagination', async () => {
    const all = await call(t, 'GET', '/v1/admin/audit-log?limit=3', undefined, { key: t.adminKey });
    expect(all.status).toBe(200);
    expect(all.body.data).toHaveLength(3);
    expect(all.body.data[0].actor).toBe('test-admin');
    const next = await call(t, 'GET', `/v1/admin/audit-log?limit=3&cursor=${all.body.next_cursor}`, undefined, { key: t.adminKey });
    expect(Number(next.body.data[0].id)).toBeLessThan(Number(all.body.data[2].id));
    const refunds = await call(t, 'GET', `/v1/admin/audit-log?action=refund&target_id=${genId}`, undefined, { key: t.adminKey });
    expect(refunds.body.data.map((e: { reason: string; amount: string }) => [e.reason, e.amount])).toEqual([
      ['the other one too', '3.540'],
      ['one image was blank', '3.540'],
    ]);
    const grants = await call(t, 'GET', '/v1/admin/audit-log?action=grant&target_id=adm_a', undefined, { key: t.adminKey });
    expect(grants.body.data).toHaveLength(1);
    expect(grants.body.data[0]).toMatchObject({
      action: 'grant',
      target_type: 'wallet',
      amount: '10.000',
      reason: 'goodwill for ticket 42',
    });
  });

  it('reports tokens granted, spent and refunded, and dollars by variant; exports a CSV statement', async () => {
    const r = await call(t, 'GET', '/v1/admin/reports/summary', undefined, { key: t.adminKey });
    expect(r.status).toBe(200);
    // Two weekly grants (30) + admin grants 10 + 2.5.
    expect(r.body.tokens).toMatchObject({ granted: '42.500', spent: '7.080', refunded: '7.080', sold: '0.000' });
    expect(r.body.usd_by_variant).toEqual([{ variant: 'gpt-image-1-min', tokens: '7.080', usd: '0.708' }]);
    const daily = await call(t, 'GET', '/v1/admin/reports/daily', undefined, { key: t.adminKey });
    expect(daily.body.data.at(-1)).toMatchObject({ spent: '7.080' });
    const csv = await call(t, 'GET', '/v1/wallets/adm_a/statement.csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe('created_at,transaction_id,type,amount,available_after,ref');
    expect(lines.slice(1).map((l) => l.split(',')[2])).toEqual(expect.arrayContaining(['grant', 'reserve', 'settle', 'refund']));
    const bad = await call(t, 'GET', '/v1/admin/reports/summary?from=2026-12-01T00:00:00Z&to=2026-01-01T00:00:00Z', undefined, {
      key: t.adminKey,
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_error']);
  });
});
