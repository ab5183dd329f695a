import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, toFile } from 'openai';
import {
  type GeneratedImage,
  type ImageEditRequest,
  type ImageProvider,
  type ImageRequest,
  type ImageResult,
  ProviderError,
} from './provider.js';

export interface OpenAiProviderOptions {
  apiKey: string;
  /** OPENAI_BASE_URL; the bundled fake serves `${url}/v1`. */
  baseURL?: string;
  /**
   * The SDK's own ceiling on one HTTP call. The caller's per-attempt signal is
   * the real budget; this only bounds a call made without one.
   */
  timeoutMs?: number;
}

type GenerateParams = OpenAI.ImageGenerateParamsNonStreaming;
type EditParams = OpenAI.ImageEditParamsNonStreaming;
const EXTENSION = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' } as const;
type Quality = NonNullable<GenerateParams['quality']>;
const QUALITIES: readonly string[] = ['standard', 'hd', 'low', 'medium', 'high', 'auto'] satisfies Quality[];

// OpenAI answers a refused prompt with 400 and one of these codes; the message is checked too
// because the code has been null on some moderation refusals.
const POLICY_MARKERS = ['content_policy_violation', 'moderation_blocked', 'content policy', 'safety system'];

export class OpenAiProvider implements ImageProvider {
  readonly name = 'openai' as const;
  private readonly client: OpenAI;

  constructor(opts: OpenAiProviderOptions) {
    // Retries are callWithRetry's: SDK retries would multiply attempts and hide them from the attempt count.
    this.client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: opts.timeoutMs ?? 120_000 });
  }

  async generate(req: ImageRequest, signal: AbortSignal): Promise<ImageResult> {
    const params: GenerateParams = { model: req.model, prompt: req.prompt, n: req.n, size: req.size };
    if (req.quality !== undefined) {
      if (!isQuality(req.quality)) throw new ProviderError(`unsupported quality for openai: ${req.quality}`, 'bad_request');
      params.quality = req.quality;
    }
    // The Images API takes no seed; dropping it is the documented behaviour, not an error.
    let response: OpenAI.ImagesResponse;
    try {
      response = await this.client.images.generate(params, { signal });
    } catch (err) {
      throw toProviderError(err, signal);
    }
    return imagesOf(response);
  }

  /** images.edit: the SDK sends the input images as multipart/form-data (image[] when there are several). */
  async edit(req: ImageEditRequest, signal: AbortSignal): Promise<ImageResult> {
    let response: OpenAI.ImagesResponse;
    try {
      const files = await Promise.all(
        req.images.map((img, i) => toFile(img.data, `input-${i}.${EXTENSION[img.mediaType]}`, { type: img.mediaType })),
      );
      const params: EditParams = { model: req.model, prompt: req.prompt, n: req.n, size: req.size, image: files };
      if (req.quality !== undefined) {
        if (!isEditQuality(req.quality)) throw new ProviderError(`unsupported edit quality for openai: ${req.quality}`, 'bad_request');
        params.quality = req.quality;
      }
      response = await this.client.images.edit(params, { signal });
    } catch (err) {
      throw toProviderError(err, signal);
    }
    return imagesOf(response);
  }
}

function imagesOf(response: OpenAI.ImagesResponse): ImageResult {
  const format: GeneratedImage['format'] = response.output_format ?? 'png';
  // gpt-image models always answer base64; an entry without it (a url-only dall-e answer) is not deliverable.
  const images = (response.data ?? [])
    .filter((d): d is typeof d & { b64_json: string } => typeof d.b64_json === 'string' && d.b64_json.length > 0)
    .map((d) => ({ data: Buffer.from(d.b64_json, 'base64'), format }));
  // A 200 with nothing in it is a provider fault, and worth another try, not a zero-image success.
  if (images.length === 0) throw new ProviderError('openai returned no images', 'server_error', 200);
  return { images };
}

const EDIT_QUALITIES: readonly string[] = ['standard', 'low', 'medium', 'high', 'auto'] satisfies NonNullable<EditParams['quality']>[];

function isEditQuality(q: string): q is NonNullable<EditParams['quality']> {
  return EDIT_QUALITIES.includes(q);
}

function isQuality(q: string): q is Quality {
  return QUALITIES.includes(q);
}

/** Order matters: the SDK's abort, timeout and connection errors are APIError subclasses without a status. */
export function toProviderError(err: unknown, signal?: AbortSignal): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted || err instanceof APIUserAbortError || err instanceof APIConnectionTimeoutError || isAbortError(err)) {
    return withCause(new ProviderError('openai request timed out', 'timeout'), err);
  }
  if (err instanceof APIConnectionError) return withCause(new ProviderError(`openai connection failed: ${err.message}`, 'network'), err);
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const message = `openai ${err.message}`;
    if (status === 429) return withCause(new ProviderError(message, 'rate_limited', status), err);
    if (status >= 500) return withCause(new ProviderError(message, 'server_error', status), err);
    if (status === 408) return withCause(new ProviderError(message, 'timeout', status), err);
    if (status === 401 || status === 403) return withCause(new ProviderError(message, 'auth', status), err);
    if (isPolicyRefusal(err)) return withCause(new ProviderError(message, 'content_policy', status), err);
    return withCause(new ProviderError(message, 'bad_request', status), err);
  }
  // A body that broke off mid-read or an unparsable answer: transport trouble, so retryable.
  const message = err instanceof Error ? err.message : String(err);
  return withCause(new ProviderError(`openai call failed: ${message}`, 'network'), err);
}

function isPolicyRefusal(err: { code?: string | null; type?: string; message: string }): boolean {
  const text = `${err.code ?? ''} ${err.type ?? ''} ${err.message}`.toLowerCase();
  return POLICY_MARKERS.some((m) => text.includes(m));
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

function withCause(e: ProviderError, cause: unknown): ProviderError {
  e.cause = cause;
  return e;
}
