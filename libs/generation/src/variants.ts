/**
 * How each price-list variant is produced: which adapter, which provider
 * model, which size. New variants add a row here and a price version.
 */
export interface VariantRoute {
  provider: 'openai' | 'cloudflare';
  providerModel: string;
  defaultSize: string;
  sizes: string[];
}

export const VARIANT_ROUTES: Record<string, VariantRoute> = {
  'gpt-image-1-min': { provider: 'openai', providerModel: 'gpt-image-1', defaultSize: '1024x1024', sizes: ['1024x1024'] },
  'gpt-image-1-max': { provider: 'openai', providerModel: 'gpt-image-1', defaultSize: '1024x1536', sizes: ['1024x1536', '1536x1024'] },
  'gpt-image-2-cloudflare': {
    provider: 'cloudflare',
    providerModel: '@cf/openai/gpt-image-2',
    defaultSize: '1024x1024',
    sizes: ['1024x1024'],
  },
};
