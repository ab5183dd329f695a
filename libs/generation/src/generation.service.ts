import {
  APP_CONFIG,
  AppConfig,
  assertWebhookUrlAllowed,
  Clock,
  Database,
  DomainError,
  Errors,
  IdempotencyService,
  type IdempotentRequest,
  LOGGER,
  newId,
  Outcome,
  Tx,
} from '@app/common';
import { Ledger, ReservationService } from '@app/ledger';
import { type Dimensions, type PricedRequest, priceOf, PricingService } from '@app/pricing';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { EditImageDto } from './dto/edit-image.dto.js';
import type { CreateBatchDto, GenerateImageDto } from './dto/generate-image.dto.js';
import { decodeBase64Image, fetchImage, type InputImage } from './edit-inputs.js';
import { GENERATE_JOB, GENERATION_QUEUE } from './queues.js';
import { VARIANT_ROUTES, VariantRoute } from './variants.js';
import { BatchRow, batchView, GENERATION_COLUMNS, type GenerationPrice, generationPrice, GenerationRow, generationView } from './views.js';

/** How long Redis may take to accept a job before the request is answered 503. */
const QUEUE_TIMEOUT_MS = 2_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

/** How much of a prompt a listing carries: enough to recognise it, not a 32,000-character page. */
const PROMPT_HEAD = 200;

/** A generation as a wallet's listing shows it (the charge as millitokens; the caller formats it beside its refunds). */
export interface WalletGeneration {
  id: string;
  kind: GenerationRow['kind'];
  status: GenerationRow['status'];
  variant: string;
  price: GenerationPrice;
  n: number;
  delivered: number;
  batch_id: string | null;
  prompt: string;
  prompt_truncated: boolean;
  image_url: string | null;
  error: { code: string; message: string } | null;
  tokensUsed: bigint;
  created_at: string;
  finished_at: string | null;
}

/** A variant priced at 0 tokens: a generation is made of its hold, and there is nothing to hold (as for reservations by variant). */
const zeroPrice = (variant: string) =>
  Errors.unprocessable('zero_price', `Variant ${variant} is priced at 0 tokens; nothing can be reserved for it, so nothing was generated`);
const queueDown = () => Errors.unavailable('queue_unavailable', 'The job queue is unavailable; nothing was reserved. Retry later.');

