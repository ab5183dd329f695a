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
import { PricingService } from '@app/pricing';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { CreateBatchDto, GenerateImageDto } from './dto/generate-image.dto.js';
import { GenerationFinisher } from './generation-finisher.js';
import { GENERATE_JOB, GENERATION_QUEUE } from './queues.js';
import { VARIANT_ROUTES, VariantRoute } from './variants.js';
import { BatchRow, batchView, GENERATION_COLUMNS, GenerationRow, generationView } from './views.js';

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

const queueDown = () => Errors.unavailable('queue_unavailable', 'The job queue is unavailable; nothing was reserved. Retry later.');

@Injectable()
export class GenerationService {
  constructor(
    private readonly db: Database,
    private readonly idempotency: IdempotencyService,
    private readonly reservations: ReservationService,
    private readonly ledger: Ledger,
    private readonly pricing: PricingService,
    private readonly finisher: GenerationFinisher,
    private readonly clock: Clock,
    @InjectQueue(GENERATION_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Prices n images, reserves and records the generation in one transaction, then enqueues it. */
  async create(idem: IdempotentRequest, dto: GenerateImageDto): Promise<Outcome<ReturnType<typeof generationView>>> {
    const now = this.clock.now();
    const variant = await this.resolveVariant(dto.model, dto.variant);
    const route = VARIANT_ROUTES[variant];
    const size = this.resolveSize(route, dto.size);
    if (dto.webhook_url) await assertWebhookUrlAllowed(dto.webhook_url, this.config.ALLOW_PRIVATE_WEBHOOK_URLS);
    const n = dto.n ?? 1;
    const quote = await this.pricing.quote(variant, n, now);
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
          spenderId: dto.spender_id ?? null,
          apiKeyId: idem.principalId,
        },
        undefined,
        tx,
        now,
      );
      const { rows } = await tx.sql.query<GenerationRow>(
        // The wallet's id from the reservation the same transaction just made (no second lookup).
        `INSERT INTO generations (id, wallet_id, owner_id, spender_id, reservation_id, status, model, variant, n, size, quality, seed, prompt, webhook_url, metadata, unit_price, created_at)
         SELECT $1, r.wallet_id, $2, r.spender_id, r.id, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM reservations r WHERE r.id = $14
         RETURNING ${GENERATION_COLUMNS}`,
        [
          id,
          dto.owner_id,
          dto.model,
          variant,
          n,
          size,
          dto.quality ?? null,
          dto.seed ?? null,
          dto.prompt,
          dto.webhook_url ?? null,
          dto.metadata ? JSON.stringify(dto.metadata) : null,
          (quote.amount / BigInt(n)).toString(),
          now,
          hold.id,
        ],
      );
      return { status: 202, body: generationView(rows[0]) };
    });
    if (!outcome.replayed) await this.enqueueOrUndo([id], idem);
    return outcome;
  }

  /** Reserves every item of the batch in one transaction (all or nothing), then enqueues them. */
  async createBatch(idem: IdempotentRequest, dto: CreateBatchDto): Promise<Outcome<ReturnType<typeof batchView>>> {
    const now = this.clock.now();
    const route = VARIANT_ROUTES[dto.variant];
    if (!route) throw Errors.notFound('variant_not_found', `Variant ${dto.variant} cannot generate images`);
    if (dto.webhook_url) await assertWebhookUrlAllowed(dto.webhook_url, this.config.ALLOW_PRIVATE_WEBHOOK_URLS);
    const price = await this.pricing.current(dto.variant, now);
    await this.assertQueueUp();
    const batchId = newId('bat');
    const ids = dto.items.map(() => newId('gen'));
    const reservationIds = dto.items.map(() => newId('res'));
    const total = dto.items.reduce((s, it) => s + price.tokens * BigInt(it.n ?? 1), 0n);
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
        { spenderId: dto.spender_id ?? null, apiKeyId: idem.principalId },
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
        `INSERT INTO generations (id, wallet_id, owner_id, spender_id, reservation_id, batch_id, batch_index, status, model, variant, n, size, seed, prompt, unit_price, created_at)
         SELECT g.id, $1, $2, $14, g.res, $3, g.i - 1, 'queued', $4, $5, g.n, $6, g.seed, g.prompt, $7, $8
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
        ],
      );
      return { status: 202, body: batchView(rows[0]) };
    });
    if (!outcome.replayed) await this.enqueueOrUndo(ids, idem);
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

  async get(id: string) {
    const rows = await this.db.query<GenerationRow>(`SELECT ${GENERATION_COLUMNS} FROM generations WHERE id = $1`, [id]);
    if (!rows[0]) throw Errors.notFound('generation_not_found', `No generation ${id}`);
    return generationView(rows[0]);
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
   * Redis failed between the commit and the enqueue: fail the generations,
   * release their holds, and forget the Idempotency-Key so the client's retry
   * starts afresh. Nothing stays held; the answer is 503.
   */
  private async enqueueOrUndo(ids: string[], idem: IdempotentRequest): Promise<void> {
    try {
      await this.enqueue(ids);
    } catch (e) {
      this.log.error({ generations: ids.length, err: (e as Error).message }, 'enqueue failed after commit; releasing the holds');
      for (const id of ids)
        await this.finisher.finish(id, { error: { code: 'queue_unavailable', message: 'the job queue was unavailable' } });
      await this.db.query(`DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2`, [idem.principalId, idem.key]);
      throw queueDown();
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

  private async resolveVariant(model: string, variant?: string): Promise<string> {
    const prices = await this.pricing.list(this.clock.now());
    const ofModel = prices.filter((p) => p.model === model);
    if (ofModel.length === 0) throw Errors.notFound('model_not_found', `No model ${model}`);
    const chosen = variant ? ofModel.find((p) => p.variant === variant) : (ofModel.find((p) => p.isDefault) ?? ofModel[0]);
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
