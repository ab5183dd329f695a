import {
  APP_CONFIG,
  AppConfig,
  Clock,
  Database,
  Errors,
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
import { Ledger } from './ledger.js';
import type { ReservationView } from './views.js';

export interface HoldRequest {
  amount: bigint;
  expiresInS?: number;
  quote?: Quote | null;
  quantity?: number | null;
  ref?: string | null;
  metadata?: Record<string, unknown> | null;
  spenderId?: string | null;
  /** The API key that asked (the request's principal). */
  apiKeyId?: string | null;
}

/** The reservations API: parses what the gateway asks, the ledger does it in one call. */
@Injectable()
export class ReservationService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(PRICE_QUOTER) private readonly quoter?: PriceQuoter,
  ) {}

  async create(idem: IdempotentRequest, ownerId: string, dto: CreateReservationDto): Promise<Outcome<ReservationView>> {
    const now = this.clock.now();
    const request = await this.holdRequest(dto, now);
    return this.reserve(ownerId, { ...request, spenderId: dto.spender_id ?? null, apiKeyId: idem.principalId }, idem, undefined, now);
  }

  /**
   * Reserves, alone (one statement) or inside the caller's transaction (a
   * generation records itself in the same one). Returns the reservation and its wallet.
   */
  reserve(ownerId: string, req: HoldRequest, idem?: IdempotentRequest, tx?: Tx, now = this.clock.now()): Promise<Outcome<ReservationView>> {
    return this.ledger.reserve(
      ownerId,
      newId('res'),
      {
        amount: req.amount,
        expiresInS: req.expiresInS ?? this.config.RESERVATION_DEFAULT_TTL_S,
        price: req.quote ? { priceId: req.quote.priceId, version: req.quote.version, variant: req.quote.variant } : null,
        quantity: req.quantity ?? null,
        ref: req.ref ?? null,
        metadata: req.metadata ?? null,
        spenderId: req.spenderId ?? null,
        apiKeyId: req.apiKeyId ?? null,
      },
      idem,
      tx,
      now,
    );
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
    const rows = await this.db.query<{ r: ReservationView }>(
      `SELECT ledger_reservation_view(r, w.owner_id, $2) AS r FROM reservations r JOIN wallets w ON w.id = r.wallet_id WHERE r.id = $1`,
      [id, this.clock.now()],
    );
    if (!rows[0]) throw Errors.notFound('reservation_not_found', `No reservation ${id}`);
    return rows[0].r;
  }

  settle(idem: IdempotentRequest, id: string, amount: string | number | undefined): Promise<Outcome<ReservationView>> {
    const charge = amount === undefined ? undefined : parseTokens(amount, { allowZero: true });
    return this.ledger.settle(id, charge, idem);
  }

  release(idem: IdempotentRequest, id: string): Promise<Outcome<ReservationView>> {
    return this.ledger.release(id, idem);
  }

  /** Moves a pending hold's expiry to `expiresInS` from now, never earlier, at most GENERATION_MAX_HOLD_S after it was made. */
  extend(idem: IdempotentRequest, id: string, expiresInS: number): Promise<Outcome<ReservationView>> {
    const at = new Date(this.clock.now().getTime() + expiresInS * 1000);
    return this.ledger.extend(id, at, this.config.GENERATION_MAX_HOLD_S, idem);
  }
}
