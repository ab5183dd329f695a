import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';

describe('reservations over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  const wallet = async (owner: string) => expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
  const reserve = (owner: string, body: unknown, idem = idemKey()) => call(t, 'POST', `/v1/wallets/${owner}/reservations`, body, { idem });

  it('reserves by amount, settles part, and returns the rest to the wallet', async () => {
    await wallet('settle_partial');
    const r = await reserve('settle_partial', { amount: '5.000', ref: 'req-1' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ owner_id: 'settle_partial', status: 'pending', reserved: '5.000', settled: '0.000', released: '0.000' });
    expect(r.body.id).toMatch(/^res_[0-9a-f]{32}$/);
    let w = await call(t, 'GET', '/v1/wallets/settle_partial');
    expect(w.body.balance).toEqual({ available: '10.000', held: '5.000' });
    const s = await call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, { amount: '3.540' }, { idem: idemKey() });
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ status: 'settled', settled: '3.540', released: '1.460' });
    w = await call(t, 'GET', '/v1/wallets/settle_partial');
    expect(w.body.balance).toEqual({ available: '11.460', held: '0.000' });
    const got = await call(t, 'GET', `/v1/reservations/${r.body.id}`);
    expect(got.body.status).toBe('settled');
    const tx = await call(t, 'GET', '/v1/wallets/settle_partial/transactions?limit=2');
    expect(tx.body.data.map((d: { type: string }) => d.type)).toEqual(['settle', 'reserve']);
    expect(tx.body.data.map((d: { amount: string }) => d.amount)).toEqual(['1.460', '-5.000']);
    // A hold's end says what it charged and released; any other transfer says null.
    expect(tx.body.data.map((d: { charged: string | null; released: string | null }) => [d.charged, d.released])).toEqual([
      ['3.540', '1.460'],
      [null, null],
    ]);
    const next = await call(t, 'GET', `/v1/wallets/settle_partial/transactions?limit=2&cursor=${tx.body.next_cursor}`);
    expect(next.body.data.map((d: { type: string }) => d.type)).toEqual(['grant']);
    expect(next.body.next_cursor).toBeNull();
  });

  it('reserves by variant x quantity at the current price version', async () => {
    await wallet('by_variant');
    const r = await reserve('by_variant', { variant: 'gpt-image-1-min', quantity: 2 });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ reserved: '7.080', variant: 'gpt-image-1-min', quantity: 2, price_version: 1 });
    const rel = await call(t, 'POST', `/v1/reservations/${r.body.id}/release`, undefined, { idem: idemKey() });
    expect(rel.status).toBe(200);
    expect(rel.body).toMatchObject({ status: 'released', settled: '0.000', released: '7.080' });
    const [end] = (await call(t, 'GET', '/v1/wallets/by_variant/transactions?limit=1')).body.data;
    expect(end).toMatchObject({ type: 'release', amount: '7.080', charged: '0.000', released: '7.080' });
    const w = await call(t, 'GET', '/v1/wallets/by_variant');
    expect(w.body.balance).toEqual({ available: '15.000', held: '0.000' });
  });

  it('refuses what the wallet cannot pay, and bad requests, changing nothing', async () => {
    await wallet('refusals');
    const tooMuch = await reserve('refusals', { amount: '15.001' });
    expect(tooMuch.status).toBe(402);
    expect(tooMuch.body.code).toBe('insufficient_funds');
    expect(tooMuch.body.detail).toContain('15.000 tokens available');
    for (const body of [
      { amount: '1.0001' },
      { amount: '1e3' },
      '{"amount": 1e3}',
      // Digits a double drops: read as 0.001 and 1 they would pass the three-decimals rule.
      '{"amount": 0.00099999999999999999}',
      '{"amount": 1.0000000000000001}',
      { amount: -1 },
      { amount: 'NaN' },
      {},
      { amount: '1', variant: 'gpt-image-1-min', quantity: 1 },
      { variant: 'gpt-image-1-min' },
      { amount: '1', surprise: true },
      { amount: '1', expires_in: 86_401 },
    ]) {
      const r = await reserve('refusals', body);
      expect([r.status, r.body.code, JSON.stringify(body)]).toEqual([400, 'validation_error', JSON.stringify(body)]);
    }
    expect((await reserve('refusals', { variant: 'no-such-variant', quantity: 1 })).body.code).toBe('variant_not_found');
    expect((await reserve('nobody_here', { amount: '1' })).status).toBe(404);
    const noKey = await call(t, 'POST', '/v1/wallets/refusals/reservations', { amount: '1' });
    expect([noKey.status, noKey.body.errors?.[0]?.field]).toEqual([400, 'Idempotency-Key']);
    const malformed = await call(t, 'POST', '/v1/wallets/refusals/reservations', '{"amount": ', { idem: idemKey() });
    expect([malformed.status, malformed.body.code]).toEqual([400, 'malformed_json']);
    const w = await call(t, 'GET', '/v1/wallets/refusals');
    expect(w.body.balance).toEqual({ available: '15.000', held: '0.000' });
  });

  it('refuses to settle more than reserved, twice, or after release', async () => {
    await wallet('settle_rules');
    const r = await reserve('settle_rules', { amount: '2' });
    const over = await call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, { amount: '2.001' }, { idem: idemKey() });
    expect([over.status, over.body.code]).toEqual([422, 'amount_exceeds_reservation']);
    // 1.99999999999999999 is 2 as a double: refused as sent, not settled as 2.000.
    const inexact = await call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, '{"amount": 1.99999999999999999}', { idem: idemKey() });
    expect([inexact.status, inexact.body.code]).toEqual([400, 'validation_error']);
    expect((await call(t, 'GET', `/v1/reservations/${r.body.id}`)).body.status).toBe('pending');
    expect((await call(t, 'POST', `/v1/reservations/${r.body.id}/release`, undefined, { idem: idemKey() })).status).toBe(200);
    const again = await call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, undefined, { idem: idemKey() });
    expect([again.status, again.body.code]).toEqual([409, 'reservation_not_pending']);
    const unknown = await call(t, 'POST', `/v1/reservations/res_0000/settle`, undefined, { idem: idemKey() });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'reservation_not_found']);
  });

  it('replays an Idempotency-Key with the same body and refuses it with another', async () => {
    await wallet('idem_seq');
    const key = idemKey();
    const a = await reserve('idem_seq', { amount: '1' }, key);
    const b = await reserve('idem_seq', { amount: '1' }, key);
    expect(b.status).toBe(a.status);
    expect(b.text).toBe(a.text);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const c = await reserve('idem_seq', { amount: '2' }, key);
    expect([c.status, c.body.code]).toEqual([409, 'idempotency_key_reused']);
    const w = await call(t, 'GET', '/v1/wallets/idem_seq');
    expect(w.body.balance).toEqual({ available: '14.000', held: '1.000' });
  });
});
