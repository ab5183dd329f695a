import { APP_CONFIG, AppConfig, Clock, Database, LOGGER } from '@app/common';
import { Ledger } from '@app/ledger';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { GenerationFinisher } from './generation-finisher.js';
import { GenerationService } from './generation.service.js';
import { GENERATION_QUEUE } from './queues.js';

/** A generation committed this long ago without a job is taken to be orphaned (the API died before enqueueing). */
const ORPHAN_AFTER_S = 10;

/** Finds generations a crash left behind and puts them back on the path to exactly one settlement. */
@Injectable()
export class RecoveryService {
  constructor(
    private readonly db: Database,
    private readonly generations: GenerationService,
    private readonly finisher: GenerationFinisher,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    @InjectQueue(GENERATION_QUEUE) private readonly queue: Queue,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * A hold lives as long as its work: the holds of queued and running
   * generations that would lapse within half a GENERATION_HOLD_TTL_S are
   * extended by one (up to GENERATION_MAX_HOLD_S from their start), so a
   * 1,000-item batch still queued after an hour keeps its tokens held.
   */
  async extendLiveHolds(): Promise<number> {
    const now = this.clock.now();
    const ttlMs = this.config.GENERATION_HOLD_TTL_S * 1000;
    let extended = 0;
    for (;;) {
      const due = await this.db.query<{ reservation_id: string }>(
        `SELECT g.reservation_id FROM generations g JOIN reservations r ON r.id = g.reservation_id
         WHERE g.status IN ('queued', 'running') AND r.status = 'pending' AND r.expires_at > $1 AND r.expires_at < $2
           AND r.expires_at < r.created_at + make_interval(secs => $3)
         ORDER BY r.expires_at LIMIT 1000`,
        [now, new Date(now.getTime() + ttlMs / 2), this.config.GENERATION_MAX_HOLD_S],
      );
      if (due.length === 0) break;
      await this.keepHoldsAlive(
        due.map((d) => d.reservation_id),
        now,
      );
      extended += due.length;
      if (due.length < 1000) break;
    }
    return extended;
  }

  /**
   * One more GENERATION_HOLD_TTL_S for each of these pending holds, at most
   * GENERATION_MAX_HOLD_S after it was made; returns the ids still pending.
   */
  keepHoldsAlive(reservationIds: string[], now = this.clock.now()): Promise<string[]> {
    return this.ledger.extendAll(
      reservationIds,
      new Date(now.getTime() + this.config.GENERATION_HOLD_TTL_S * 1000),
      this.config.GENERATION_MAX_HOLD_S,
      now,
    );
  }

  async recover(): Promise<{ enqueued: number; ended: number; requeued: number; extended: number }> {
    const extended = await this.extendLiveHolds();
    const orphans = await this.db.query<{ id: string }>(
      `SELECT id FROM generations WHERE status = 'queued' AND enqueued_at IS NULL AND created_at < now() - make_interval(secs => $1) LIMIT 1000`,
      [ORPHAN_AFTER_S],
    );
    if (orphans.length) await this.generations.enqueue(orphans.map((o) => o.id));

    // The hold ended (the sweeper released it) before the job finished: end the generation unbilled.
    const lapsed = await this.db.query<{ id: string }>(
      `SELECT g.id FROM generations g JOIN reservations r ON r.id = g.reservation_id
       WHERE g.status IN ('queued', 'running') AND r.status <> 'pending' LIMIT 1000`,
    );
    for (const g of lapsed)
      await this.finisher.finish(g.id, {
        error: { code: 'hold_expired', message: 'the reservation ended before the generation finished' },
      });

    const stuck = await this.db.query<{ id: string }>(
      `SELECT id FROM generations WHERE status IN ('queued', 'running') AND enqueued_at < now() - make_interval(secs => $1) LIMIT 1000`,
      [this.config.GENERATION_STUCK_AFTER_S],
    );
    let requeued = 0;
    for (const { id } of stuck) {
      const job = await this.queue.getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'failed' || state === 'completed' || state === 'missing' || state === 'unknown') {
        await job?.remove();
        await this.db.query(`UPDATE generations SET enqueued_at = NULL WHERE id = $1`, [id]);
        await this.generations.enqueue([id]);
        requeued++;
      }
    }
    const result = { enqueued: orphans.length, ended: lapsed.length, requeued, extended };
    if (orphans.length || lapsed.length || requeued || extended) this.log.info(result, 'generation recovery');
    return result;
  }
}
