import {
  APP_CONFIG,
  AppConfig,
  Clock,
  Database,
  DomainError,
  Errors,
  formatTokens,
  IdempotencyService,
  type IdempotentRequest,
  newId,
  Outcome,
  parseTokens,
  PRICE_QUOTER,
  type PriceQuoter,
  Quote,
  Tx,
} from '@app/common';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { CreateReservationDto } from './dto/create-reservation.dto.js';
import { findReservation, finish, fundingOf, hold, liveBuckets, lockWalletById, ReservationRow } from './ledger-sql.js';
import { availableOf, planSpend, splitSettlement } from './spending.js';
import { reservationView, ReservationView } from './views.js';
import { WalletService } from './wallet.service.js';

export interface HoldRequest {
  amount: bigint;
  expiresInS?: number;
  quote?: Quote | null;
  quantity?: number | null;
  ref?: string | null;
  metadata?: Record<string, unknown> | null;
}

@Injectable()
export class ReservationService {
  constructor(
    private readonly db: Database,
    private readonly idempotency: IdempotencyService,
    private readonly wallets: WalletService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(PRICE_QUOTER) private readonly quoter?: PriceQuoter,
  ) {}

  async create(idem: IdempotentRequest, ownerId: string, dto: CreateReservationDto): Promise<Outcome<ReservationView>> {
    const now = this.clock.now();
    const request = await this.holdRequest(dto, now);
    return this.idempotency.run(idem, async (tx) => {
      const r = await this.reserveIn(tx, ownerId, request, now);
      return { status: 201, body: reservationView(r, ownerId, now) };
    });
  }

  /**
   * Reserves inside the caller's transaction (a generation records itself in
   * the same one). Takes the wallet lock, then plans the spend over its live buckets.
   */
  async reserveIn(tx: Tx, ownerId: string, req: HoldRequest, now: Date): Promise<ReservationRow> {
    const wallet = await this.wallets.lockForSpend(tx, ownerId, now);
    if (wallet.status === 'frozen') throw Errors.walletFrozen(ownerId);
    const buckets = await liveBuckets(tx.sql, wallet.id, now);
    const funding = planSpend(buckets, req.amount, now);
    if (!funding) {
      throw Errors.insufficientFunds(
        `Wallet ${ownerId} has ${formatTokens(availableOf(buckets, now))} tokens available; ${formatTokens(req.amount)} were requested`,
      );
    }
    const ttl = req.expiresInS ?? this.config.RESERVATION_DEFAULT_TTL_S;
    return hold(tx.sql, {
      id: newId('res'),
      walletId: wallet.id,
      amount: req.amount,
      funding,
      expiresAt: new Date(now.getTime() + ttl * 1000),
      at: now,
      priceId: req.quote?.priceId ?? null,
      priceVersion: req.quote?.version ?? null,
      variant: req.quote?.variant ?? null,
      quantity: req.quantity ?? null,
      ref: req.ref ?? null,
      metadata: req.metadata ?? null,
    });
  }

  private async holdRequest(dto: CreateReservationDto, now: Date): Promise<HoldRequest> {
    const byAmount = dto.amount !== undefined;
    const byVariant = dto.variant !== undefined || dto.quantity !== undefined;
    if (byAmount === byVariant) {
      throw Errors.validation('Give either amount, or variant and quantity', [
        { field: byAmount ? 'variant' : 'amount', message: 'give either amount, or variant and quantity' },
      ]);
    }
    if (dto.expires_in !== undefined && dto.expires_in > this.config.RESERVATION_MAX_TTL_S) {
      throw Errors.validation(`expires_in must be at most ${this.config.RESERVATION_MAX_TTL_S}`, [
        { field: 'expires_in', message: `expires_in must be at most ${this.config.RESERVATION_MAX_TTL_S}` },
      ]);
    }
    const common = { expiresInS: dto.expires_in, ref: dto.ref ?? null, metadata: dto.metadata ?? null };
    if (byAmount) return { ...common, amount: parseTokens(dto.amount) };
    if (!dto.variant || dto.quantity === undefined) {
      throw Errors.validation('variant and quantity go together', [
        { field: dto.variant ? 'quantity' : 'variant', message: 'variant and quantity go together' },
      ]);
    }
    if (!this.quoter) throw new Error('no PRICE_QUOTER is provided');
    const quote = await this.quoter.quote(dto.variant, dto.quantity, now);
    if (quote.amount <= 0n) throw Errors.unprocessable('zero_price', `Variant ${dto.variant} is free; there is nothing to reserve`);
    return { ...common, amount: quote.amount, quote, quantity: dto.quantity };
  }

