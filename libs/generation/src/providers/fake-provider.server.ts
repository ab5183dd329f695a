import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';

/**
 * A real HTTP server speaking the two wire formats the adapters use, so tests
 * and benchmarks run the real adapter code (SDK, fetch, error mapping):
 *
 *   POST /v1/images/generations                     OpenAI Images  -> { created, data: [{ b64_json }] }
 *   POST /v1/images/edits                           OpenAI Images edit, multipart/form-data as the SDK sends it:
 *                                                   fields prompt, model, n, size, quality, and the input images
 *                                                   as files `image` (one) or `image[]` (several) -> the same answer;
 *                                                   each output's colour is a hash of the prompt, its index and the
 *                                                   inputs' bytes (fakeEditPng), so a test can tell the inputs arrived
 *   POST /client/v4/accounts/:account/ai/run/<model> Workers AI    -> { success, result: { image }, errors, messages }
 *
 * Any bearer token is accepted; a missing one is a 401. Images are 8x8 PNGs
 * whose colour is a hash of the prompt and the image's index (OpenAI), or of
 * the prompt and the seed (Cloudflare; without a seed, the call's number).
 *
 * Directives, written anywhere in the prompt, script a failure:
 *   [fake:fail=content_policy]  OpenAI: 400 { error: { code: 'content_policy_violation', type: 'invalid_request_error' } }
 *                               Cloudflare: 400 { success: false, errors: [{ message: 'flagged by content policy' }] }
 *   [fake:fail=server_error]    500 on every attempt (also fail=rate_limited -> 429, fail=bad_request -> 400)
 *   [fake:flaky=K]              the first K requests carrying this exact prompt answer 503, later ones succeed
 *                               (counted per wire format; for Cloudflare each per-image call is one request)
 *   [fake:partial=K]            OpenAI: a 200 with only min(n, K) images.
 *                               Cloudflare (one image per call, no request id on the wire): K calls for this
 *                               prompt succeed, later ones answer 400 'flagged by content policy' (one refused
 *                               output) until the prompt has been idle for PARTIAL_WINDOW_MS, which starts a new
 *                               count; so one generation, its calls made together, gets exactly K images.
 *   [fake:delay_ms=N]           this request waits N ms (on top of the global latency) before answering
 * Global: `latencyMs` delays every request; `failureRate` answers that share of requests with a 500.
 */
export interface FakeProviderOptions {
  port?: number;
  host?: string;
  latencyMs?: number;
  failureRate?: number;
}

export interface FakeProvider {
  /** http://host:port, no trailing slash. */
  url: string;
  /** baseURL for OpenAiProvider: `${url}/v1`. */
  openaiBaseURL: string;
  /** baseURL for CloudflareProvider: `${url}/client/v4`. */
  cloudflareBaseURL: string;
  port: number;
  close(): Promise<void>;
  setLatency(ms: number): void;
  setFailureRate(r: number): void;
  /** Every request received, answered or not. */
  readonly requests: number;
}

export const PARTIAL_WINDOW_MS = 1_000;
const MAX_BODY_BYTES = 1 << 20;
const OPENAI_ROUTE = '/v1/images/generations';
const OPENAI_EDIT_ROUTE = '/v1/images/edits';
const MAX_EDIT_BODY_BYTES = 64 << 20;
const CLOUDFLARE_ROUTE = /^\/client\/v4\/accounts\/[^/]+\/ai\/run\/.+$/;
const DIRECTIVE = /\[fake:(fail|flaky|partial|delay_ms)=([a-z0-9_]+)\]/g;

type Wire = 'openai' | 'cloudflare';
type Failure = 'content_policy' | 'server_error' | 'rate_limited' | 'bad_request' | 'unavailable' | 'auth' | 'not_found';

interface Directives {
  fail?: string;
  flaky?: number;
  partial?: number;
  delayMs?: number;
}

