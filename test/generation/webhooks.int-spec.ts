import {
  assertWebhookUrlAllowed,
  CommonModule,
  createLogger,
  Database,
  DomainError,
  guardedLookup,
  loadConfig,
  postWebhook,
  verifySignature,
  WebhookAddressRefusedError,
  type AppConfig,
} from '@app/common';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getQueueToken } from '@nestjs/bullmq';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WEBHOOK_QUEUE, WebhookService, type WebhookEvent } from '../../libs/generation/src/webhooks/webhook.service.js';
import { WebhookWorkerModule } from '../../libs/generation/src/webhooks/webhooks.module.js';
import { createTestDatabase } from '../support/database.js';
import { REDIS_URL } from '../support/env.js';
import { sleep, until } from '../support/wait.js';

const SECRET = 'whsec_integration_test_secret';

interface Received {
  path: string;
  body: string;
  headers: IncomingMessage['headers'];
  signatureOk: boolean;
}

interface DeliveryRow {
  event_id: string;
  event_type: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
}

function event(id: string, data: unknown = { generation_id: id }): WebhookEvent {
  return { id, type: 'generation.succeeded', created_at: new Date().toISOString(), data };
}

/** The worker against real Redis and Postgres, delivering to a receiver on 127.0.0.1. */
describe('outgoing webhooks', () => {
  let app: INestApplicationContext;
  let drop: () => Promise<void>;
  let server: Server;
  let base: string;
  let config: AppConfig;
  const received: Received[] = [];
  // path -> the statuses to answer in turn (the last one repeats); a number below 0 means "stall that long, then 200".
  const script = new Map<string, number[]>();

  const hits = (path: string) => received.filter((r) => r.path === path);
  const rows = (eventId: string) =>
    app
      .get(Database)
      .query<DeliveryRow>(
        `SELECT event_id, event_type, attempt, status_code, error, duration_ms FROM webhook_deliveries WHERE event_id = $1 ORDER BY id`,
        [eventId],
      );

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '/';
        const sig = req.headers['webhook-signature'];
        received.push({
          path,
          body,
          headers: req.headers,
          signatureOk: verifySignature(SECRET, typeof sig === 'string' ? sig : undefined, body),
        });
        const plan = script.get(path) ?? [200];
        const status = plan.length > 1 ? plan.shift()! : plan[0];
        if (status < 0) {
          // Unref: the test must not wait on a stalled answer nobody is listening for any more.
          setTimeout(() => res.writeHead(200).end('late'), -status).unref();
          return;
        }
        if (status >= 300 && status < 400) res.setHeader('location', `${base}/redirect-target`);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const db = await createTestDatabase();
    drop = db.drop;
    config = loadConfig({
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: `twtest_${randomBytes(4).toString('hex')}`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DB_POOL_SIZE: '5',
      WEBHOOK_SIGNING_SECRET: SECRET,
      ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
      WEBHOOK_BACKOFF_BASE_MS: '100',
      WEBHOOK_TIMEOUT_MS: '500',
    });
    @Module({ imports: [CommonModule.forRoot(config, createLogger(config.LOG_LEVEL)), WebhookWorkerModule] })
    class WebhookTestModule {}
    app = await NestFactory.createApplicationContext(WebhookTestModule, { logger: false });
  });

  afterAll(async () => {
    if (app) {
      await app.get<Queue>(getQueueToken(WEBHOOK_QUEUE)).obliterate({ force: true });
      await app.close();
    }
    await drop?.();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('retries a failing receiver with backoff until it accepts, signing every attempt', async () => {
    script.set('/flaky', [500, 500, 200]);
    const ev = event('evt_flaky_1', { id: 'gen_1', status: 'succeeded', tokens_used: '1.500', images: [{ url: 'https://x/1.png' }] });
    await app.get(WebhookService).enqueue(ev, `${base}/flaky`);

    const got = await until(
      'three attempts',
      () => rows(ev.id),
      (r) => r.length >= 3 && r.some((x) => x.status_code === 200),
    );
    expect(got.map((r) => [r.attempt, r.status_code, r.event_type])).toEqual([
      [1, 500, 'generation.succeeded'],
      [2, 500, 'generation.succeeded'],
      [3, 200, 'generation.succeeded'],
    ]);
    expect(got.every((r) => typeof r.duration_ms === 'number' && r.duration_ms >= 0)).toBe(true);

    const h = hits('/flaky');
    expect(h).toHaveLength(3);
    for (const r of h) {
      expect(r.signatureOk).toBe(true);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['webhook-id']).toBe(ev.id);
      expect(r.headers['user-agent']).toBe('token-wallet-webhooks/1');
      expect(JSON.parse(r.body)).toEqual(ev);
    }
    // Every retry sends the same bytes, so a receiver can dedupe on Webhook-Id alone.
    expect(new Set(h.map((r) => r.body)).size).toBe(1);
    expect(verifySignature('whsec_some_other_secret', h[0].headers['webhook-signature'] as string, h[0].body)).toBe(false);
  });

  it('delivers an event once however often it is queued', async () => {
    const ev = event('evt_dup_1');
    const svc = app.get(WebhookService);
    await Promise.all([svc.enqueue(ev, `${base}/dup`), svc.enqueue(ev, `${base}/dup`)]);
    await until(
      'the delivery',
      () => rows(ev.id),
      (r) => r.length >= 1,
    );
    await svc.enqueue(ev, `${base}/dup`);
    await sleep(1_000);
    expect(hits('/dup')).toHaveLength(1);
    expect((await rows(ev.id)).map((r) => r.status_code)).toEqual([200]);
  });

  it('does not follow redirects', async () => {
    script.set('/moved', [302, 200]);
    const ev = event('evt_moved_1');
    await app.get(WebhookService).enqueue(ev, `${base}/moved`);
    const got = await until(
      'two attempts',
      () => rows(ev.id),
      (r) => r.some((x) => x.status_code === 200),
    );
    expect(got.map((r) => [r.status_code, r.error])).toEqual([
      [302, 'redirects are not followed'],
      [200, null],
    ]);
    expect(hits('/redirect-target')).toHaveLength(0);
  });

  it('times out a receiver that does not answer and tries again', async () => {
    script.set('/slow', [-1_500, 200]);
    const ev = event('evt_slow_1');
    await app.get(WebhookService).enqueue(ev, `${base}/slow`);
    const got = await until(
      'two attempts',
      () => rows(ev.id),
      (r) => r.some((x) => x.status_code === 200),
    );
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ status_code: null, error: expect.stringContaining('ETIMEDOUT') });
    expect(got[0].duration_ms).toBeGreaterThanOrEqual(400);
    expect(got[1].status_code).toBe(200);
  });

  it('fails a refused URL for good, without retrying or sending', async () => {
    const ev = event('evt_refused_1');
    await app.get(WebhookService).enqueue(ev, 'ftp://127.0.0.1/hook');
    const queue = app.get<Queue>(getQueueToken(WEBHOOK_QUEUE));
    await until(
      'the job to fail',
      async () => (await queue.getJob(ev.id))?.getState(),
      (s) => s === 'failed',
    );
    const got = await rows(ev.id);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ attempt: 1, status_code: null, error: expect.stringMatching(/^refused: .*http or https/) });
  });

  it('checks the address the connection itself resolves, against DNS rebinding', async () => {
    const url = new URL(`${base.replace('127.0.0.1', 'localhost')}/rebound`);
    await expect(postWebhook(url, '{}', {}, { timeoutMs: 2_000, lookup: guardedLookup })).rejects.toBeInstanceOf(
      WebhookAddressRefusedError,
    );
    expect(hits('/rebound')).toHaveLength(0);
    await expect(postWebhook(url, '{}', {}, { timeoutMs: 2_000 })).resolves.toBe(200);
  });

  describe('URL guard with private addresses refused', () => {
    async function refusal(url: string): Promise<DomainError> {
      const e = await assertWebhookUrlAllowed(url, false).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(DomainError);
      return e as DomainError;
    }

    it('refuses loopback, IPv6 loopback and non-http URLs', async () => {
      for (const url of ['http://127.0.0.1:1/x', 'http://[::1]/', 'ftp://example.com']) {
        const e = await refusal(url);
        expect(e.code).toBe('validation_error');
        expect(e.errors?.map((x) => x.field)).toEqual(['webhook_url']);
      }
    });

    it('passes a public IP literal (no request is made)', async () => {
      await expect(assertWebhookUrlAllowed('https://93.184.216.34/', false)).resolves.toBeUndefined();
    });
  });
});
