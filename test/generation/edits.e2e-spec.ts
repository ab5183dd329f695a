import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { fakeEditPng, fakePng } from '@app/generation';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from './support.js';

const MODEL = 'models/openai/gpt-image';
const MIB = 1024 * 1024;

/**
 * POST /v1/image/edits end to end: the real OpenAI SDK's images.edit sends
 * multipart/form-data to the fake provider, which answers images whose colour
 * is a hash of the inputs' bytes, so what arrived there is checked too.
 */
describe('image edits end to end (OpenAI SDK images.edit, fake provider over HTTP)', () => {
  let t: TestApp;
  let files: Server;
  let filesUrl = '';
  const hooks: { type: string; data: { id: string; kind: string; tokens_used: string } }[] = [];
  const inputA = fakePng('input-a');
  const inputB = fakePng('input-b');

  beforeAll(async () => {
    t = await startApp(generationEnv());
    // Serves input images by URL, and the webhook receiver.
    files = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/hook') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          hooks.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          res.writeHead(200).end();
        });
        return;
      }
      const body: Record<string, Buffer> = {
        '/a.png': inputA,
        '/b.png': inputB,
        '/big.png': Buffer.concat([inputA, Buffer.alloc(4 * MIB)]),
        '/text': Buffer.from('not an image'),
      };
      const data = body[req.url ?? ''];
      if (!data) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'image/png' }).end(data);
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    for (const o of ['ed_b64', 'ed_url', 'ed_bad', 'ed_partial']) expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
    await new Promise<void>((resolve) => files.close(() => resolve()));
  });

  const edit = (body: Record<string, unknown>, idem = idemKey('edit')) =>
    call(t, 'POST', '/v1/image/edits', { model: MODEL, ...body }, { idem });
  const balance = async (owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body.balance;
  const imageAt = async (url: string) => Buffer.from(await (await fetch(`${t.baseUrl}${new URL(url).pathname}`)).arrayBuffer());
  const db = () => t.app.get(Database);

  it('a base64 input: priced by input_images, charged, its output made from that input, webhook sent', async () => {
    const prompt = 'add a hat';
    const r = await edit({
      owner_id: 'ed_b64',
      prompt,
      quality: 'high',
      images: [{ b64_json: inputA.toString('base64') }],
      webhook_url: `${filesUrl}/hook`,
    });
    expect(r.status).toBe(202);
    expect(r.headers.get('location')).toBe(`/v1/generations/${r.body.id}`);
    // The model's default variant has no edit price, so its first variant that has: gpt-image-1.
    // (167000 + 7650) micro-USD x 354 / 16700 = 3702.2 -> 3.703.
    expect(r.body).toMatchObject({ kind: 'edit', variant: 'gpt-image-1', input_images: 1, reserved: '3.703', size: '1024x1024' });
    expect(r.body.price).toEqual({
      dimensions: { input_images: '1', quality: 'high', size: '1024x1024' },
      version: 1,
      unit_price: '3.703',
    });
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect([g.status, g.tokens_used]).toEqual(['succeeded', '3.703']);
    expect((await imageAt(g.output.images[0].url)).equals(fakeEditPng(prompt, [inputA], 0))).toBe(true);
    expect(await balance('ed_b64')).toEqual({ available: '11.297', held: '0.000' });
    const [row] = await db().query<{ cost: string; inputs: number }>(
      `SELECT provider_cost_micro_usd::text AS cost, (SELECT count(*)::int FROM generation_inputs WHERE generation_id = $1) AS inputs
       FROM generations WHERE id = $1`,
      [r.body.id],
    );
    expect(row).toEqual({ cost: '174650', inputs: 0 });
    for (let i = 0; i < 50 && hooks.length === 0; i++) await new Promise((res) => setTimeout(res, 100));
    expect(hooks[0]).toMatchObject({ type: 'generation.succeeded', data: { id: r.body.id, kind: 'edit', tokens_used: '3.703' } });
  });

  it('inputs by URL and base64 together, n=2: both reach the provider, in order, and 2 images are charged', async () => {
    const prompt = 'merge them';
    const r = await edit({
      owner_id: 'ed_url',
      variant: 'gpt-image-1',
      prompt,
      n: 2,
      size: '1024x1536',
      images: [{ url: `${filesUrl}/a.png` }, { b64_json: `data:image/png;base64,${inputB.toString('base64')}` }],
    });
    // (63000 + 2 x 7650) x 354 / 16700 = 1659.8 -> 1.660 an image.
    expect([r.status, r.body.reserved, r.body.price.unit_price]).toEqual([202, '3.320', '1.660']);
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect([g.status, g.tokens_used, g.output.images.length]).toEqual(['succeeded', '3.320', 2]);
    expect((await imageAt(g.output.images[1].url)).equals(fakeEditPng(prompt, [inputA, inputB], 1))).toBe(true);
    expect(await balance('ed_url')).toEqual({ available: '11.680', held: '0.000' });
  });

  it('a partial delivery charges only the images delivered', async () => {
    const r = await edit({
      owner_id: 'ed_partial',
      prompt: 'two [fake:partial=1]',
      n: 2,
      quality: 'low',
      images: [{ url: `${filesUrl}/b.png` }],
    });
    // (11000 + 7650) x 354 / 16700 = 395.3 -> 0.396 an image.
    expect(r.body.reserved).toBe('0.792');
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect([g.status, g.tokens_used]).toEqual(['succeeded', '0.396']);
    expect(await balance('ed_partial')).toEqual({ available: '14.604', held: '0.000' });
  });

  it('refuses bad inputs with problem+json and reserves nothing', async () => {
    const png = inputA.toString('base64');
    const cases: [Record<string, unknown>, number, string, string?][] = [
      [{ images: [] }, 400, 'validation_error', 'images'],
      [{ images: [{}] }, 400, 'validation_error', 'images[0]'],
      [{ images: [{ url: `${filesUrl}/a.png`, b64_json: png }] }, 400, 'validation_error', 'images[0]'],
      [{ images: Array.from({ length: 5 }, () => ({ b64_json: png })) }, 400, 'validation_error', 'images'],
      [{ images: [{ b64_json: 'not base64!' }] }, 400, 'validation_error', 'images[0].b64_json'],
      [
        { images: [{ b64_json: Buffer.from('plain text, not an image').toString('base64') }] },
        400,
        'validation_error',
        'images[0].b64_json',
      ],
      [{ images: [{ b64_json: png }, { url: `${filesUrl}/missing.png` }] }, 400, 'validation_error', 'images[1].url'],
      [{ images: [{ url: `${filesUrl}/text` }] }, 400, 'validation_error', 'images[0].url'],
      [{ images: [{ url: 'ftp://example.com/a.png' }] }, 400, 'validation_error', 'images[0].url'],
      [{ images: [{ url: `${filesUrl}/big.png` }] }, 413, 'input_image_too_large'],
      [{ images: [{ b64_json: Buffer.concat([inputA, Buffer.alloc(4 * MIB)]).toString('base64') }] }, 413, 'input_image_too_large'],
      [{ images: [{ b64_json: png }], quality: 'auto' }, 422, 'price_not_found'],
      [{ images: [{ b64_json: png }], variant: 'gpt-image-1-min' }, 422, 'price_not_found'],
      [{ images: [{ b64_json: png }], variant: 'gpt-image-2-cloudflare' }, 404, 'variant_not_found'],
      [{ images: [{ b64_json: png }], seed: 1 }, 400, 'validation_error'],
    ];
    for (const [body, status, code, field] of cases) {
      const r = await edit({ owner_id: 'ed_bad', prompt: 'x', ...body });
      expect([r.status, r.body.code]).toEqual([status, code]);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      if (field) expect(r.body.errors?.[0]?.field).toBe(field);
    }
    // The body limit of this route is 8 MiB (other routes: 256 kB).
    const huge = await edit({ owner_id: 'ed_bad', prompt: 'x', images: [{ b64_json: 'A'.repeat(9 * MIB) }] });
    expect([huge.status, huge.body.code]).toEqual([413, 'payload_too_large']);
    expect(await balance('ed_bad')).toEqual({ available: '15.000', held: '0.000' });
    const tx = await call(t, 'GET', '/v1/wallets/ed_bad/transactions?limit=50');
    expect(tx.body.data.filter((d: { type: string }) => d.type !== 'grant')).toEqual([]);
    const [{ n }] = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM generations WHERE owner_id = 'ed_bad'`);
    expect(n).toBe(0);
  });
});
