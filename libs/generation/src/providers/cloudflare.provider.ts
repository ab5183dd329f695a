import { type GeneratedImage, type ImageProvider, type ImageRequest, type ImageResult, ProviderError } from './provider.js';

export interface CloudflareProviderOptions {
  accountId: string;
  apiToken: string;
  /** CLOUDFLARE_BASE_URL; the bundled fake serves `${url}/client/v4`. */
  baseURL?: string;
  /** Workers AI runs one image per call; this many calls of one request are in flight at once. */
  concurrency?: number;
}

const DEFAULT_BASE_URL = 'https://api.cloudflare.com/client/v4';
const DEFAULT_CONCURRENCY = 4;
// Workers AI reports a refused prompt or a flagged output as a 4xx whose message says so; there is no stable code.
const POLICY_PATTERN = /policy|nsfw|flagged|safety|moderation/i;

interface WorkersAiEnvelope {
  success?: boolean;
  result?: { image?: unknown } | null;
  errors?: { code?: number; message?: string }[];
}

export class CloudflareProvider implements ImageProvider {
  readonly name = 'cloudflare' as const;
  private readonly baseURL: string;
  private readonly concurrency: number;

  constructor(private readonly opts: CloudflareProviderOptions) {
    this.baseURL = (opts.baseURL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /**
   * n calls, a few at a time. Images already made are worth delivering (the
   * caller charges per delivered image), so a call refused for good (content
   * policy on one output) after others succeeded yields a partial result. A
   * retryable failure instead fails the attempt, so the caller's retry can
   * still deliver all n; if nothing was delivered the first error is thrown.
   */
  async generate(req: ImageRequest, signal: AbortSignal): Promise<ImageResult> {
    const { width, height } = parseSize(req.size);
    // Siblings are cancelled once the attempt is lost, so they stop costing provider time.
    const local = new AbortController();
    const onAbort = () => local.abort(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const images: (GeneratedImage | undefined)[] = new Array<GeneratedImage | undefined>(req.n).fill(undefined);
    const failures: ProviderError[] = [];
    let next = 0;
    const lane = async () => {
      while (next < req.n && failures.length === 0 && !local.signal.aborted) {
        const i = next++;
        const body = { prompt: req.prompt, width, height, ...(req.seed === undefined ? {} : { seed: req.seed + i }) };
        try {
          images[i] = await this.runOnce(req.model, body, local.signal);
        } catch (err) {
          const e = err instanceof ProviderError ? err : toProviderError(err, local.signal);
          failures.push(e);
          if (e.retryable) local.abort(e);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.concurrency, req.n) }, lane));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) throw withCause(new ProviderError('cloudflare request timed out', 'timeout'), signal.reason);
    const delivered = images.filter((x): x is GeneratedImage => x !== undefined);
    const retryable = failures.find((f) => f.retryable);
    if (retryable) throw retryable;
    if (delivered.length === 0) throw failures[0] ?? new ProviderError('cloudflare returned no images', 'server_error');
    return { images: delivered };
  }

  private async runOnce(model: string, body: object, signal: AbortSignal): Promise<GeneratedImage> {
    // Model ids are paths (@cf/vendor/name): the slashes are part of the route, not to be escaped.
    const url = `${this.baseURL}/accounts/${encodeURIComponent(this.opts.accountId)}/ai/run/${model}`;
    let res: Response;
    let payload: WorkersAiEnvelope | undefined;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.opts.apiToken}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
      payload = await readJson(res);
    } catch (err) {
      throw toProviderError(err, signal);
    }
    if (!res.ok || payload?.success === false) throw statusError(res.status, payload);
    const image = payload?.result?.image;
    if (typeof image !== 'string' || image.length === 0)
      throw new ProviderError('cloudflare answered without an image', 'server_error', res.status);
    const data = Buffer.from(image, 'base64');
    return { data, format: sniffFormat(data) };
  }
}

/** WIDTHxHEIGHT, the only form the price list's sizes take. */
export function parseSize(size: string): { width: number; height: number } {
  const m = /^(\d{2,5})x(\d{2,5})$/.exec(size);
  if (!m) throw new ProviderError(`size must be WIDTHxHEIGHT, got ${size}`, 'bad_request');
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Workers AI models differ in what they encode (flux answers JPEG), and the envelope does not say. */
export function sniffFormat(data: Buffer): GeneratedImage['format'] {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpeg';
  if (data.length >= 12 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return 'png';
}

async function readJson(res: Response): Promise<WorkersAiEnvelope | undefined> {
  const text = await res.text();
  try {
    return JSON.parse(text) as WorkersAiEnvelope;
  } catch {
    // A proxy's HTML error page: the status alone classifies it, and a 200 without JSON has no image.
    return undefined;
  }
}

function statusError(status: number, payload: WorkersAiEnvelope | undefined): ProviderError {
  const detail = (payload?.errors ?? []).map((e) => e.message ?? '').join('; ') || `HTTP ${status}`;
  const message = `cloudflare ${status}: ${detail}`;
  if (status === 429) return new ProviderError(message, 'rate_limited', status);
  if (status >= 500) return new ProviderError(message, 'server_error', status);
  if (status === 408) return new ProviderError(message, 'timeout', status);
  if (status === 401 || status === 403) return new ProviderError(message, 'auth', status);
  if (POLICY_PATTERN.test(detail)) return new ProviderError(message, 'content_policy', status);
  // A 200 with success:false carries no HTTP hint; its errors decide, and unknown ones are not retried.
  return new ProviderError(message, 'bad_request', status);
}

function toProviderError(err: unknown, signal: AbortSignal): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal.aborted) {
    // Our own sibling cancellation carries the failure that caused it.
    if (signal.reason instanceof ProviderError) return signal.reason;
    return withCause(new ProviderError('cloudflare request timed out', 'timeout'), err);
  }
  // undici reports refused connections, resets and DNS failures as TypeError('fetch failed').
  const message = err instanceof Error ? err.message : String(err);
  return withCause(new ProviderError(`cloudflare call failed: ${message}`, 'network'), err);
}

function withCause(e: ProviderError, cause: unknown): ProviderError {
  e.cause = cause;
  return e;
}
