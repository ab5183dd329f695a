import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';

/** Truly parallel HTTP requests against one wallet, then the ledger invariants. */
describe('concurrency', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('200 parallel reservations of 1 token on a wallet of 15: exactly 15 succeed', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/race_200')).status).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 200 }, () => call(t, 'POST', '/v1/wallets/race_200/reservations', { amount: '1' }, { idem: idemKey('r200') })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(15);
    expect(statuses.filter((s) => s === 402)).toHaveLength(185);
    for (const r of results.filter((x) => x.status === 402)) expect(r.body.code).toBe('insufficient_funds');
    const w = await call(t, 'GET', '/v1/wallets/race_200');
    expect(w.body.balance).toEqual({ available: '0.000', held: '15.000' });
    expect(w.body.buckets.every((b: { remaining: string }) => !b.remaining.startsWith('-'))).toBe(true);
    const report = await t.verify();
    expect(report.violations).toEqual([]);
  });

  it('the same Idempotency-Key sent 20 times at once: one effect, identical responses', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/idem_20')).status).toBe(201);
    const key = idemKey('same');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call(t, 'POST', '/v1/wallets/idem_20/reservations', { amount: '2.500' }, { idem: key })),
    );
    expect(new Set(results.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    const w = await call(t, 'GET', '/v1/wallets/idem_20');
    expect(w.body.balance).toEqual({ available: '12.500', held: '2.500' });
    const tx = await call(t, 'GET', '/v1/wallets/idem_20/transactions?limit=100');
    expect(tx.body.data.filter((d: { type: string }) => d.type === 'reserve')).toHaveLength(1);
  });

  it('settle and release racing on one reservation: exactly one wins, every time', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/settle_race')).status).toBe(201);
    for (let round = 0; round < 10; round++) {
      const r = await call(t, 'POST', '/v1/wallets/settle_race/reservations', { amount: '1' }, { idem: idemKey('sr') });
      expect(r.status).toBe(201);
      const [settle, release, settle2] = await Promise.all([
        call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, { amount: '0.500' }, { idem: idemKey('s') }),
        call(t, 'POST', `/v1/reservations/${r.body.id}/release`, undefined, { idem: idemKey('l') }),
        call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, undefined, { idem: idemKey('s2') }),
      ]);
      const wins = [settle, release, settle2].filter((x) => x.status === 200);
      const losses = [settle, release, settle2].filter((x) => x.status === 409);
      expect(wins).toHaveLength(1);
      expect(losses).toHaveLength(2);
      for (const l of losses) expect(l.body.code).toBe('reservation_not_pending');
      const final = await call(t, 'GET', `/v1/reservations/${r.body.id}`);
      expect(final.body.status).toBe(wins[0].body.status);
    }
    const report = await t.verify();
    expect(report.violations).toEqual([]);
  });

  it('parallel reservations on many wallets never wait on each other into a deadlock', async () => {
    const owners = Array.from({ length: 10 }, (_, i) => `spread_${i}`);
    await Promise.all(owners.map((o) => call(t, 'PUT', `/v1/wallets/${o}`)));
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        call(t, 'POST', `/v1/wallets/${owners[i % 10]}/reservations`, { amount: '1.5' }, { idem: idemKey('sp') }),
      ),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    for (const o of owners) {
      const w = await call(t, 'GET', `/v1/wallets/${o}`);
      expect(w.body.balance).toEqual({ available: '0.000', held: '15.000' });
    }
  });
});
