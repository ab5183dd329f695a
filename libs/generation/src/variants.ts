/**
 * How each price-list variant is produced: which adapter, which provider
 * model, which sizes, whether it can edit. New variants add a row here and
 * prices (keyed by the dimensions the variant is priced by).
 */
export interface VariantRoute {
  provider: 'openai' | 'cloudflare';
  providerModel: string;
  defaultSize: string;
  sizes: string[];
  /**
   * The quality sent when the request names none, for a variant priced by
   * quality: what is billed is what the provider is asked for.
   */
  defaultQuality?: string;
  /** Whether the adapter can edit images (images.edit); the variant must also have edit prices (input_images). */
  edits: boolean;
}

export const VARIANT_ROUTES: Record<string, VariantRoute> = {
  'gpt-image-1': {
    provider: 'openai',
    providerModel: 'gpt-image-1',
    defaultSize: '1024x1024',
    sizes: ['1024x1024', '1024x1536', '1536x1024'],
    defaultQuality: 'medium',
    edits: true,
  },
  'gpt-image-1-min': { provider: 'openai', providerModel: 'gpt-image-1', defaultSize: '1024x1024', sizes: ['1024x1024'], edits: true },
  'gpt-image-1-max': {
    provider: 'openai',
    providerModel: 'gpt-image-1',
    defaultSize: '1024x1536',
    sizes: ['1024x1536', '1536x1024'],
    edits: true,
  },
  'gpt-image-2-cloudflare': {
    provider: 'cloudflare',
    providerModel: '@cf/openai/gpt-image-2',
    defaultSize: '1024x1024',
    sizes: ['1024x1024'],
    edits: false,
  },
};

/** At most this many input images per edit, each at most MAX_INPUT_IMAGE_BYTES (decoded or fetched). */
export const MAX_INPUT_IMAGES = 4;
export const MAX_INPUT_IMAGE_BYTES = 4 * 1024 * 1024;
/** The route of image edits (its body limit is raised in the HTTP app). */
export const IMAGE_EDITS_ROUTE = '/v1/image/edits';
/** The JSON body of an edit may carry base64 images: up to this many bytes (other routes: 256 kB). */
export const EDIT_BODY_LIMIT = 8 * 1024 * 1024;
