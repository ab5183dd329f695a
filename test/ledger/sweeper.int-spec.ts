import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';

/** The BullMQ job scheduler of the worker releases lapsed holds on its own. */
describe('maintenance sweeper on BullMQ', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ RUN_WORKER: 'true', SWEEP_INTERVAL_MS: '1000' });
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('releases an expired reservation without anyone asking', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/sweep_me')).status).toBe(201);
    const r = await call(t, 'POST', '/v1/wallets/sweep_me/reservations', { amount: '4', expires_in: 1 }, { idem: idemKey() });
    expect(r.status).toBe(201);
    let held = '4.000';
    for (let i = 0; i < 100 && held !== '0.000'; i++) {
      await new Promise((res) => setTimeout(res, 200));
      held = (await call(t, 'GET', '/v1/wallets/sweep_me')).body.balance.held;
    }
    expect(held).toBe('0.000');
    const got = await call(t, 'GET', `/v1/reservations/${r.body.id}`);
    expect(got.body).toMatchObject({ status: 'expired', settled: '0.000', released: '4.000' });
    const late = await call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, undefined, { idem: idemKey() });
    expect([late.status, late.body.code]).toEqual([409, 'reservation_expired']);
    expect((await call(t, 'GET', '/v1/wallets/sweep_me')).body.balance.available).toBe('15.000');
  });
});
