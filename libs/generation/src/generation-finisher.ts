import { Clock, Database, LOGGER, Tx } from '@app/common';
import { Ledger } from '@app/ledger';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { WebhookService } from './webhooks/webhook.service.js';
import { BatchRow, batchView, GENERATION_COLUMNS, GenerationRow, generationView } from './views.js';

export type Outcome = { images: { url: string }[]; format: string } | { error: { code: string; message: string } };

/**
 * Ends a generation exactly once: settles the images delivered (n x unit
 * price at most), releases the rest, records the output and the provider's
 * cost of what was delivered, counts it in its batch, then sends the webhooks. The generation row is locked under the
 * wallet lock and checked first, so a retried or duplicated job finds it
 * finished and changes nothing.
 */
@Injectable()
export class GenerationFinisher {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly webhooks: WebhookService,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async finish(id: string, outcome: Outcome): Promise<GenerationRow | null> {
    const done = await this.db.transaction(async (tx) => {
      // The generation row once, then the wallet once (inside the ledger's settle).
      const { rows } = await tx.sql.query<GenerationRow & { hold_live: boolean }>(
        `SELECT ${GENERATION_COLUMNS},
           (SELECT r.status = 'pending' AND r.expires_at > $2 FROM reservations r WHERE r.id = generations.reservation_id) AS hold_live
         FROM generations WHERE id = $1 FOR UPDATE OF generations`,
        [id, this.clock.now()],
      );
      const g = rows[0];
      if (!g || g.status === 'succeeded' || g.status === 'failed') return null;
      return this.settle(tx, g, g.hold_live ? outcome : this.holdGone(g, outcome), g.hold_live);
    });
    if (done) await this.notify(done.generation, done.batch);
    return done?.generation ?? null;
  }

  /**
   * The hold ended under the job (it lapsed past GENERATION_MAX_HOLD_S, or the
   * gateway released it): an image is never delivered unbilled, so the
   * generation fails and its images are withheld.
   */
  private holdGone(g: GenerationRow, outcome: Outcome): Outcome {
    if ('images' in outcome && outcome.images.length > 0) {
      this.log.warn({ generation: g.id }, 'hold ended before settlement: the images are withheld, nothing is charged');
    }
    return {
      error: { code: 'hold_expired', message: `The hold ${g.reservation_id} ended before the generation finished; nothing was charged` },
    };
  }

  private async settle(
    tx: Tx,
    g: GenerationRow,
    outcome: Outcome,
    holdLive: boolean,
  ): Promise<{ generation: GenerationRow; batch: BatchRow | null }> {
    const images = 'images' in outcome ? outcome.images.slice(0, g.n) : [];
    const charge = BigInt(g.unit_price) * BigInt(images.length);
    const error = 'error' in outcome ? outcome.error : null;
    // One statement, inside this transaction: the wallet is locked once, here.
    if (images.length > 0) await this.ledger.settle(g.reservation_id, charge, undefined, tx, 'generation');
    else if (holdLive) await this.ledger.release(g.reservation_id, undefined, tx);
    const status = images.length > 0 ? 'succeeded' : 'failed';
    const output = images.length > 0 && 'format' in outcome ? { images, format: outcome.format } : null;
    // What the provider charged for what was delivered (unknown when the variant has no cost row).
    const providerCost = g.unit_cost_micro_usd === null ? null : BigInt(g.unit_cost_micro_usd) * BigInt(images.length);
    const { rows } = await tx.sql.query<GenerationRow>(
      `UPDATE generations SET status = $2, output = $3, delivered = $4, tokens_used = $5, error = $6, provider_cost_micro_usd = $7,
         finished_at = clock_timestamp()
       WHERE id = $1 RETURNING ${GENERATION_COLUMNS}`,
      [
        g.id,
        status,
        output ? JSON.stringify(output) : null,
        images.length,
        charge.toString(),
        error ? JSON.stringify(error) : null,
        providerCost?.toString() ?? null,
      ],
    );
    // An edit's input images were only kept for the provider call.
    if (g.input_images > 0) await tx.sql.query(`DELETE FROM generation_inputs WHERE generation_id = $1`, [g.id]);
    let batch: BatchRow | null = null;
    if (g.batch_id) {
      const b = await tx.sql.query<BatchRow>(
        `UPDATE batches SET succeeded = succeeded + $2, failed = failed + $3, tokens_used = tokens_used + $4,
           status = CASE WHEN succeeded + failed + 1 >= total THEN 'completed' ELSE status END,
           finished_at = CASE WHEN succeeded + failed + 1 >= total THEN now() ELSE finished_at END
         WHERE id = $1
         RETURNING id, owner_id, spender_id, variant, status, total, succeeded, failed, reserved::text, tokens_used::text, webhook_url, created_at, finished_at`,
        [g.batch_id, status === 'succeeded' ? 1 : 0, status === 'failed' ? 1 : 0, charge.toString()],
      );
      batch = b.rows[0] ?? null;
    }
    return { generation: rows[0], batch };
  }

  /** After commit: a webhook is a notification, never part of the money movement. */
  private async notify(g: GenerationRow, batch: BatchRow | null): Promise<void> {
    try {
      if (g.webhook_url) {
        const type = g.status === 'succeeded' ? 'generation.succeeded' : 'generation.failed';
        await this.webhooks.enqueue(
          { id: `evt_${g.id}`, type, created_at: new Date().toISOString(), data: generationView(g) },
          g.webhook_url,
        );
      }
      if (batch && batch.status === 'completed' && batch.webhook_url) {
        await this.webhooks.enqueue(
          { id: `evt_${batch.id}`, type: 'batch.completed', created_at: new Date().toISOString(), data: batchView(batch) },
          batch.webhook_url,
        );
      }
    } catch (e) {
      this.log.error({ generation: g.id, err: (e as Error).message }, 'could not enqueue webhook');
    }
  }
}
