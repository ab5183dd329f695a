import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { GenerationFinisher, RecoveryService } from '@app/generation';
import { MaintenanceService } from '@app/ledger';
import { call, expectLedgerConsistent, grantTokens, idemKey, startApp, TestApp } from '../support/app.js';
import { controlClock, TestClock } from '../support/clock.js';
import { generationEnv } from './support.js';

/**
 * A hold lives as long as its work (spec section 8, "Long jobs"), on a
 * controlled clock: the recovery loop extends the holds of queued and running
 * generations, the expiry sweeper runs between, and the worker's deliveries
 * are played by the finisher, as the processor calls it.
 */
const STEP_MS = 20 * 60_000; // well inside half of GENERATION_HOLD_TTL_S (1 h)

describe('holds that live as long as their work', () => {
  let t: TestApp;
  let clock: TestClock;
  let db: Database;
  let recovery: RecoveryService;
  let sweeper: MaintenanceService;
  let finisher: GenerationFinisher;

  beforeAll(async () => {
    // No worker: the test plays it, so that time can pass between its steps.
    t = await startApp(generationEnv({ RUN_WORKER: 'false' }));
    clock = controlClock(t, '2030-05-06T20:00:00Z');
    db = t.app.get(Database);
    recovery = t.app.get(RecoveryService);
    sweeper = t.app.get(MaintenanceService);
    finisher = t.app.get(GenerationFinisher);
  });
  afterAll(async () => {
    clock.restore();
    await expectLedgerConsistent(t);
    await t.close();
  });

  const step = async () => {
    clock.advance(STEP_MS);
    await recovery.extendLiveHolds();
    return sweeper.releaseExpiredReservations();
  };
  const deliver = (id: string) => finisher.finish(id, { images: [{ url: `http://images.test/${id}.png` }], format: 'png' });

  it('a 1,000-item batch whose items run over 30 hours bills every delivered image', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/overnight')).status).toBe(201);
    await grantTokens(t, 'overnight', 1_000_000n);
    const items = Array.from({ length: 1000 }, (_, i) => ({ prompt: `variant ${i}` }));
    const r = await call(
      t,
      'POST',
      '/v1/batches',
      { owner_id: 'overnight', variant: 'gpt-image-2-cloudflare', items },
      { idem: idemKey('night') },
    );
    expect([r.status, r.body.reserved]).toEqual([202, '850.000']);
    const ids = (await db.query<{ id: string }>(`SELECT id FROM generations WHERE batch_id = $1 ORDER BY batch_index`, [r.body.id])).map(
      (g) => g.id,
    );
    expect(ids).toHaveLength(1000);

    const steps = (30 * 3_600_000) / STEP_MS;
    let next = 0;
    for (let s = 1; s <= steps; s++) {
      // The expiry sweeper never ends a hold whose work is still alive.
      expect([s, await step()]).toEqual([s, 0]);
      const upTo = Math.round((1000 * s) / steps);
      for (; next < upTo; next++) expect((await deliver(ids[next]))?.status).toBe('succeeded');
    }
    const batch = await call(t, 'GET', `/v1/batches/${r.body.id}`);
    expect(batch.body).toMatchObject({ status: 'completed', succeeded: 1000, failed: 0, tokens_used: '850.000' });
    const wallet = await call(t, 'GET', '/v1/wallets/overnight');
    expect(wallet.body.balance).toEqual({ available: '165.000', held: '0.000' });
  }, 300_000);

  it('past GENERATION_MAX_HOLD_S the hold lapses and the images are withheld, never delivered unbilled', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/forever')).status).toBe(201);
    await grantTokens(t, 'forever', 10_000n);
    const g = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'forever', model: 'models/openai/gpt-image', variant: 'gpt-image-1-min', prompt: 'slow' },
      { idem: idemKey('forever') },
    );
    expect(g.status).toBe(202);
    let expired = 0;
    for (let s = 0; s < (49 * 3_600_000) / STEP_MS; s++) expired += await step();
    expect(expired).toBe(1);
    const done = await deliver(g.body.id);
    expect(done).toMatchObject({ status: 'failed', delivered: 0, tokens_used: '0', output: null });
    const got = await call(t, 'GET', `/v1/generations/${g.body.id}`);
    expect(got.body).toMatchObject({ status: 'failed', tokens_used: '0.000', error: { code: 'hold_expired' } });
    expect((await call(t, 'GET', '/v1/wallets/forever')).body.balance).toEqual({ available: '25.000', held: '0.000' });
  }, 120_000);
});
