import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { crc32, inflateSync } from 'node:zlib';
import { CloudflareProvider } from '../../libs/generation/src/providers/cloudflare.provider.js';
import { type FakeProvider, startFakeProvider } from '../../libs/generation/src/providers/fake-provider.server.js';
import { OpenAiProvider } from '../../libs/generation/src/providers/openai.provider.js';
import { type ImageProvider, type ImageRequest, ProviderError } from '../../libs/generation/src/providers/provider.js';
import { callWithRetry } from '../../libs/generation/src/providers/retry.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CF_MODEL = '@cf/openai/gpt-image-2';

let fake: FakeProvider;
let openai: OpenAiProvider;
let cloudflare: CloudflareProvider;

beforeAll(async () => {
  fake = await startFakeProvider({ host: '127.0.0.1', port: 0 });
  openai = new OpenAiProvider({ apiKey: 'sk-test', baseURL: fake.openaiBaseURL });
  cloudflare = new CloudflareProvider({ accountId: 'acc-test', apiToken: 'cf-test', baseURL: fake.cloudflareBaseURL });
});

afterAll(async () => {
  await fake.close();
});

const oa = (prompt: string, n = 1): ImageRequest => ({ model: 'gpt-image-1', prompt, n, size: '1024x1024', quality: 'low' });
const cf = (prompt: string, n = 1, seed?: number): ImageRequest => ({ model: CF_MODEL, prompt, n, size: '1024x1024', seed });
const signal = () => AbortSignal.timeout(10_000);

async function providerError(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ProviderError) return e;
    throw e;
  }
  throw new Error('expected a ProviderError');
}

