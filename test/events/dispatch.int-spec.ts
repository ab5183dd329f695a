import { Database } from '@app/common';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, type TestApp } from '../support/app.js';
import { byWallet, type Received, startReceiver, until } from './support.js';

const ENV = {
  RUN_WORKER: 'true',
  ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
  EVENT_DISPATCH_INTERVAL_MS: '20',
  WEBHOOK_BACKOFF_BASE_MS: '20',
  WEBHOOK_TIMEOUT_MS: '1000',
};
/** Requests to /flaky before it recovers: 500s and stalls past the sender's timeout, in turn. */
const FLAKY_FAILURES = 12;
/** Requests to /settled whose 200 comes after the sender's timeout: received, but sent again. */
const SETTLED_LATE = [1, 4];

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Every event after `after` in the feed, as GET /v1/events serves it. */
async function feed(t: TestApp, after: string | null) {
  const events: Received['event'][] = [];
  let cursor = after;
  for (;;) {
    const r = await call(t, 'GET', `/v1/events?limit=1000${cursor ? `&after=${cursor}` : ''}`);
    expect(r.status).toBe(200);
    events.push(...(r.body.data as Received['event'][]));
    if (r.body.data.length === 0) return events;
    cursor = r.body.next_cursor as string;
  }
}

/** Each wallet's requests arrive in seq order: a retry repeats a seq, a later seq only once the one before was accepted. */
function expectSeqOrderPerWallet(rs: Received[]) {
  for (const [owner, list] of byWallet(rs)) {
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1], list[i]];
      if (b.event.seq !== a.event.seq) {
        expect({ owner, seq: b.event.seq, after: a.event.seq, previous_answer: a.answered }).toEqual({
          owner,
          seq: b.event.seq,
          after: a.event.seq,
          previous_answer: 200,
        });
        expect(b.event.seq).toBeGreaterThan(a.event.seq);
      }
    }
  }
}