@Injectable()
export class GenerationService {
  constructor(
    private readonly db: Database,
    private readonly idempotency: IdempotencyService,
    private readonly reservations: ReservationService,
    private readonly ledger: Ledger,
    private readonly pricing: PricingService,
    private readonly clock: Clock,
    @InjectQueue(GENERATION_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Prices n images, reserves and records the generation in one transaction, then enqueues it. */
  async create(idem: IdempotentRequest, dto: GenerateImageDto): Promise<Outcome<ReturnType<typeof generationView>>> {
    // The variant, the price and the queue are checked before the key is claimed: a retry of a
    // request that was taken replays it even once one of them is gone (orReplay).
    return this.idempotency.orReplay(idem, async () => {
      const variant = await this.resolveVariant(dto.model, dto.variant);
      return this.start(idem, { kind: 'generate', dto, variant, seed: dto.seed ?? null, inputs: [] });
    });
  }

  /**
   * An edit: the input images are read and checked first (fetched by URL or
   * decoded), then it is priced with `input_images` as a dimension and goes
   * the way of a generation (same reservation, queue, finisher, webhooks).
   * Any bad input is refused before anything is reserved.
   */
  createEdit(idem: IdempotentRequest, dto: EditImageDto): Promise<Outcome<ReturnType<typeof generationView>>> {
    // Its images are fetched before the claim too: one gone since the first try does not refuse the retry.
    return this.idempotency.orReplay(idem, () => this.edit(idem, dto));
  }

  private async edit(idem: IdempotentRequest, dto: EditImageDto): Promise<Outcome<ReturnType<typeof generationView>>> {
    const variant = await this.resolveVariant(dto.model, dto.variant, 'edit');
    if (!VARIANT_ROUTES[variant].edits) throw Errors.notFound('variant_not_found', `Variant ${variant} cannot edit images`);
    // Cheap checks of every image before any fetch.
    dto.images.forEach((img, i) => {
      if ((img.url === undefined) === (img.b64_json === undefined)) {
        const field = `images[${i}]`;
        throw Errors.validation(`${field} must have exactly one of url and b64_json`, [
          { field, message: `${field} must have exactly one of url and b64_json` },
        ]);
      }
    });
    // The price first, so an edit that cannot be priced costs no fetch; the edit is reserved at it.
    const priced = await this.pricing.priceRequest(
      variant,
      this.dimensionsOf(VARIANT_ROUTES[variant], dto, dto.images.length),
      this.clock.now(),
      ['input_images'],
    );
    const inputs: InputImage[] = [];
    for (const [i, img] of dto.images.entries()) {
      inputs.push(
        img.b64_json !== undefined
          ? decodeBase64Image(`images[${i}].b64_json`, img.b64_json)
          : await fetchImage(`images[${i}].url`, img.url ?? '', this.config.ALLOW_PRIVATE_WEBHOOK_URLS),
      );
    }
    return this.start(idem, { kind: 'edit', dto, variant, seed: null, inputs, priced });
  }

  /** The request's dimensions: its size (or the variant's default), quality, and an edit's input image count. */
  private dimensionsOf(route: VariantRoute, dto: GenerateImageDto | EditImageDto, inputImages = 0): Dimensions {
    const dims: Record<string, string> = { size: this.resolveSize(route, dto.size) };
    const quality = dto.quality ?? route.defaultQuality;
    if (quality !== undefined) dims.quality = quality;
    if (inputImages > 0) dims.input_images = String(inputImages);
    return dims;
  }

  private async start(
    idem: IdempotentRequest,
    req: {
      kind: 'generate' | 'edit';
      dto: GenerateImageDto | EditImageDto;
      variant: string;
      seed: number | null;
      inputs: InputImage[];
      /** The price already read for this request (an edit's, before its fetches); read here when absent. */
      priced?: PricedRequest;
    },
  ): Promise<Outcome<ReturnType<typeof generationView>>> {
    const { dto, variant } = req;
    const now = this.clock.now();
    const route = VARIANT_ROUTES[variant];
    const dims = this.dimensionsOf(route, dto, req.inputs.length);
    if (dto.webhook_url) await assertWebhookUrlAllowed(dto.webhook_url, this.config.ALLOW_PRIVATE_WEBHOOK_URLS);
    const n = dto.n ?? 1;
    const { price, unitCostMicroUsd } = req.priced ?? (await this.pricing.priceRequest(variant, dims, now));
    const quote = { amount: priceOf(price.tokens, n), priceId: price.id, variant, version: price.version };
    if (quote.amount <= 0n) throw zeroPrice(variant);
    await this.assertQueueUp();
    const id = newId('gen');
    const outcome = await this.idempotency.run(idem, async (tx) => {
      const { body: hold } = await this.reservations.reserve(
        dto.owner_id,
        {
          amount: quote.amount,
          quote,
          quantity: n,
          ref: id,
          expiresInS: this.config.GENERATION_HOLD_TTL_S,
          holder: 'generation',
          spenderId: dto.spender_id ?? null,
          apiKeyId: idem.principalId,
        },
        undefined,
        tx,
        now,
      );
      const { rows } = await tx.sql.query<GenerationRow>(
        // The wallet's id from the reservation the same transaction just made (no second lookup).
        `INSERT INTO generations (id, wallet_id, owner_id, spender_id, reservation_id, status, model, variant, n, size, quality, seed, prompt,
           webhook_url, metadata, unit_price, created_at, kind, dimensions, price_id, price_version, input_images, unit_cost_micro_usd)
         SELECT $1, r.wallet_id, $2, r.spender_id, r.id, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $15, $16, $17, $18, $19, $20
         FROM reservations r WHERE r.id = $14
         RETURNING ${GENERATION_COLUMNS}`,
        [
          id,
          dto.owner_id,
          dto.model,
          variant,
          n,
          dims.size,
          dims.quality ?? null,
          req.seed,
          dto.prompt,
          dto.webhook_url ?? null,
          dto.metadata ? JSON.stringify(dto.metadata) : null,
          price.tokens.toString(),
          now,
          hold.id,
          req.kind,
          JSON.stringify(price.dimensions),
          price.id,
          price.version,
          req.inputs.length,
          unitCostMicroUsd?.toString() ?? null,
        ],
      );
      if (req.inputs.length > 0) {
        await tx.sql.query(
          `INSERT INTO generation_inputs (wallet_id, generation_id, idx, media_type, data)
           SELECT g.wallet_id, g.id, i.n - 1, i.media_type, i.data
           FROM generations g, unnest($2::text[], $3::bytea[]) WITH ORDINALITY AS i(media_type, data, n) WHERE g.id = $1`,
          [id, req.inputs.map((x) => x.mediaType), req.inputs.map((x) => x.data)],
        );
      }
      return { status: 202, body: generationView(rows[0]) };
    });
    if (!outcome.replayed) await this.enqueueOrLeave([id]);
    return outcome;
  }

  /** Reserves every item of the batch in one transaction (all or nothing), then enqueues them. */
  createBatch(idem: IdempotentRequest, dto: CreateBatchDto): Promise<Outcome<ReturnType<typeof batchView>>> {
    return this.idempotency.orReplay(idem, () => this.batch(idem, dto));
  }

  private async batch(idem: IdempotentRequest, dto: CreateBatchDto): Promise<Outcome<ReturnType<typeof batchView>>> {
    const now = this.clock.now();
    const route = VARIANT_ROUTES[dto.variant];
    if (!route) throw Errors.notFound('variant_not_found', `Variant ${dto.variant} cannot generate images`);
    if (dto.webhook_url) await assertWebhookUrlAllowed(dto.webhook_url, this.config.ALLOW_PRIVATE_WEBHOOK_URLS);
    // Every item at the variant's default size and quality: a keyed variant is priced by them.
    const dims: Dimensions = { size: route.defaultSize, ...(route.defaultQuality ? { quality: route.defaultQuality } : {}) };
    const { price, unitCostMicroUsd } = await this.pricing.priceRequest(dto.variant, dims, now);
    await this.assertQueueUp();
    const batchId = newId('bat');
    const ids = dto.items.map(() => newId('gen'));
    const reservationIds = dto.items.map(() => newId('res'));
    const total = dto.items.reduce((s, it) => s + price.tokens * BigInt(it.n ?? 1), 0n);
    if (price.tokens <= 0n) throw zeroPrice(dto.variant);
    const outcome = await this.idempotency.run(idem, async (tx) => {
      const walletId = await this.ledger.reserveAll(
        tx,
        dto.owner_id,
        dto.items.map((item, i) => ({
          id: reservationIds[i],
          amount: price.tokens * BigInt(item.n ?? 1),
          quantity: item.n ?? 1,
          ref: ids[i],
          expiresInS: this.config.GENERATION_HOLD_TTL_S,
        })),
        { priceId: price.id, version: price.version, variant: price.variant },
        { spenderId: dto.spender_id ?? null, apiKeyId: idem.principalId, holder: 'generation' },
        now,
      );
      const { rows } = await tx.sql.query<BatchRow>(
        `INSERT INTO batches (id, wallet_id, owner_id, variant, status, total, reserved, webhook_url, created_at, spender_id)
         VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9)
         RETURNING id, owner_id, spender_id, variant, status, total, succeeded, failed, reserved::text, tokens_used::text, webhook_url, created_at, finished_at`,
        [
          batchId,
          walletId,
          dto.owner_id,
          dto.variant,
          dto.items.length,
          total.toString(),
          dto.webhook_url ?? null,
          now,
          dto.spender_id ?? null,
        ],
      );
      // Every item in one statement: a 1,000-item batch is one round trip, not a thousand.
      await tx.sql.query(
        `INSERT INTO generations (id, wallet_id, owner_id, spender_id, reservation_id, batch_id, batch_index, status, model, variant, n, size, seed, prompt, unit_price, created_at,
           quality, dimensions, price_id, price_version, unit_cost_micro_usd)
         SELECT g.id, $1, $2, $14, g.res, $3, g.i - 1, 'queued', $4, $5, g.n, $6, g.seed, g.prompt, $7, $8, $15, $16, $17, $18, $19
         FROM unnest($9::text[], $10::text[], $11::int[], $12::bigint[], $13::text[]) WITH ORDINALITY AS g(id, res, n, seed, prompt, i)`,
        [
          walletId,
          dto.owner_id,
          batchId,
          price.model,
          dto.variant,
          route.defaultSize,
          price.tokens.toString(),
          now,
          ids,
          reservationIds,
          dto.items.map((it) => it.n ?? 1),
          dto.items.map((it) => (it.seed === undefined || it.seed === null ? null : String(it.seed))),
          dto.items.map((it) => it.prompt),
          dto.spender_id ?? null,
          dims.quality ?? null,
          JSON.stringify(price.dimensions),
          price.id,
          price.version,
          unitCostMicroUsd?.toString() ?? null,
        ],
      );
      return { status: 202, body: batchView(rows[0]) };
    });
    if (!outcome.replayed) await this.enqueueOrLeave(ids);
    return outcome;
  }

  /** What a generation was charged, for a refund (read in the caller's transaction). */
  async charge(
    tx: Tx,
    id: string,
  ): Promise<{ walletId: string; ownerId: string; reservationId: string; status: string; tokensUsed: bigint } | null> {
    const { rows } = await tx.sql.query<{
      wallet_id: string;
      owner_id: string;
      reservation_id: string;
      status: string;
      tokens_used: string;
    }>(`SELECT wallet_id, owner_id, reservation_id, status, tokens_used::text FROM generations WHERE id = $1`, [id]);
    const g = rows[0];
    return g
      ? { walletId: g.wallet_id, ownerId: g.owner_id, reservationId: g.reservation_id, status: g.status, tokensUsed: BigInt(g.tokens_used) }
      : null;
  }

  /** The owner of a generation's wallet; null when there is no such generation. */
  async ownerOf(id: string): Promise<string | null> {
    const rows = await this.db.query<{ owner_id: string }>(`SELECT owner_id FROM generations WHERE id = $1`, [id]);
    return rows[0]?.owner_id ?? null;
  }

  async get(id: string) {
    const rows = await this.db.query<GenerationRow>(`SELECT ${GENERATION_COLUMNS} FROM generations WHERE id = $1`, [id]);
    if (!rows[0]) throw Errors.notFound('generation_not_found', `No generation ${id}`);
    return generationView(rows[0]);
  }

  /**
   * A wallet's generations for support, newest first: (created_at, id)
   * descending, a total order (a batch's items share an instant and are told
   * apart by id). The cursor is the last generation's id; a cursor of another
   * wallet or of no generation gives an empty page.
   */
  async listForWallet(walletId: string, limit: number, cursor?: string): Promise<{ data: WalletGeneration[]; next_cursor: string | null }> {
    const rows = await this.db.read<
      Pick<
        GenerationRow,
        | 'id'
        | 'kind'
        | 'status'
        | 'variant'
        | 'dimensions'
        | 'price_version'
        | 'unit_price'
        | 'n'
        | 'delivered'
        | 'batch_id'
        | 'output'
        | 'error'
        | 'tokens_used'
        | 'created_at'
        | 'finished_at'
      > & { prompt_head: string; prompt_length: number }
    >(
      `SELECT g.id, g.kind, g.status, g.variant, g.dimensions, g.price_version, g.unit_price::text, g.n, g.delivered, g.batch_id, g.output, g.error, g.tokens_used::text, g.created_at, g.finished_at,
              left(g.prompt, ${PROMPT_HEAD}) AS prompt_head, length(g.prompt) AS prompt_length
       FROM generations g
       WHERE g.wallet_id = $1
         AND ($2::text IS NULL OR (g.created_at, g.id) < (SELECT c.created_at, c.id FROM generations c WHERE c.id = $2 AND c.wallet_id = $1))
       ORDER BY g.created_at DESC, g.id DESC LIMIT $3`,
      [walletId, cursor ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return {
      data: page.map((g) => ({
        id: g.id,
        kind: g.kind,
        status: g.status,
        variant: g.variant,
        price: generationPrice(g),
        n: g.n,
        delivered: g.delivered,
        batch_id: g.batch_id,
        prompt: g.prompt_head,
        prompt_truncated: g.prompt_length > PROMPT_HEAD,
        image_url: g.output?.images[0]?.url ?? null,
        error: g.error,
        tokensUsed: BigInt(g.tokens_used),
        created_at: g.created_at.toISOString(),
        finished_at: g.finished_at ? g.finished_at.toISOString() : null,
      })),
      next_cursor: rows.length > limit ? page[page.length - 1].id : null,
    };
  }

  async getBatch(id: string) {
    const rows = await this.db.query<BatchRow>(
      `SELECT id, owner_id, spender_id, variant, status, total, succeeded, failed, reserved::text, tokens_used::text, webhook_url, created_at, finished_at FROM batches WHERE id = $1`,
      [id],
    );
    if (!rows[0]) throw Errors.notFound('batch_not_found', `No batch ${id}`);
    return batchView(rows[0]);
  }

  /** Adds the jobs (job id = generation id, so a second add is a no-op) and marks them enqueued. */
  async enqueue(ids: string[]): Promise<void> {
    await withTimeout(
      this.queue.addBulk(
        ids.map((id) => ({
          name: GENERATE_JOB,
          data: { generationId: id },
          opts: { jobId: id, attempts: 5, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: 1_000, removeOnFail: 5_000 },
        })),
      ),
      QUEUE_TIMEOUT_MS,
    );
    await this.db.query(`UPDATE generations SET enqueued_at = now() WHERE id = ANY($1) AND enqueued_at IS NULL`, [ids]);
  }

  /**
   * Queues what was just committed. The queue answering late or not at all
   * after the commit does not undo it: the job may well have been added (a
   * slow answer is not a refusal) and a worker may already be delivering it,
   * so failing the generation then would charge nothing for images it
   * delivers, and a client told "nothing was reserved" would retry and pay
   * twice. The generation stays queued and held, the answer stays the 202 its
   * key replays, and recovery queues it if no job was made (its enqueued_at
   * stays empty; a second add of the same job id is a no-op).
   */
  private async enqueueOrLeave(ids: string[]): Promise<void> {
    try {
      await this.enqueue(ids);
    } catch (e) {
      this.log.warn(
        { generations: ids.length, first: ids[0], err: (e as Error).message },
        'enqueue failed after commit; recovery will queue the generations',
      );
    }
  }

  private async assertQueueUp(): Promise<void> {
    try {
      // The connection's own state: no round trip, and it turns from 'ready' as soon as Redis drops.
      const client = await withTimeout(this.queue.backend.client, QUEUE_TIMEOUT_MS);
      // A Redis Cluster client says 'connect' once its slot map is loaded, where one server's says 'ready'.
      const up = client.status === 'ready' || (client.status === 'connect' && client.isCluster === true);
      if (!up) throw queueDown();
    } catch (e) {
      if (e instanceof DomainError) throw e;
      throw queueDown();
    }
  }

  /**
   * The variant asked for, or the model's default one. For an edit the default
   * is the model's default variant if it has edit prices (priced by
   * input_images), else the first of the model's variants that does.
   */
  private async resolveVariant(model: string, variant?: string, kind: 'generate' | 'edit' = 'generate'): Promise<string> {
    const prices = await this.pricing.list(this.clock.now());
    const ofModel = prices.filter((p) => p.model === model);
    if (ofModel.length === 0) throw Errors.notFound('model_not_found', `No model ${model}`);
    const editable = ofModel.filter((p) => p.dimensions.input_images !== undefined);
    const pool = kind === 'edit' && editable.length > 0 ? editable : ofModel;
    const chosen = variant ? ofModel.find((p) => p.variant === variant) : (pool.find((p) => p.isDefault) ?? pool[0]);
    if (!chosen) throw Errors.notFound('variant_not_found', `Model ${model} has no variant ${variant}`);
    if (!VARIANT_ROUTES[chosen.variant]) throw Errors.notFound('variant_not_found', `Variant ${chosen.variant} cannot generate images`);
    return chosen.variant;
  }

  private resolveSize(route: VariantRoute, size?: string): string {
    if (size === undefined) return route.defaultSize;
    if (!route.sizes.includes(size)) {
      throw Errors.validation(`size must be one of ${route.sizes.join(', ')} for this variant`, [
        { field: 'size', message: `size must be one of ${route.sizes.join(', ')}` },
      ]);
    }
    return size;
  }
}
