import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifySignature } from '@app/common';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, expectLedgerConsistent, grantTokens, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from './support.js';

interface Received {
  body: any;
  valid: boolean;
}

describe('batches and outgoing webhooks', () => {
  let t: TestApp;
  let receiver: Server;
  let hookUrl: string;
  const received: Received[] = [];

  beforeAll(async () => {
    t = await startApp(generationEnv());
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const sig = req.headers['webhook-signature'];
        received.push({
          body: JSON.parse(raw),
          valid: typeof sig === 'string' && verifySignature(t.config.WEBHOOK_SIGNING_SECRET, sig, raw),
        });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
    await new Promise((r) => receiver.close(r));
  });

  const waitFor = async (pred: () => boolean, ms = 20_000) => {
    const until = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > until) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('a 100-item batch with failures: reserved up front, settled per item, charges add up', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/batcher')).status).toBe(201);
    await grantTokens(t, 'batcher', 100_000n);
    const items = Array.from({ length: 100 }, (_, i) => ({
      prompt: i % 10 === 3 ? `item ${i} [fake:fail=content_policy]` : i % 10 === 7 ? `item ${i} [fake:partial=1]` : `item ${i}`,
      n: i % 10 === 7 ? 2 : 1,
    }));
    const r = await call(
      t,
      'POST',
      '/v1/batches',
      { owner_id: 'batcher', variant: 'gpt-image-2-cloudflare', items, webhook_url: hookUrl },
      { idem: idemKey('bat') },
    );
    expect(r.status).toBe(202);
    // 90 items of n=1 and 10 of n=2 at 0.850.
    expect(r.body).toMatchObject({ status: 'running', total: 100, succeeded: 0, failed: 0, reserved: '93.500', tokens_used: '0.000' });
    const b = await waitFinished(t, `/v1/batches/${r.body.id}`, 60_000);
    // 10 refused (nothing charged), 10 partial (1 of 2 delivered), 80 whole.
    expect(b).toMatchObject({ status: 'completed', total: 100, succeeded: 90, failed: 10, pending: 0, tokens_used: '76.500' });
    const w = (await call(t, 'GET', '/v1/wallets/batcher')).body.balance;
    expect(w).toEqual({ available: '38.500', held: '0.000' });
    await waitFor(() => received.some((x) => x.body.type === 'batch.completed'));
    const done = received.filter((x) => x.body.type === 'batch.completed');
    expect(done).toHaveLength(1);
    expect(done[0].valid).toBe(true);
    expect(done[0].body.data).toMatchObject({ id: r.body.id, succeeded: 90, failed: 10, tokens_used: '76.500' });
  });

  it('a batch the wallet cannot pay for is refused whole', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/poor_batcher')).status).toBe(201);
    const items = Array.from({ length: 20 }, (_, i) => ({ prompt: `p${i}` }));
    const r = await call(
      t,
      'POST',
      '/v1/batches',
      { owner_id: 'poor_batcher', variant: 'gpt-image-2-cloudflare', items },
      { idem: idemKey('bat') },
    );
    expect([r.status, r.body.code]).toEqual([402, 'insufficient_funds']);
    expect((await call(t, 'GET', '/v1/wallets/poor_batcher')).body.balance).toEqual({ available: '15.000', held: '0.000' });
    const tooMany = await call(
      t,
      'POST',
      '/v1/batches',
      { owner_id: 'poor_batcher', variant: 'gpt-image-2-cloudflare', items: Array.from({ length: 1001 }, () => ({ prompt: 'x' })) },
      { idem: idemKey('bat') },
    );
    expect([tooMany.status, tooMany.body.code]).toEqual([400, 'validation_error']);
  });

  it('sends signed generation webhooks a receiver can verify', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/hooked')).status).toBe(201);
    const ok = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'hooked', model: 'models/openai/gpt-image', prompt: 'hook me', webhook_url: hookUrl },
      { idem: idemKey() },
    );
    const bad = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'hooked', model: 'models/openai/gpt-image', prompt: 'no [fake:fail=content_policy]', webhook_url: hookUrl },
      { idem: idemKey() },
    );
    await waitFor(() => received.filter((x) => x.body.data?.owner_id === 'hooked').length >= 2);
    const mine = received.filter((x) => x.body.data?.owner_id === 'hooked');
    expect(mine.every((x) => x.valid)).toBe(true);
    expect(mine.find((x) => x.body.data.id === ok.body.id)?.body.type).toBe('generation.succeeded');
    expect(mine.find((x) => x.body.data.id === bad.body.id)?.body.type).toBe('generation.failed');
    expect(verifySignature('another-secret-entirely', `t=${Math.floor(Date.now() / 1000)},v1=00`, '{}')).toBe(false);
  });
});
