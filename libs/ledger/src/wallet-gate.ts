import { DomainError } from '@app/common';

interface Waiter {
  since: number;
  go: () => void;
  busy: (e: DomainError) => void;
}

interface Lane {
  active: number;
  /** When one of its calls last got through (ended other than busy): a wallet that moves is never refused. */
  progress: number;
  waiting: Waiter[];
}

export const walletBusy = (): DomainError =>
  new DomainError(
    503,
    'wallet_busy',
    'Service unavailable',
    'The wallet is busy with other operations; nothing was applied. Retry with the same Idempotency-Key.',
  );

/**
 * Bounds one wallet's ledger calls in flight from this process. A hot
 * wallet's operations are serialised by its row lock anyway; past `limit`
 * (one running, one waiting in PostgreSQL for the hand-over) the rest wait
 * here, first come first served, holding no pool connection and no backend,
 * so one wallet cannot take the pool from the others and PostgreSQL does
 * not spend its CPU on a queue of lock waiters. A burst that moves waits as
 * long as its turn takes. A call whose wallet has not moved for `maxWaitMs`
 * while it waited (its calls end busy: something else holds the lock), or
 * that finds `maxQueue` ahead of it, fails with 503 wallet_busy before
 * anything is sent (nothing applied, the same answer as the row lock's own
 * timeout).
 *
 * Only calls that are a transaction of their own go through it: a call
 * inside a caller's transaction may already hold the wallet's lock, and
 * waiting here behind calls that wait for that lock would deadlock.
 */
export class WalletGate {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    readonly limit: number,
    private readonly maxWaitMs: number,
    private readonly maxQueue: number,
    /** Whether a call's error means it found the wallet locked (it did not get through). */
    private readonly isBusy: (e: unknown) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  async run<T>(wallet: string | undefined, work: () => Promise<T>): Promise<T> {
    if (wallet === undefined || this.limit === 0) return work();
    let lane = this.lanes.get(wallet);
    if (!lane) this.lanes.set(wallet, (lane = { active: 0, progress: this.now(), waiting: [] }));
    if (lane.active < this.limit) lane.active++;
    else {
      if (lane.waiting.length >= this.maxQueue) throw walletBusy();
      const l = lane;
      // A turn is handed over with the slot still counted (release() does not decrement for it).
      await new Promise<void>((go, busy) => l.waiting.push({ since: this.now(), go, busy }));
    }
    let through = true;
    try {
      return await work();
    } catch (e) {
      through = !this.isBusy(e);
      throw e;
    } finally {
      this.release(wallet, lane, through);
    }
  }

  /** Calls in flight and waiting for a wallet (for tests and metrics). */
  load(wallet: string): { active: number; waiting: number } {
    const lane = this.lanes.get(wallet);
    return lane ? { active: lane.active, waiting: lane.waiting.length } : { active: 0, waiting: 0 };
  }

  private release(wallet: string, lane: Lane, through: boolean): void {
    const now = this.now();
    if (through) lane.progress = now;
    for (let next = lane.waiting.shift(); next; next = lane.waiting.shift()) {
      if (now - Math.max(next.since, lane.progress) <= this.maxWaitMs) return next.go();
      next.busy(walletBusy());
    }
    if (--lane.active === 0) this.lanes.delete(wallet);
  }
}

/**
 * Which wallet a reservation is on, for the reservations this process made
 * or finished lately: a settle names only the reservation. Bounded (the
 * oldest entry goes first); a miss only means the call is not gated.
 */
export class ReservationOwners {
  private readonly owners = new Map<string, string>();

  constructor(private readonly max = 100_000) {}

  get(id: string): string | undefined {
    return this.owners.get(id);
  }

  set(id: string, owner: string): void {
    this.owners.set(id, owner);
    if (this.owners.size > this.max) this.owners.delete(this.owners.keys().next().value as string);
  }

  delete(id: string): void {
    this.owners.delete(id);
  }
}
