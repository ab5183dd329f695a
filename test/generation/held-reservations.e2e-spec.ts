import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GenerationFinisher } from '@app/generation';
import pg from 'pg';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv } from './support.js';

/**
 * A generation's hold is settled by its generation, for what it delivered
 * (migration GenerationHolds). The gateway sees the hold's id in the 202; a
 * settle of it through the reservation routes would bill images never
 * delivered (the finisher then finds the hold ended and withholds them). Every
 * form of settle is refused and changes nothing; release still cancels. The
 * worker does not run here, so each generation stays queued until the test
 * finishes it through the finisher itself.
 */
describe("a generation's hold", () => {
  let t: TestApp;
  let db: pg.Client;
  const MODEL = 'models/openai/gpt-image';

  beforeAll(async () => {
    t = await startApp(generationEnv({ RUN_WORKER: 'false' }));
    db = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await db.connect();
    for (const o of ['held_a', 'held_b', 'held_c', 'held_d']) expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await db.end();
    await t.close();
  });

  const balance = async (owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body.balance;
  const generate = async (owner: string, n: number) => {
    const r = await call(t, 'POST', '/v1/image/generate', { model: MODEL, owner_id: owner, prompt: 'a fox', n }, { idem: idemKey('gen') });
    expect(r.status).toBe(202);
    return r.body as { id: string; reservation_id: string; reserved: string };
  };
  const settleForms: (Record<string, unknown> | undefined)[] = [undefined, {}, { amount: '7.080' }, { amount: '0.001' }, { amount: 1 }];

  it('is refused to every settle through the reservation routes, and nothing moves', async () => {
    const g = await generate('held_a', 2);
    expect(await balance('held_a')).toEqual({ available: '7.920', held: '7.080' });
    for (const body of settleForms) {
      const r = await call(t, 'POST', `/v1/reservations/${g.reservation_id}/settle`, body, { idem: idemKey() });
      expect([JSON.stringify(body), r.status, r.body.code]).toEqual([JSON.stringify(body), 409, 'reservation_held']);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.body.detail).toContain(g.id);
    }
    // An admin key is refused as well: the rule is the hold's, not the caller's scope.
    const byAdmin = await call(t, 'POST', `/v1/reservations/${g.reservation_id}/settle`, undefined, { key: t.adminKey, idem: idemKey() });
    expect([byAdmin.status, byAdmin.body.code]).toEqual([409, 'reservation_held']);
    expect(await balance('held_a')).toEqual({ available: '7.920', held: '7.080' });
    expect((await call(t, 'GET', `/v1/reservations/${g.reservation_id}`)).body.status).toBe('pending');

    // The generation settles it for what it delivered: one image of two.
    const finisher = t.app.get(GenerationFinisher);
    const done = await finisher.finish(g.id, { images: [{ url: 'http://127.0.0.1/x.png' }], format: 'png' });
    expect(done).toMatchObject({ status: 'succeeded', tokens_used: '3540' });
    expect(await balance('held_a')).toEqual({ available: '11.460', held: '0.000' });
    const gen = await call(t, 'GET', `/v1/generations/${g.id}`);
    expect(gen.body).toMatchObject({ status: 'succeeded', tokens_used: '3.540' });
  });

  it('can still be released (a cancel): the generation then fails and charges nothing', async () => {
    const g = await generate('held_b', 1);
    const rel = await call(t, 'POST', `/v1/reservations/${g.reservation_id}/release`, undefined, { idem: idemKey() });
    expect([rel.status, rel.body.status]).toEqual([200, 'released']);
    const done = await t.app.get(GenerationFinisher).finish(g.id, { images: [{ url: 'http://127.0.0.1/x.png' }], format: 'png' });
    expect(done).toMatchObject({ status: 'failed', tokens_used: '0' });
    expect(await balance('held_b')).toEqual({ available: '15.000', held: '0.000' });
  });

  it("is refused for a batch item's hold too, and a plain reservation with a gen_ ref settles as before", async () => {
    const b = await call(
      t,
      'POST',
      '/v1/batches',
      { owner_id: 'held_c', variant: 'gpt-image-2-cloudflare', items: [{ prompt: 'x' }, { prompt: 'y', n: 2 }] },
      { idem: idemKey('bat') },
    );
    expect(b.status).toBe(202);
    const { rows } = await db.query<{ id: string; holder: string }>(
      `SELECT r.id, r.holder FROM reservations r JOIN wallets w ON w.id = r.wallet_id WHERE w.owner_id = 'held_c'`,
    );
    expect(rows.map((r) => r.holder)).toEqual(['generation', 'generation']);
    // The row rule knows one holder.
    await expect(db.query(`UPDATE reservations SET holder = 'gateway' WHERE id = $1`, [rows[0].id])).rejects.toMatchObject({
      code: '23514',
      constraint: 'reservations_valid',
    });
    for (const { id } of rows) {
      const r = await call(t, 'POST', `/v1/reservations/${id}/settle`, undefined, { idem: idemKey() });
      expect([r.status, r.body.code]).toEqual([409, 'reservation_held']);
    }
    expect(await balance('held_c')).toEqual({ available: '12.450', held: '2.550' });

    // The gateway's own hold, whatever its ref says, is the gateway's to settle.
    const own = await call(t, 'POST', '/v1/wallets/held_d/reservations', { amount: '1', ref: 'gen_0123456789abcdef' }, { idem: idemKey() });
    expect(own.status).toBe(201);
    const s = await call(t, 'POST', `/v1/reservations/${own.body.id}/settle`, undefined, { idem: idemKey() });
    expect([s.status, s.body.status, s.body.settled]).toEqual([200, 'settled', '1.000']);
  });

  it('is settled by the finisher even when a refused settle came first with the same Idempotency-Key pattern', async () => {
    // A refusal is not stored: the key is free again, and the hold is untouched for the generation.
    const g = await generate('held_d', 1);
    const key = idemKey();
    const first = await call(t, 'POST', `/v1/reservations/${g.reservation_id}/settle`, undefined, { idem: key });
    const again = await call(t, 'POST', `/v1/reservations/${g.reservation_id}/settle`, undefined, { idem: key });
    expect([first.body.code, again.body.code]).toEqual(['reservation_held', 'reservation_held']);
    const done = await t.app.get(GenerationFinisher).finish(g.id, { images: [{ url: 'http://127.0.0.1/y.png' }], format: 'png' });
    expect(done).toMatchObject({ status: 'succeeded', tokens_used: '3540' });
    expect(await balance('held_d')).toEqual({ available: '10.460', held: '0.000' });
  });
});