/** Two API processes' worth of dispatchers (both RUN_WORKER) on one database, delivering to a local receiver. */
describe('event webhooks: delivery', () => {
  let a: TestApp;
  let b: TestApp;
  let rx: Receiver;
  const secrets = new Map<string, string>();

  const pendingOf = async (name: string) =>
    Number(
      (
        await a.app
          .get(Database)
          .query<{ n: string }>(`SELECT count(*) AS n FROM webhook_endpoint_deliveries WHERE endpoint = $1 AND state = 'pending'`, [name])
      )[0].n,
    );

  /** Every attempt the service recorded for an endpoint, through the admin API. */
  async function attemptsOf(name: string) {
    const attempts: Array<{ event_id: string; status_code: number | null; error: string | null; state: string }> = [];
    let cursor: string | null = null;
    do {
      const r = await call(
        a,
        'GET',
        `/v1/admin/webhook-endpoints/${name}/deliveries?limit=200${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        {
          key: a.adminKey,
        },
      );
      expect(r.status).toBe(200);
      attempts.push(...(r.body.data as typeof attempts));
      cursor = r.body.next_cursor as string | null;
    } while (cursor);
    return attempts;
  }
  /** Attempts whose answer came after the sender's timeout: recorded as ETIMEDOUT, so tried again. */
  const timedOut = (attempts: Awaited<ReturnType<typeof attemptsOf>>) =>
    attempts.filter((x) => x.status_code === null && x.error?.includes('ETIMEDOUT')).length;

  async function putEndpoint(name: string, body: Record<string, unknown>) {
    const r = await call(a, 'PUT', `/v1/admin/webhook-endpoints/${name}`, body, { key: a.adminKey });
    expect(r.status).toBe(201);
    secrets.set(name, r.body.secret as string);
    return r.body;
  }

  /** Wallets with a few events each, made in parallel: created, granted, reserved, settled or released. */
  async function traffic(owners: string[]) {
    await Promise.all(
      owners.map(async (owner, i) => {
        expect((await call(a, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
        for (let k = 0; k < 3; k++) {
          const r = await call(i % 2 ? b : a, 'POST', `/v1/wallets/${owner}/reservations`, { amount: '1' }, { idem: idemKey() });
          expect(r.status).toBe(201);
          const end = k === 1 ? 'release' : 'settle';
          expect((await call(i % 2 ? a : b, 'POST', `/v1/reservations/${r.body.id}/${end}`, undefined, { idem: idemKey() })).status).toBe(
            200,
          );
        }
      }),
    );
  }

  beforeAll(async () => {
    rx = await startReceiver((path, n) => {
      if (path === '/flaky' && n < FLAKY_FAILURES) return n % 2 ? 'stall' : 500;
      if (path === '/dead') return 500;
      if (path === '/settled' && SETTLED_LATE.includes(n)) return 'late';
      return 200;
    }, 1_500);
    a = await startApp(ENV);
    b = await startApp({ ...ENV, DATABASE_URL: a.config.DATABASE_URL! });
  });

  afterAll(async () => {
    await expectLedgerConsistent(a);
    await b?.close();
    await a?.close();
    await rx?.close();
  });

  it('delivers every event once recovered, in seq order per wallet, signed, with every attempt recorded; the types filter holds', async () => {
    const start = (await call(a, 'GET', '/v1/events?limit=1000')).body.next_cursor as string | null;
    await putEndpoint('flaky', { url: `${rx.base}/flaky` });
    await putEndpoint('settled', { url: `${rx.base}/settled`, types: ['reservation.settled'] });
    const owners = Array.from({ length: 6 }, (_, i) => `hooks_${i}_${Date.now()}`);
    await traffic(owners);

    const events = (await feed(a, start)).filter((e) => owners.includes(e.owner_id));
    // created, credit (the weekly grant), then 3 x (reservation.created + settled/released)
    expect(events.length).toBe(owners.length * 8);
    await until(
      'every event delivered to both endpoints',
      async () => ({ flaky: await pendingOf('flaky'), settled: await pendingOf('settled'), got: rx.at('/flaky').length }),
      (v) => v.flaky === 0 && v.settled === 0 && v.got >= events.length + FLAKY_FAILURES,
    );

    const flaky = rx.at('/flaky');
    expect(flaky.slice(0, FLAKY_FAILURES).every((r) => r.answered !== 200)).toBe(true);
    // Every attempt recorded: one row per request the receiver saw, failures with their status or timeout.
    const attempts = await attemptsOf('flaky');
    expect(attempts.length).toBe(flaky.length);
    expect(attempts.filter((x) => x.status_code === 500).length).toBe(FLAKY_FAILURES / 2);
    expect(attempts.every((x) => x.state === 'delivered')).toBe(true);
    // The sender saw each event accepted exactly once.
    expect(attempts.filter((x) => x.status_code === 200).length).toBe(events.length);
    // The stalls time out; so may a 200 sent later than the timeout on a loaded machine: the sender
    // did not see it, so it sent again (at least once). Nothing else is sent twice.
    const late = timedOut(attempts) - FLAKY_FAILURES / 2;
    expect(late).toBeGreaterThanOrEqual(0);
    const delivered = flaky.filter((r) => r.answered === 200);
    expect(delivered.length).toBe(events.length + late);
    // Every event, exactly the object GET /v1/events serves, and nothing else.
    const once = [...new Map(delivered.map((r) => [r.event.id, r.event])).values()];
    expect(once.length).toBe(events.length);
    expect(once.sort((x, y) => Number(x.id.slice(4)) - Number(y.id.slice(4)))).toEqual(events);
    expect(flaky.every((r) => rx.verifies(r, secrets.get('flaky')!) && r.webhookId === r.event.id)).toBe(true);
    expect(flaky.some((r) => rx.verifies(r, secrets.get('settled')!))).toBe(false);
    expectSeqOrderPerWallet(flaky);

    const settled = rx.at('/settled');
    expect(settled.every((r) => r.event.type === 'reservation.settled' && rx.verifies(r, secrets.get('settled')!))).toBe(true);
    const settledEvents = events.filter((e) => e.type === 'reservation.settled').map((e) => e.id);
    expect([...new Set(settled.map((r) => r.event.id))].sort()).toEqual(settledEvents.sort());
    const settledAttempts = await attemptsOf('settled');
    expect(settledAttempts.length).toBe(settled.length);
    expect(settledAttempts.filter((x) => x.status_code === 200).length).toBe(settledEvents.length);
    expect(timedOut(settledAttempts)).toBeGreaterThanOrEqual(SETTLED_LATE.length);
    expect(settled.length).toBe(settledEvents.length + timedOut(settledAttempts));
    expectSeqOrderPerWallet(settled);

    const view = await call(a, 'GET', '/v1/admin/webhook-endpoints/flaky', undefined, { key: a.adminKey });
    expect(view.body).toMatchObject({ name: 'flaky', pending: 0, given_up: 0 });
    expect(view.body.secret).toBeUndefined();
    expect(view.body.recent_failures).toHaveLength(5);
  });

  it("gives a delivery up at its deadline, and the wallet's next event goes on", async () => {
    await putEndpoint('dead', { url: `${rx.base}/dead`, types: ['wallet.created', 'credit.created'] });
    const owner = `dead_${Date.now()}`;
    expect((await call(a, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const db = a.app.get(Database);
    await until(
      'both deliveries queued',
      () =>
        db.query<{ n: string }>(`SELECT count(*) AS n FROM webhook_endpoint_deliveries WHERE endpoint = 'dead' AND owner_id = $1`, [owner]),
      (r) => Number(r[0].n) === 2,
    );
    // The 24 hours are over: the next failed attempt of each is its last.
    await db.query(`UPDATE webhook_endpoint_deliveries SET deadline = now() WHERE endpoint = 'dead'`);
    await until(
      'both given up',
      () => pendingOf('dead'),
      (n) => n === 0,
    );
    const got = rx.at('/dead').filter((r) => r.event.owner_id === owner);
    expect(got.map((r) => r.event.type)[0]).toBe('wallet.created');
    expect(got.map((r) => r.event.type)).toContain('credit.created');
    expectSeqOrderOnFailure(got);
    const view = await call(a, 'GET', '/v1/admin/webhook-endpoints/dead', undefined, { key: a.adminKey });
    expect(view.body).toMatchObject({ pending: 0, given_up: 2 });
    expect(view.body.recent_failures[0]).toMatchObject({ status_code: 500, state: 'failed', owner_id: owner });
  });
});

/** With a receiver that never accepts, the wallet's second event is tried only after the first was given up. */
function expectSeqOrderOnFailure(rs: Received[]) {
  const seqs = rs.map((r) => r.event.seq);
  expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
}
