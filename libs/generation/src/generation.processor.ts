import { APP_CONFIG, AppConfig, Database, LOGGER, providerRequests } from '@app/common';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { GenerationFinisher } from './generation-finisher.js';
import { ProviderRegistry } from './provider-registry.js';
import { RecoveryService } from './recovery.service.js';
import { type ImageEditRequest, type ImageResult, ProviderError } from './providers/provider.js';
import { callWithRetry } from './providers/retry.js';
import { ImageStorage } from './storage.js';
import { GENERATION_QUEUE } from './queues.js';
import { VARIANT_ROUTES } from './variants.js';
import { GENERATION_COLUMNS, GenerationRow } from './views.js';

// Worker options are fixed when the decorator runs, before Nest builds the
// config; the same variables are validated by AppConfig at boot.
const LOCK_MS = Number(process.env.WORKER_LOCK_MS) || 30_000;
const CONCURRENCY = Number(process.env.GENERATION_CONCURRENCY) || 8;

/**
 * One job = one generation. The provider call is retried here (429, 5xx,
 * timeouts); the job itself is retried by BullMQ only for unexpected faults
 * and stalls (a killed worker), and every path ends in the finisher, which
 * charges at most once.
 */
@Processor(GENERATION_QUEUE, { concurrency: CONCURRENCY, lockDuration: LOCK_MS, stalledInterval: LOCK_MS, maxStalledCount: 5 })
export class GenerationProcessor extends WorkerHost {
  constructor(
    private readonly db: Database,
    private readonly providers: ProviderRegistry,
    private readonly storage: ImageStorage,
    private readonly finisher: GenerationFinisher,
    private readonly recovery: RecoveryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  private async inputsOf(id: string): Promise<ImageEditRequest['images']> {
    const { rows } = await this.db.run<{ media_type: ImageEditRequest['images'][number]['mediaType']; data: Buffer }>(
      `SELECT media_type, data FROM generation_inputs WHERE generation_id = $1 ORDER BY idx`,
      [id],
    );
    return rows.map((r) => ({ mediaType: r.media_type, data: r.data }));
  }

  async process(job: Job<{ generationId: string }>): Promise<unknown> {
    const id = job.data.generationId;
    const { rows } = await this.db.run<GenerationRow>(
      `UPDATE generations SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now())
       WHERE id = $1 AND status IN ('queued', 'running') RETURNING ${GENERATION_COLUMNS}`,
      [id],
    );
    const g = rows[0];
    if (!g) return { skipped: 'finished or unknown' };
    // The hold lives as long as the work: a fresh window before the provider is called, and
    // no provider call at all when the hold is already gone (nothing could be billed).
    if ((await this.recovery.keepHoldsAlive([g.reservation_id])).length === 0) {
      return this.finisher.finish(id, { error: { code: 'hold_expired', message: 'the reservation ended before the generation started' } });
    }
    const route = VARIANT_ROUTES[g.variant];
    if (!route) return this.finisher.finish(id, { error: { code: 'bad_request', message: `variant ${g.variant} has no provider` } });
    const provider = await this.providers.get(route.provider);
    const request = {
      model: route.providerModel,
      prompt: g.prompt,
      n: g.n,
      size: g.size ?? route.defaultSize,
      quality: g.quality ?? undefined,
    };
    let call: (signal: AbortSignal) => Promise<ImageResult>;
    if (g.kind === 'edit') {
      const edit = provider.edit?.bind(provider);
      const images = await this.inputsOf(id);
      if (!edit || images.length !== g.input_images) {
        const message = edit ? 'the input images of the edit are missing' : `the ${route.provider} adapter cannot edit images`;
        return this.finisher.finish(id, { error: { code: 'bad_request', message } });
      }
      call = (signal) => edit({ ...request, images }, signal);
    } else {
      call = (signal) => provider.generate({ ...request, seed: g.seed === null ? undefined : Number(g.seed) }, signal);
    }
    const started = Date.now();
    try {
      const { result, attempts } = await callWithRetry(call, {
        attempts: this.config.GENERATION_ATTEMPTS,
        timeoutMs: this.config.GENERATION_TIMEOUT_MS,
        baseDelayMs: this.config.GENERATION_RETRY_BASE_MS,
      });
      providerRequests.observe({ provider: route.provider, outcome: 'ok' }, (Date.now() - started) / 1000);
      const images = result.images.slice(0, g.n);
      const stored = images.length ? await this.storage.save(id, images) : [];
      this.log.info({ generation: id, delivered: images.length, attempts, provider_ms: Date.now() - started }, 'generation delivered');
      await this.finisher.finish(
        id,
        images.length
          ? { images: stored, format: images[0].format }
          : { error: { code: 'no_images', message: 'the provider returned no images' } },
      );
      return { delivered: images.length, attempts };
    } catch (e) {
      if (!(e instanceof ProviderError)) throw e;
      providerRequests.observe({ provider: route.provider, outcome: e.kind }, (Date.now() - started) / 1000);
      this.log.warn({ generation: id, kind: e.kind, status: e.status }, 'generation failed at the provider');
      await this.finisher.finish(id, { error: { code: e.kind, message: e.message } });
      return { failed: e.kind };
    }
  }
}
