import { Clock, Database, LOGGER } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { Ledger } from './ledger.js';

const BATCH = 500;

/** The periodic work of the ledger: lapsed holds back to their buckets, lapsed grants to breakage. */
@Injectable()
export class MaintenanceService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly ledger: Ledger,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Releases every pending reservation past its expiry, one wallet transaction each. */
  async releaseExpiredReservations(): Promise<number> {
    let total = 0;
    for (;;) {
      const due = await this.db.query<{ id: string }>(
        `SELECT id FROM reservations WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT ${BATCH}`,
        [this.clock.now()],
      );
      let done = 0;
      for (const { id } of due) if (await this.ledger.expire(id)) done++;
      total += done;
      if (due.length < BATCH || done === 0) break;
    }
    if (total) this.log.info({ released: total }, 'released expired reservations');
    return total;
  }

  /** Posts the remainder of every lapsed bucket to breakage (spec: "grants expire"). */
  async expireLapsedBuckets(onProgress?: (done: number) => void): Promise<{ buckets: number; amount: bigint }> {
    let buckets = 0;
    let amount = 0n;
    for (;;) {
      const now = this.clock.now();
      const due = await this.db.query<{ id: string; wallet_id: string }>(
        `SELECT id, wallet_id FROM buckets WHERE remaining > 0 AND expires_at <= $1 ORDER BY expires_at LIMIT ${BATCH}`,
        [now],
      );
      for (const b of due) {
        const expired = await this.ledger.expireBucket(b.id);
        if (expired > 0n) {
          buckets++;
          amount += expired;
        }
        onProgress?.(buckets);
      }
      if (due.length < BATCH) break;
    }
    if (buckets) this.log.info({ buckets, amount: amount.toString() }, 'expired lapsed buckets');
    return { buckets, amount };
  }

  /** Idempotency keys are kept a week: long past any client's retry window. */
  async pruneIdempotencyKeys(): Promise<void> {
    await this.db.query(`DELETE FROM idempotency_keys WHERE created_at < $1`, [new Date(this.clock.now().getTime() - 7 * 86_400_000)]);
  }
}
