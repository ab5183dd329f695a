/** What every image provider adapter speaks: the worker neither knows nor cares which wire format is behind it. */
export interface ImageRequest {
  /** The provider's model id (gpt-image-1, or a Workers AI model path). */
  model: string;
  prompt: string;
  n: number;
  /** WIDTHxHEIGHT, e.g. 1024x1024. */
  size: string;
  quality?: string;
  seed?: number;
}

/** An edit: the request of a generation plus its input images (images.edit). */
export interface ImageEditRequest extends Omit<ImageRequest, 'seed'> {
  images: { data: Buffer; mediaType: 'image/png' | 'image/jpeg' | 'image/webp' }[];
}

export interface GeneratedImage {
  data: Buffer;
  format: 'png' | 'jpeg' | 'webp';
}

export interface ImageResult {
  /** May hold fewer images than asked for: the caller charges for what is here. */
  images: GeneratedImage[];
}

export type ProviderErrorKind = 'rate_limited' | 'server_error' | 'timeout' | 'network' | 'content_policy' | 'bad_request' | 'auth';

/** A provider failure, classified: 429, 5xx, timeouts and network errors are retried; 4xx never. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly kind: ProviderErrorKind,
    readonly status?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'server_error' || this.kind === 'timeout' || this.kind === 'network';
  }
}

export interface ImageProvider {
  readonly name: 'openai' | 'cloudflare';
  /** One attempt; throws ProviderError. `signal` aborts it (the caller's timeout). */
  generate(req: ImageRequest, signal: AbortSignal): Promise<ImageResult>;
  /** One attempt at an edit, for adapters that can edit (VariantRoute.edits); throws ProviderError. */
  edit?(req: ImageEditRequest, signal: AbortSignal): Promise<ImageResult>;
}
