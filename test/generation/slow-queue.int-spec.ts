import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { call, expectLedgerConsistent, idemKey, startApp, type TestApp } from '../support/app.js';
import { REDIS_URL } from '../support/env.js';
import { generationEnv, waitFinished } from './support.js';

const MODEL = 'models/openai/gpt-image';

/** A TCP proxy to Redis whose answers can be held back `delayMs` (the requests go through at once). */
async function slowRedisProxy() {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  const state = { delayMs: 0 };
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      const ms = state.delayMs;
      if (ms > 0) setTimeout(() => client.writable && client.write(d), ms);
      else client.write(d);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ]) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    state,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * The queue answering after the API's 2 s timeout, once the generation is
 * committed: the job was added all the same and a worker delivers it. The
 * client gets the 202 (its key replays it), the images are charged once, and
 * nothing is answered "nothing was reserved" while it is being billed.
 */
describe('a queue that answers late after the commit', () => {
  let worker: TestApp;
  let api: TestApp;
  let proxy: Awaited<ReturnType<typeof slowRedisProxy>>;

  beforeAll(async () => {
    proxy = await slowRedisProxy();
    worker = await startApp(generationEnv());
    // The API process: the same database and queue, its Redis through the proxy, no worker.
    api = await startApp(
      generationEnv({
        RUN_WORKER: 'false',
        DATABASE_URL: worker.config.DATABASE_URL!,
        QUEUE_PREFIX: worker.config.QUEUE_PREFIX,
        REDIS_URL: proxy.url,
      }),
    );
  });
  afterAll(async () => {
    proxy.state.delayMs = 0;
    await expectLedgerConsistent(worker);
    await api?.close();
    await worker?.close();
    await proxy?.close();
  });

  const balance = async (owner: string) => (await call(worker, 'GET', `/v1/wallets/${owner}`)).body.balance;
  const viaApi = (method: string, path: string, body: unknown, idem: string) =>
    call({ ...worker, baseUrl: api.baseUrl }, method, path, body, { idem });

  it('a generation and a batch are answered 202, delivered and charged once; their retries replay', async () => {
    for (const o of ['sq_gen', 'sq_bat']) expect((await call(worker, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
    proxy.state.delayMs = 2_500;
    const genKey = idemKey('sq');
    const gen = await viaApi('POST', '/v1/image/generate', { owner_id: 'sq_gen', model: MODEL, prompt: 'a slow fox', n: 2 }, genKey);
    expect([gen.status, gen.body.status]).toEqual([202, 'queued']);
    const batKey = idemKey('sq');
    const batBody = { owner_id: 'sq_bat', variant: 'gpt-image-2-cloudflare', items: [{ prompt: 'one' }, { prompt: 'two', n: 2 }] };
    const bat = await viaApi('POST', '/v1/batches', batBody, batKey);
    expect([bat.status, bat.body.reserved]).toEqual([202, '2.550']);
    proxy.state.delayMs = 0;

    // The worker had the jobs all along.
    expect(await waitFinished(worker, `/v1/generations/${gen.body.id}`)).toMatchObject({ status: 'succeeded', tokens_used: '7.080' });
    expect(await waitFinished(worker, `/v1/batches/${bat.body.id}`)).toMatchObject({
      status: 'completed',
      succeeded: 2,
      tokens_used: '2.550',
    });

    const again = await viaApi('POST', '/v1/image/generate', { owner_id: 'sq_gen', model: MODEL, prompt: 'a slow fox', n: 2 }, genKey);
    expect([again.status, again.headers.get('idempotent-replayed'), again.body.id]).toEqual([202, 'true', gen.body.id]);
    const batAgain = await viaApi('POST', '/v1/batches', batBody, batKey);
    expect([batAgain.status, batAgain.headers.get('idempotent-replayed'), batAgain.body.id]).toEqual([202, 'true', bat.body.id]);

    expect(await balance('sq_gen')).toEqual({ available: '7.920', held: '0.000' });
    expect(await balance('sq_bat')).toEqual({ available: '12.450', held: '0.000' });
  });
});