/** Walks the chunks, checking each CRC, and inflates the pixels: a PNG a decoder would accept. */
function expectValidPng(data: Buffer): void {
  expect(data.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  const types: string[] = [];
  let idat = Buffer.alloc(0);
  for (let at = 8; at < data.length;) {
    const len = data.readUInt32BE(at);
    const typeAndData = data.subarray(at + 4, at + 8 + len);
    expect(data.readUInt32BE(at + 8 + len)).toBe(crc32(typeAndData) >>> 0);
    types.push(typeAndData.toString('latin1', 0, 4));
    if (types.at(-1) === 'IDAT') idat = Buffer.concat([idat, typeAndData.subarray(4)]);
    at += 12 + len;
  }
  expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
  const [width, height] = [data.readUInt32BE(16), data.readUInt32BE(20)];
  expect(inflateSync(idat).length).toBe(height * (1 + width * 3));
}

async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('OpenAiProvider against the fake', () => {
  it('delivers n PNG images in one call', async () => {
    const before = fake.requests;
    const { images } = await openai.generate(oa('a lighthouse at dusk', 2), signal());
    expect(fake.requests - before).toBe(1);
    expect(images).toHaveLength(2);
    for (const img of images) {
      expect(img.format).toBe('png');
      expectValidPng(img.data);
    }
    expect(images[0].data.equals(images[1].data)).toBe(false);
  });

  it('passes on a partial answer as fewer images', async () => {
    const { images } = await openai.generate(oa('three cats [fake:partial=1]', 3), signal());
    expect(images).toHaveLength(1);
  });

  it('classifies a content policy refusal as final', async () => {
    const e = await providerError(openai.generate(oa('forbidden [fake:fail=content_policy]'), signal()));
    expect([e.kind, e.status, e.retryable]).toEqual(['content_policy', 400, false]);
  });

  it('classifies a 500 as a retryable server error', async () => {
    const e = await providerError(openai.generate(oa('boom [fake:fail=server_error]'), signal()));
    expect([e.kind, e.status, e.retryable]).toEqual(['server_error', 500, true]);
  });

  it('classifies a 429 as rate limited', async () => {
    const e = await providerError(openai.generate(oa('busy [fake:fail=rate_limited]'), signal()));
    expect([e.kind, e.retryable]).toEqual(['rate_limited', true]);
  });

  it('gets through two 503s on the third attempt, one request each', async () => {
    const before = fake.requests;
    const { result, attempts } = await callWithRetry((s) => openai.generate(oa('flaky openai [fake:flaky=2]'), s), {
      attempts: 3,
      timeoutMs: 5_000,
      baseDelayMs: 5,
    });
    expect(attempts).toBe(3);
    expect(result.images).toHaveLength(1);
    expect(fake.requests - before).toBe(3);
  });

  it('turns a slow answer into a timeout', async () => {
    const started = Date.now();
    const e = await providerError(
      callWithRetry((s) => openai.generate(oa('slow [fake:delay_ms=3000]'), s), { attempts: 1, timeoutMs: 150, baseDelayMs: 5 }),
    );
    expect([e.kind, e.retryable]).toEqual(['timeout', true]);
    expect(Date.now() - started).toBeLessThan(2_000);
    // Without callWithRetry: the adapter maps its own aborted signal the same way.
    const direct = await providerError(openai.generate(oa('slow direct [fake:delay_ms=3000]'), AbortSignal.timeout(100)));
    expect(direct.kind).toBe('timeout');
  });

  it('reports an unreachable host as a network error', async () => {
    const dead = new OpenAiProvider({ apiKey: 'sk-test', baseURL: `${await closedPortUrl()}/v1` });
    const e = await providerError(dead.generate(oa('anyone there'), signal()));
    expect([e.kind, e.retryable]).toEqual(['network', true]);
  });
});

describe('CloudflareProvider against the fake', () => {
  it('makes one call per image', async () => {
    const before = fake.requests;
    const { images } = await cloudflare.generate(cf('a fox in snow', 3), signal());
    expect(fake.requests - before).toBe(3);
    expect(images).toHaveLength(3);
    for (const img of images) {
      expect(img.format).toBe('png');
      expectValidPng(img.data);
    }
  });

  it('derives each image from the seed, so a seed reproduces the set', async () => {
    const a = await cloudflare.generate(cf('seeded', 2, 42), signal());
    const b = await cloudflare.generate(cf('seeded', 2, 42), signal());
    expect(a.images.map((i) => i.data.toString('base64'))).toEqual(b.images.map((i) => i.data.toString('base64')));
    expect(a.images[0].data.equals(a.images[1].data)).toBe(false);
  });

  it('delivers the images made before an output was refused', async () => {
    const { images } = await cloudflare.generate(cf('two of three [fake:partial=2]', 3), signal());
    expect(images).toHaveLength(2);
  });

  it('classifies a flagged prompt as content policy', async () => {
    const e = await providerError(cloudflare.generate(cf('forbidden [fake:fail=content_policy]', 2), signal()));
    expect([e.kind, e.status, e.retryable]).toEqual(['content_policy', 400, false]);
  });

  it('classifies a 500 as a retryable server error', async () => {
    const e = await providerError(cloudflare.generate(cf('boom [fake:fail=server_error]', 2), signal()));
    expect([e.kind, e.status, e.retryable]).toEqual(['server_error', 500, true]);
  });

  it('fails the attempt on a 503 so that the retry delivers all n', async () => {
    const { result, attempts } = await callWithRetry((s) => cloudflare.generate(cf('flaky cf [fake:flaky=1]', 2), s), {
      attempts: 3,
      timeoutMs: 5_000,
      baseDelayMs: 5,
    });
    expect(attempts).toBe(2);
    expect(result.images).toHaveLength(2);
  });

  it('turns a slow answer into a timeout', async () => {
    const e = await providerError(cloudflare.generate(cf('slow [fake:delay_ms=3000]', 2), AbortSignal.timeout(100)));
    expect(e.kind).toBe('timeout');
  });

  it('classifies a missing token as auth and an unreachable host as network', async () => {
    const anonymous = new CloudflareProvider({ accountId: 'acc-test', apiToken: '', baseURL: fake.cloudflareBaseURL });
    expect((await providerError(anonymous.generate(cf('who am i'), signal()))).kind).toBe('auth');
    const dead = new CloudflareProvider({ accountId: 'acc-test', apiToken: 't', baseURL: `${await closedPortUrl()}/client/v4` });
    expect((await providerError(dead.generate(cf('anyone there'), signal()))).kind).toBe('network');
  });
});

describe('the fake provider itself', () => {
  it('injects random 500s at the configured rate, on both wire formats', async () => {
    fake.setFailureRate(1);
    try {
      const providers: ImageProvider[] = [openai, cloudflare];
      for (const p of providers) {
        const req = p.name === 'openai' ? oa('unlucky') : cf('unlucky');
        expect((await providerError(p.generate(req, signal()))).kind).toBe('server_error');
      }
    } finally {
      fake.setFailureRate(0);
    }
  });

  it('delays every answer by the configured latency', async () => {
    fake.setLatency(120);
    try {
      const started = Date.now();
      await openai.generate(oa('patient'), signal());
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    } finally {
      fake.setLatency(0);
    }
  });

  it('refuses a request without a bearer token', async () => {
    const res = await fetch(`${fake.openaiBaseURL}/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x' }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
  });
});