  async get(id: string): Promise<ReservationView> {
    const rows = await this.db.query<ReservationRow & { owner_id: string }>(
      `SELECT r.*, r.reserved::text, r.settled::text, r.released::text, r.price_id::text, w.owner_id
       FROM reservations r JOIN wallets w ON w.id = r.wallet_id WHERE r.id = $1`,
      [id],
    );
    if (!rows[0]) throw this.notFound(id);
    return reservationView(rows[0], rows[0].owner_id, this.clock.now());
  }

  settle(idem: IdempotentRequest, id: string, amount: string | number | undefined): Promise<Outcome<ReservationView>> {
    const charge = amount === undefined ? undefined : parseTokens(amount, { allowZero: true });
    return this.idempotency.run(idem, async (tx) => ({ status: 200, body: await this.settleIn(tx, id, charge) }));
  }

  release(idem: IdempotentRequest, id: string): Promise<Outcome<ReservationView>> {
    return this.idempotency.run(idem, async (tx) => ({ status: 200, body: await this.settleIn(tx, id, 0n, 'released') }));
  }

  /**
   * Settles `charge` (default: all) of a pending reservation, or releases it.
   * Wallet lock first, then the reservation is read and checked under it.
   */
  async settleIn(tx: Tx, id: string, charge: bigint | undefined, as: 'settled' | 'released' = 'settled'): Promise<ReservationView> {
    const now = this.clock.now();
    const { r, ownerId } = await this.lockReservation(tx, id);
    if (r.status !== 'pending' && r.status !== 'expired') {
      throw Errors.conflict('reservation_not_pending', `Reservation ${id} is already ${r.status}`);
    }
    if (r.status === 'expired' || r.expires_at.getTime() <= now.getTime()) {
      throw Errors.conflict(
        'reservation_expired',
        `Reservation ${id} expired at ${r.expires_at.toISOString()}; the sweeper returns its tokens to the wallet`,
      );
    }
    const reserved = BigInt(r.reserved);
    const amount = as === 'released' ? 0n : (charge ?? reserved);
    if (amount > reserved) {
      throw Errors.unprocessable(
        'amount_exceeds_reservation',
        `Cannot settle ${formatTokens(amount)} of a reservation of ${formatTokens(reserved)}`,
      );
    }
    const { returned } = splitSettlement(fundingOf(r), amount);
    const done = await finish(tx.sql, r, as, amount, returned, now);
    return reservationView(done, ownerId, now);
  }

  /** Releases a lapsed hold (the sweeper): status `expired`, everything returns to its buckets. */
  async expireOne(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const now = this.clock.now();
      const { r } = await this.lockReservation(tx, id);
      if (r.status !== 'pending' || r.expires_at.getTime() > now.getTime()) return false;
      await finish(tx.sql, r, 'expired', 0n, fundingOf(r), now);
      return true;
    });
  }

  private async lockReservation(tx: Tx, id: string): Promise<{ r: ReservationRow; ownerId: string }> {
    const { rows } = await tx.sql.query<{ wallet_id: string }>(`SELECT wallet_id FROM reservations WHERE id = $1`, [id]);
    if (!rows[0]) throw this.notFound(id);
    const wallet = await lockWalletById(tx.sql, rows[0].wallet_id);
    const r = await findReservation(tx.sql, id);
    if (!r) throw this.notFound(id);
    return { r, ownerId: wallet.owner_id };
  }

  private notFound(id: string): DomainError {
    return Errors.notFound('reservation_not_found', `No reservation ${id}`);
  }
}
