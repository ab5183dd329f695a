import { describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { call, idemKey, useApp } from '../support/app.js';

/**
 * One hot wallet never holds the pool hostage: an operation that cannot get
 * the wallet's lock within 2 s is 503 wallet_busy, applies nothing, and the
 * retry with the same Idempotency-Key succeeds once the wallet is free. Other
 * wallets are served meanwhile.
 */
describe('a wallet whose lock is held too long', () => {
  const app = useApp();

  it('answers 503 wallet_busy after 2 s, changes nothing, and the same key succeeds later', async () => {
    const t = app();
    for (const owner of ['busy', 'calm']) expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const db = t.app.get(Database);
    const key = idemKey('busy');
    let answered: { status: number; body: any } | null = null;
    await db.transaction(async (tx) => {
      // Someone else holds the wallet (a long admin operation, a stuck transaction).
      await tx.sql.query(`SELECT 1 FROM wallets WHERE owner_id = 'busy' FOR UPDATE`);
      const [busy, calm] = await Promise.all([
        call(t, 'POST', '/v1/wallets/busy/reservations', { amount: '1' }, { idem: key }),
        call(t, 'POST', '/v1/wallets/calm/reservations', { amount: '1' }, { idem: idemKey('calm') }),
      ]);
      answered = busy;
      expect(calm.status).toBe(201);
    });
    expect([answered!.status, answered!.body.code]).toEqual([503, 'wallet_busy']);
    expect((await call(t, 'GET', '/v1/wallets/busy')).body.balance).toEqual({ available: '15.000', held: '0.000' });
    const retry = await call(t, 'POST', '/v1/wallets/busy/reservations', { amount: '1' }, { idem: key });
    expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([201, null]);
  });
});

/**
 * A hot wallet's calls wait in the process, not on pool connections: past
 * LEDGER_WALLET_CONCURRENCY (2) of one wallet's reserve and settle calls in
 * PostgreSQL, the rest queue in the API, so a pool smaller than the burst
 * still serves other wallets at once. Every queued call answers 503
 * wallet_busy with nothing applied when the wallet stays locked.
 */
describe('a burst on one locked wallet, larger than the pool', () => {
  const app = useApp({ DB_POOL_SIZE: '6' });

  it('keeps at most 2 of its calls waiting in PostgreSQL and serves another wallet meanwhile', async () => {
    const t = app();
    for (const owner of ['hot', 'calm']) expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const held = await call(t, 'POST', '/v1/wallets/hot/reservations', { amount: '1' }, { idem: idemKey('held') });
    expect(held.status).toBe(201);
    const db = t.app.get(Database);
    const waitingOnLocks = async () =>
      Number(
        (
          await db.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        )[0].n,
      );
    let calmAnswered = false;
    let busyAnsweredBeforeCalm = 0;
    let mostWaiting = 0;
    const answers = await db.transaction(async (tx) => {
      await tx.sql.query(`SELECT 1 FROM wallets WHERE owner_id = 'hot' FOR UPDATE`);
      // 8 reservations and 4 settles of the hot wallet's reservation: 12 calls against a pool of 6 (one held here).
      const burst = [
        ...Array.from({ length: 8 }, (_, i) =>
          call(t, 'POST', '/v1/wallets/hot/reservations', { amount: '1' }, { idem: idemKey(`hot-${i}`) }),
        ),
        ...Array.from({ length: 4 }, (_, i) =>
          call(t, 'POST', `/v1/reservations/${held.body.id}/settle`, {}, { idem: idemKey(`settle-${i}`) }),
        ),
      ].map((p) =>
        p.then((r) => {
          if (!calmAnswered) busyAnsweredBeforeCalm++;
          return r;
        }),
      );
      // Until the first two are waiting on the row lock.
      for (let n = 0; n < 200 && (mostWaiting = Math.max(mostWaiting, await waitingOnLocks())) < 2; n++)
        await new Promise((r) => setTimeout(r, 10));
      const calm = await call(t, 'POST', '/v1/wallets/calm/reservations', { amount: '1' }, { idem: idemKey('calm') });
      calmAnswered = true;
      expect(calm.status).toBe(201);
      mostWaiting = Math.max(mostWaiting, await waitingOnLocks());
      return Promise.all(burst);
    });
    expect(mostWaiting).toBe(2);
    expect(busyAnsweredBeforeCalm).toBe(0);
    expect(answers.map((a) => [a.status, a.body.code])).toEqual(Array.from({ length: 12 }, () => [503, 'wallet_busy']));
    const wallet = await call(t, 'GET', '/v1/wallets/hot');
    expect(wallet.body.balance).toEqual({ available: '14.000', held: '1.000' });
    expect((await call(t, 'GET', `/v1/reservations/${held.body.id}`)).body.status).toBe('pending');
  });
});
