import { formatTokens } from '@app/common';

export interface GenerationRow {
  id: string;
  wallet_id: string;
  owner_id: string;
  spender_id: string | null;
  reservation_id: string;
  batch_id: string | null;
  kind: 'generate' | 'edit';
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  model: string;
  variant: string;
  n: number;
  size: string | null;
  quality: string | null;
  dimensions: Record<string, string> | null;
  price_version: number | null;
  input_images: number;
  unit_cost_micro_usd: string | null;
  provider_cost_micro_usd: string | null;
  seed: string | null;
  prompt: string;
  webhook_url: string | null;
  metadata: Record<string, unknown> | null;
  unit_price: string;
  output: { images: { url: string }[]; format: string } | null;
  delivered: number;
  tokens_used: string;
  error: { code: string; message: string } | null;
  attempts: number;
  enqueued_at: Date | null;
  created_at: Date;
  finished_at: Date | null;
}

export const GENERATION_COLUMNS = `id, wallet_id, owner_id, spender_id, reservation_id, batch_id, kind, status, model, variant, n, size, quality,
  dimensions, price_version, input_images, unit_cost_micro_usd::text, provider_cost_micro_usd::text, seed::text, prompt, webhook_url, metadata, unit_price::text, output, delivered, tokens_used::text, error, attempts,
  enqueued_at, created_at, finished_at`;

/** What a generation was priced at, and why: the dimensions of the price it matched, its version, tokens per image. */
export interface GenerationPrice {
  dimensions: Record<string, string>;
  version: number | null;
  unit_price: string;
}

export function generationPrice(g: Pick<GenerationRow, 'dimensions' | 'price_version' | 'unit_price'>): GenerationPrice {
  return { dimensions: g.dimensions ?? {}, version: g.price_version, unit_price: formatTokens(BigInt(g.unit_price)) };
}

export function generationView(g: GenerationRow) {
  const images = g.output?.images ?? [];
  return {
    id: g.id,
    kind: g.kind,
    status: g.status,
    owner_id: g.owner_id,
    spender_id: g.spender_id ?? null,
    model: g.model,
    variant: g.variant,
    n: g.n,
    size: g.size,
    quality: g.quality,
    input_images: g.input_images,
    price: generationPrice(g),
    reservation_id: g.reservation_id,
    batch_id: g.batch_id,
    reserved: formatTokens(BigInt(g.unit_price) * BigInt(g.n)),
    output: { image_url: images[0]?.url ?? null, images, format: g.output?.format ?? null },
    tokens_used: formatTokens(BigInt(g.tokens_used)),
    error: g.error,
    metadata: g.metadata,
    created_at: g.created_at.toISOString(),
    finished_at: g.finished_at ? g.finished_at.toISOString() : null,
  };
}

export interface BatchRow {
  id: string;
  owner_id: string;
  spender_id?: string | null;
  variant: string;
  status: 'running' | 'completed';
  total: number;
  succeeded: number;
  failed: number;
  reserved: string;
  tokens_used: string;
  webhook_url: string | null;
  created_at: Date;
  finished_at: Date | null;
}

export function batchView(b: BatchRow) {
  return {
    id: b.id,
    status: b.status,
    owner_id: b.owner_id,
    spender_id: b.spender_id ?? null,
    variant: b.variant,
    total: b.total,
    succeeded: b.succeeded,
    failed: b.failed,
    pending: b.total - b.succeeded - b.failed,
    reserved: formatTokens(BigInt(b.reserved)),
    tokens_used: formatTokens(BigInt(b.tokens_used)),
    created_at: b.created_at.toISOString(),
    finished_at: b.finished_at ? b.finished_at.toISOString() : null,
  };
}
