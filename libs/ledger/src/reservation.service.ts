import {
  APP_CONFIG,
  AppConfig,
  Clock,
  Database,
  Errors,
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
import type { CreateReservationDto, SettleReservationDto, UsageDto } from './dto/create-reservation.dto.js';
import { type Hold, Ledger, type Usage } from './ledger.js';
import type { ReservationView } from './views.js';

export interface HoldRequest {
  /** Millitokens; null for a metered hold (the ledger prices its estimate). */
  amount: bigint | null;
  expiresInS?: number;
  quote?: Quote | null;
  quantity?: number | null;
  ref?: string | null;
  metadata?: Record<string, unknown> | null;
  spenderId?: string | null;
  /** The API key that asked (the request's principal). */
  apiKeyId?: string | null;
  metered?: Hold['metered'];
  holder?: Hold['holder'];
}

const USAGE_FIELDS = ['input_tokens', 'output_tokens', 'seconds', 'quantity'] as const;

/** A usage as the ledger stores it: tokens as integers, seconds and quantity as the decimal strings given (numbers as written). */
export function toUsage(dto: UsageDto): Usage {
  const out: Usage = {};
  for (const f of USAGE_FIELDS) {
    const v = dto[f];
    if (v === undefined) continue;
    if (f === 'input_tokens' || f === 'output_tokens') out[f] = Number(v);
    else out[f] = String(v);
  }
  return out;
}

/** The reservations API: parses what the gateway asks, the ledger does it in one call. */
@Injectable()
export class ReservationService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    private readonly idempotency: IdempotencyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(PRICE_QUOTER) private readonly quoter?: PriceQuoter,
  ) {}

  async create(idem: IdempotentRequest, ownerId: string, dto: CreateReservationDto): Promise<Outcome<ReservationView>> {
    const now = this.clock.now();
    // The price is read before the ledger claims the key: a retry replays even once it is gone.
    return this.idempotency.orReplay(idem, async () => {
      const request = await this.holdRequest(dto, now);
      return this.reserve(ownerId, { ...request, spenderId: dto.spender_id ?? null, apiKeyId: idem.principalId }, idem, undefined, now);
    });
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
        metered: req.metered ?? null,
        holder: req.holder ?? null,
      },
      idem,
      tx,
      now,
    );
  }
  private async holdRequest(dto: CreateReservationDto, now: Date): Promise<HoldRequest> {
    // Three forms, exactly one: {amount}, {variant, quantity}, {variant, estimate, max_overage?}.
    const forms = [
      dto.amount !== undefined && 'amount',
      dto.quantity !== undefined && 'quantity',
      (dto.estimate !== undefined || dto.max_overage !== undefined) && 'estimate',
    ].filter((f): f is string => f !== false);
    if (forms.length !== 1 || (forms[0] === 'amount' && dto.variant !== undefined)) {
      const message = 'give exactly one of amount, variant and quantity, or variant and estimate (with max_overage)';
      throw Errors.validation(`Give either amount, or variant and quantity, or variant and estimate`, [
        { field: forms.length === 0 ? 'amount' : (forms[1] ?? 'variant'), message },
      ]);
    }
    if (dto.expires_in !== undefined && dto.expires_in > this.config.RESERVATION_MAX_TTL_S) {
      throw Errors.validation(`expires_in must be at most ${this.config.RESERVATION_MAX_TTL_S}`, [
        { field: 'expires_in', message: `expires_in must be at most ${this.config.RESERVATION_MAX_TTL_S}` },
      ]);
    }
    const common = { expiresInS: dto.expires_in, ref: dto.ref ?? null, metadata: dto.metadata ?? null };
    if (forms[0] === 'amount') return { ...common, amount: parseTokens(dto.amount) };
    if (!dto.variant || (forms[0] === 'estimate' && dto.estimate === undefined)) {
      const field = dto.variant ? 'estimate' : 'variant';
      throw Errors.validation(`variant and ${forms[0]} go together`, [{ field, message: `variant and ${forms[0]} go together` }]);
    }
    if (!this.quoter) throw new Error('no PRICE_QUOTER is provided');
    if (forms[0] === 'estimate' && dto.estimate) {
      // The ledger prices the estimate at these meters (ledger_usage_cost); the hold keeps them for its settle.
      const meters = await this.quoter.meters(dto.variant, now);
      const maxOverage = dto.max_overage === undefined ? 0n : parseTokens(dto.max_overage, { allowZero: true });
      return {
        ...common,
        amount: null,
        quote: null,
        metered: { variant: dto.variant, meters, estimate: toUsage(dto.estimate), maxOverage },
      };
    }
    const quote = await this.quoter.quote(dto.variant, dto.quantity as number, now);
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

  /** {amount} (or no body) for a hold by amount or quantity, {usage} for a metered one; the ledger tells which it is. */
  settle(idem: IdempotentRequest, id: string, dto: SettleReservationDto): Promise<Outcome<ReservationView>> {
    if (dto.usage !== undefined) {
      if (dto.amount !== undefined) {
        throw Errors.validation('Give amount or usage, not both', [{ field: 'usage', message: 'give amount or usage, not both' }]);
      }
      return this.ledger.settleUsage(id, toUsage(dto.usage), idem);
    }
    const charge = dto.amount === undefined ? undefined : parseTokens(dto.amount, { allowZero: true });
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