export async function startFakeProvider(opts: FakeProviderOptions = {}): Promise<FakeProvider> {
  let latencyMs = opts.latencyMs ?? 0;
  let failureRate = opts.failureRate ?? 0;
  let requests = 0;
  const flakyCounts = new Map<string, number>();
  const partialWindows = new Map<string, { served: number; lastAt: number }>();
  const sleepers = new Set<() => void>();

  const sleep = (ms: number, res: ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve(true);
      const done = (answered: boolean) => {
        clearTimeout(timer);
        sleepers.delete(cancel);
        res.off('close', cancel);
        resolve(answered);
      };
      const cancel = () => done(false);
      const timer = setTimeout(() => done(true), ms);
      sleepers.add(cancel);
      // The client gave up (its timeout): stop waiting rather than answer nobody.
      res.on('close', cancel);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests++;
    const path = (req.url ?? '/').split('?')[0];
    const isEdit = path === OPENAI_EDIT_ROUTE;
    const wire: Wire | undefined = path === OPENAI_ROUTE || isEdit ? 'openai' : CLOUDFLARE_ROUTE.test(path) ? 'cloudflare' : undefined;
    if (!wire || req.method !== 'POST') return fail(res, wire ?? 'openai', 'not_found', 'no such route');
    if (!/^Bearer \S+/i.test(req.headers.authorization ?? '')) return fail(res, wire, 'auth', 'missing bearer token');
    const form = isEdit ? await readEditForm(req) : undefined;
    if (isEdit && typeof form === 'string') return fail(res, wire, 'bad_request', form);
    const body = form && typeof form !== 'string' ? form.body : await readBody(req);
    if (!body || typeof body.prompt !== 'string' || body.prompt.length === 0) return fail(res, wire, 'bad_request', 'prompt is required');
    const prompt = body.prompt;
    const d = parseDirectives(prompt);
    if (!(await sleep(latencyMs + (d.delayMs ?? 0), res))) return;
    if (failureRate > 0 && Math.random() < failureRate) return fail(res, wire, 'server_error', 'injected random failure');
    if (d.fail) return fail(res, wire, asFailure(d.fail), `scripted failure: ${d.fail}`);
    if (d.flaky !== undefined) {
      const key = `${wire}:${prompt}`;
      const seen = (flakyCounts.get(key) ?? 0) + 1;
      flakyCounts.set(key, seen);
      if (seen <= d.flaky) return fail(res, wire, 'unavailable', `scripted flaky failure ${seen} of ${d.flaky}`);
    }
    if (wire === 'openai') {
      const n = body.n ?? 1;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 10)
        return fail(res, wire, 'bad_request', 'n must be an integer 1-10');
      const count = d.partial === undefined ? n : Math.min(n, d.partial);
      const inputs = form && typeof form !== 'string' ? form.images : undefined;
      const png = (i: number) => (inputs ? fakeEditPng(prompt, inputs, i) : fakePng(`${prompt}#${i}`));
      const data = Array.from({ length: count }, (_, i) => ({ b64_json: png(i).toString('base64') }));
      return send(res, 200, { created: Math.floor(Date.now() / 1000), data, output_format: 'png', background: 'opaque' });
    }
    // Without a seed each call draws a fresh image, as Workers AI does; the request number keeps it reproducible per run.
    let index = requests;
    if (d.partial !== undefined) {
      const now = Date.now();
      const w = partialWindows.get(prompt);
      const window = w && now - w.lastAt <= PARTIAL_WINDOW_MS ? w : { served: 0, lastAt: now };
      window.lastAt = now;
      partialWindows.set(prompt, window);
      if (window.served >= d.partial) return fail(res, wire, 'content_policy', 'one output refused (scripted partial)');
      index = window.served++;
    }
    const seed = typeof body.seed === 'number' ? body.seed : index;
    send(res, 200, { success: true, result: { image: fakePng(`${prompt}#${seed}`).toString('base64') }, errors: [], messages: [] });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: { message: 'fake provider crashed', type: 'server_error' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address, family } = server.address() as AddressInfo;
  const url = `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;

  return {
    url,
    openaiBaseURL: `${url}/v1`,
    cloudflareBaseURL: `${url}/client/v4`,
    port,
    get requests() {
      return requests;
    },
    setLatency(ms: number) {
      latencyMs = Math.max(0, ms);
    },
    setFailureRate(r: number) {
      failureRate = Math.min(1, Math.max(0, r));
    },
    close() {
      for (const cancel of [...sleepers]) cancel();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

export function parseDirectives(prompt: string): Directives {
  const d: Directives = {};
  for (const [, name, value] of prompt.matchAll(DIRECTIVE)) {
    if (name === 'fail') d.fail = value;
    else if (/^\d+$/.test(value)) {
      const v = Number(value);
      if (name === 'flaky') d.flaky = v;
      else if (name === 'partial') d.partial = v;
      else d.delayMs = v;
    }
  }
  return d;
}

function asFailure(name: string): Failure {
  return name === 'content_policy' || name === 'rate_limited' || name === 'bad_request' ? name : 'server_error';
}

const STATUS: Record<Failure, number> = {
  content_policy: 400,
  bad_request: 400,
  auth: 401,
  not_found: 404,
  rate_limited: 429,
  server_error: 500,
  unavailable: 503,
};

/** Error bodies as each provider shapes them, since the adapters classify on those fields. */
function fail(res: ServerResponse, wire: Wire, kind: Failure, message: string): void {
  const status = STATUS[kind];
  if (wire === 'cloudflare') {
    const msg = kind === 'content_policy' ? `flagged by content policy: ${message}` : message;
    return send(res, status, { success: false, result: null, errors: [{ code: 3000 + status, message: msg }], messages: [] });
  }
  const code =
    kind === 'content_policy'
      ? 'content_policy_violation'
      : kind === 'auth'
        ? 'invalid_api_key'
        : kind === 'rate_limited'
          ? 'rate_limit_exceeded'
          : null;
  const type = status >= 500 ? 'server_error' : kind === 'rate_limited' ? 'requests' : 'invalid_request_error';
  const msg = kind === 'content_policy' ? 'Your request was rejected as a result of our safety system.' : message;
  send(res, status, { error: { message: msg, type, param: null, code } });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

interface RequestBody {
  prompt?: unknown;
  n?: unknown;
  seed?: unknown;
}

/**
 * An edit's multipart body, parsed by the platform's own FormData parser:
 * its text fields as a RequestBody, its images in order. A string is why it
 * was refused (answered 400, as OpenAI answers a malformed edit).
 */
async function readEditForm(req: IncomingMessage): Promise<{ body: RequestBody; images: Buffer[] } | string> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data;\s*boundary=/i.test(type)) return 'an edit is multipart/form-data';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_EDIT_BODY_BYTES) return 'the body is too large';
    chunks.push(chunk as Buffer);
  }
  let form: FormData;
  try {
    form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': type } }).formData();
  } catch {
    return 'the multipart body could not be parsed';
  }
  const images: Buffer[] = [];
  for (const value of [...form.getAll('image'), ...form.getAll('image[]')]) {
    if (typeof value === 'string') return 'image must be a file';
    images.push(Buffer.from(await value.arrayBuffer()));
  }
  if (images.length === 0) return 'image is required';
  if (images.some((b) => b.length === 0)) return 'an image file is empty';
  const text = (name: string) => {
    const v = form.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const n = text('n');
  return { body: { prompt: text('prompt'), n: n === undefined ? undefined : Number(n) }, images };
}

/** The image an edit of `inputs` answers at index `i`: its colour a hash of the prompt, the index and every input's bytes. */
export function fakeEditPng(prompt: string, inputs: Buffer[], i: number): Buffer {
  const digest = createHash('sha256');
  for (const input of inputs) digest.update(createHash('sha256').update(input).digest());
  return fakePng(`edit:${prompt}#${i}:${digest.digest('hex')}`);
}

async function readBody(req: IncomingMessage): Promise<RequestBody | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buf);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const SIDE = 8;

/** A valid 8x8 RGB PNG (real CRCs and zlib stream), its colour a hash of `key`. */
export function fakePng(key: string): Buffer {
  const [r, g, b] = createHash('sha256').update(key).digest();
  const row = Buffer.alloc(1 + SIDE * 3); // leading 0: filter type None
  for (let x = 0; x < SIDE; x++) row.set([r, g, b], 1 + x * 3);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(SIDE, 0);
  ihdr.writeUInt32BE(SIDE, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, default compression/filter/interlace
  const idat = deflateSync(Buffer.concat(Array.from({ length: SIDE }, () => row)));
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}
