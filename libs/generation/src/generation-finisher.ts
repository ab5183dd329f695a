import { Database, DomainError, LOGGER, Tx } from '@app/common';
import { lockWalletById, ReservationService } from '@app/ledger';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { WebhookService } from './webhooks/webhook.service.js';
import { BatchRow, batchView, GENERATION_COLUMNS, GenerationRow, generationView } from './views.js';

export type Outcome = { images: { url: string }[]; format: string } | { error: { code: string; message: string } };

/**
 * Ends a generation exactly once: settles the images delivered (n x unit
 * price at most), releases the rest, records the output, counts it in its
 * batch, then sends the webhooks. The generation row is locked under the
 * wallet lock and checked first, so a retried or duplicated job finds it
 * finished and changes nothing.
 */
@Injectable()
export class GenerationFinisher {
  constructor(
    private readonly db: Database,
    private readonly reservations: ReservationService,
    private readonly webhooks: WebhookService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async finish(id: string, outcome: Outcome): Promise<GenerationRow | null> {
    const done = await this.db.transaction(async (tx) => {
      const head = await tx.sql.query<{ wallet_id: string }>(`SELECT wallet_id FROM generations WHERE id = $1`, [id]);
      if (!head.rows[0]) return null;
      await lockWalletById(tx.sql, head.rows[0].wallet_id);
      const { rows } = await tx.sql.query<GenerationRow>(`SELECT ${GENERATION_COLUMNS} FROM generations WHERE id = $1 FOR UPDATE`, [id]);
      const g = rows[0];
      if (g.status === 'succeeded' || g.status === 'failed') return null;
      return this.settle(tx, g, outcome);
    });
    if (done) await this.notify(done.generation, done.batch);
    return done?.generation ?? null;
  }

  private async settle(tx: Tx, g: GenerationRow, outcome: Outcome): Promise<{ generation: GenerationRow; batch: BatchRow | null }> {
    const images = 'images' in outcome ? outcome.images.slice(0, g.n) : [];
    let charge = BigInt(g.unit_price) * BigInt(images.length);
    let error = 'error' in outcome ? outcome.error : null;
    try {
      if (images.length > 0) await this.reservations.settleIn(tx, g.reservation_id, charge);
      else await this.reservations.settleIn(tx, g.reservation_id, 0n, 'released');
    } catch (e) {
      // The hold lapsed (or was released) under the job: its tokens are already back in
      // the wallet, so the images go unbilled rather than charged a second way.
      if (!(e instanceof DomainError) || e.status !== 409) throw e;
      if (charge > 0n) this.log.warn({ generation: g.id, code: e.code }, 'hold ended before settlement: delivered images are not billed');
      charge = 0n;
      if (images.length === 0) error ??= { code: 'hold_expired', message: e.detail };
    }
    const status = images.length > 0 ? 'succeeded' : 'failed';
    const output = images.length > 0 && 'format' in outcome ? { images, format: outcome.format } : null;
    const { rows } = await tx.sql.query<GenerationRow>(
      `UPDATE generations SET status = $2, output = $3, delivered = $4, tokens_used = $5, error = $6, finished_at = clock_timestamp()
       WHERE id = $1 RETURNING ${GENERATION_COLUMNS}`,
      [g.id, status, output ? JSON.stringify(output) : null, images.length, charge.toString(), error ? JSON.stringify(error) : null],
    );
    let batch: BatchRow | null = null;
    if (g.batch_id) {
      const b = await tx.sql.query<BatchRow>(
        `UPDATE batches SET succeeded = succeeded + $2, failed = failed + $3, tokens_used = tokens_used + $4,
           status = CASE WHEN succeeded + failed + 1 >= total THEN 'completed' ELSE status END,
           finished_at = CASE WHEN succeeded + failed + 1 >= total THEN now() ELSE finished_at END
         WHERE id = $1
         RETURNING id, owner_id, variant, status, total, succeeded, failed, reserved::text, tokens_used::text, webhook_url, created_at, finished_at`,
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
