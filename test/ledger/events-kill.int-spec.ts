import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { spawnApi } from '../support/api-process.js';
import { freePort } from '../support/ports.js';
import { call, expectLedgerConsistent, grantTokens, idemKey, startApp, TestApp } from '../support/app.js';
import { expectFeedMatchesLedger, FeedConsumer } from './feed.js';

/** The API killed with SIGKILL while it writes and serves the event stream: nothing lost, nothing doubled. */
describe('event stream across a SIGKILL of the API', () => {
  let t: TestApp;
  let child: ChildProcess | null = null;
  let childUrl = '';
  let port = 0;

  beforeAll(async () => {
    t = await startApp();
    port = await freePort();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await expectLedgerConsistent(t);
    await t.close();
  });

  async function startChild(): Promise<void> {
    ({ url: childUrl, proc: child } = await spawnApi(t, {}, port));
  }

  /** The child, seen as a TestApp (same keys and database). */
  const viaChild = (): TestApp => ({ ...t, baseUrl: childUrl });

  /** Sends until answered: a request cut by the kill is retried with its key, so it applies once. */
  async function send(method: string, path: string, body: unknown, key: string) {
    for (;;) {
      try {
        const r = await call(viaChild(), method, path, body, { idem: key });
        if (r.status !== 503) return r;
      } catch {
        // connection refused or reset: the API is down; retry.
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('a consumer following through the kill has every event once, and the stream replays to the balances', async () => {
    const owners = Array.from({ length: 6 }, (_, i) => `ev_kill_${i}`);
    for (const o of owners) await call(t, 'PUT', `/v1/wallets/${o}`);
    await Promise.all(owners.map((o) => grantTokens(t, o, 30_000n)));
    await startChild();

    const feed = new FeedConsumer(viaChild, { limit: 25 });
    const following = feed.follow();
    let done = 0;
    const clients = Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; i < 30; i++) {
        const owner = owners[(c + i) % owners.length];
        const r = await send('POST', `/v1/wallets/${owner}/reservations`, { amount: '0.125' }, idemKey('kill'));
        expect(r.status).toBe(201);
        const end = await send('POST', `/v1/reservations/${r.body.id}/${i % 4 === 0 ? 'release' : 'settle'}`, undefined, idemKey('kill'));
        expect(end.status).toBe(200);
        done++;
      }
    });
    // Kill it mid-stream, twice, once the traffic is well under way.
    for (const at of [60, 150]) {
      while (done < at) await new Promise((r) => setTimeout(r, 10));
      child!.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      await new Promise((r) => setTimeout(r, 200));
      await startChild();
    }
    await Promise.all(clients);
    await feed.stop(following);
    await feed.drain();
    // 6 x (created, weekly grant, promo grant) + 240 pairs x 2.
    expect(feed.events.filter((e) => e.owner_id.startsWith('ev_kill_'))).toHaveLength(6 * 3 + 480);
    await expectFeedMatchesLedger(t, feed, owners);
  });
});
