import { Clock, Errors, formatTokens, IdempotencyService, type IdempotentRequest, parseTokens, Principal, Tx } from '@app/common';
import { Ledger, WalletRow, WalletService } from '@app/ledger';
import { GenerationService } from '@app/generation';
import { PricingService, priceView } from '@app/pricing';
import { Injectable } from '@nestjs/common';
import { AuditService } from './audit.service.js';
import type { AdjustmentDto, GrantDto, PriceChangeDto, RefundDto } from './dto/admin.dto.js';
import { WalletGenerationsService } from './wallet-generations.service.js';

/** The generations the wallet view shows; the rest are paged by GET /v1/admin/wallets/{owner_id}/generations. */
const WALLET_GENERATIONS = 50;

/** Support and finance actions. Each is idempotent, needs a reason, and is audited in its own transaction. */
@Injectable()
export class AdminService {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly audit: AuditService,
    private readonly wallets: WalletService,
    private readonly ledger: Ledger,
    private readonly generationsOf: GenerationService,
    private readonly pricing: PricingService,
    private readonly walletGenerations: WalletGenerationsService,
    private readonly clock: Clock,
  ) {}

  private lockOwner(tx: Tx, ownerId: string): Promise<WalletRow> {
    return this.ledger.lock(tx, { ownerId }, this.clock.now());
  }

  private async balance(tx: Tx, walletId: string) {
    const { rows } = await tx.sql.query<{ available: string; held: string }>(
      `SELECT ledger_available($1, $2)::text AS available,
         (SELECT coalesce(sum(reserved), 0) FROM reservations WHERE wallet_id = $1 AND status = 'pending')::text AS held`,
      [walletId, this.clock.now()],
    );
    return { available: formatTokens(BigInt(rows[0].available)), held: formatTokens(BigInt(rows[0].held)) };
  }

  grant(idem: IdempotentRequest, actor: Principal, ownerId: string, dto: GrantDto) {
    const amount = parseTokens(dto.amount);
    const now = this.clock.now();
    const expiresAt = dto.expires_at ? new Date(dto.expires_at) : null;
    return this.idempotency.run(idem, async (tx) => {
      // After the key is claimed: a retry of a grant made before its expires_at passed replays it (spec section 6).
      if (expiresAt && expiresAt.getTime() <= now.getTime()) {
        throw Errors.validation('expires_at must be in the future', [{ field: 'expires_at', message: 'expires_at must be in the future' }]);
      }
      const w = await this.lockOwner(tx, ownerId);
      const id = await this.ledger.credit(
        tx,
        {
          walletId: w.id,
          source: 'promo',
          amount,
          expiresAt,
          from: 'promotionalGrants',
          kind: 'grant',
          ref: `admin:${actor.name}`,
          metadata: { reason: dto.reason, actor: actor.name },
        },
        now,
      );
      await this.audit.record(tx, {
        actor,
        action: 'grant',
        targetType: 'wallet',
        targetId: ownerId,
        amount,
        reason: dto.reason,
        details: { bucket_id: id, expires_at: expiresAt?.toISOString() ?? null },
      });
      return {
        status: 201,
        body: {
          id,
          owner_id: ownerId,
          amount: formatTokens(amount),
          expires_at: expiresAt?.toISOString() ?? null,
          balance: await this.balance(tx, w.id),
        },
      };
    });
  }

  /** Positive: an adjustment bucket. Negative: debited from live buckets in spending order, never below zero. */
  adjust(idem: IdempotentRequest, actor: Principal, ownerId: string, dto: AdjustmentDto) {
    const amount = parseTokens(dto.amount, { signed: true });
    const now = this.clock.now();
    return this.idempotency.run(idem, async (tx) => {
      const w = await this.lockOwner(tx, ownerId);
      const metadata = { reason: dto.reason, actor: actor.name };
      const ref = `admin:${actor.name}`;
      const id =
        amount > 0n
          ? await this.ledger.credit(
              tx,
              { walletId: w.id, source: 'adjustment', amount, expiresAt: null, from: 'adjustments', kind: 'adjustment', ref, metadata },
              now,
            )
          : await this.ledger.debit(tx, { walletId: w.id, amount: -amount, to: 'adjustments', kind: 'adjustment', ref, metadata }, now);
      if (!id) {
        const { available } = await this.balance(tx, w.id);
        throw Errors.unprocessable(
          'adjustment_exceeds_balance',
          `Wallet ${ownerId} has ${available} tokens available; cannot debit ${formatTokens(-amount)}`,
        );
      }
      await this.audit.record(tx, {
        actor,
        action: 'adjustment',
        targetType: 'wallet',
        targetId: ownerId,
        amount,
        reason: dto.reason,
        details: { id },
      });
      return { status: 201, body: { id, owner_id: ownerId, amount: formatTokens(amount), balance: await this.balance(tx, w.id) } };
    });
  }

  setFrozen(idem: IdempotentRequest, actor: Principal, ownerId: string, frozen: boolean, reason: string) {
    return this.idempotency.run(idem, async (tx) => {
      const w = await this.lockOwner(tx, ownerId);
      const status = frozen ? 'frozen' : 'active';
      // An admin's freeze is one cause among others (a dispute's); an admin's unfreeze lifts them all.
      if (frozen) await this.ledger.freeze(tx, w.id, 'admin');
      else await this.ledger.unfreeze(tx, w.id, 'all');
      await this.audit.record(tx, {
        actor,
        action: frozen ? 'freeze' : 'unfreeze',
        targetType: 'wallet',
        targetId: ownerId,
        reason,
        details: { previous: w.status },
      });
      return { status: 200, body: { owner_id: ownerId, status } };
    });
  }

  /**
   * Refunds a settled generation, at most what was charged minus earlier
   * refunds, into a refund bucket that keeps the earliest expiry of the
   * buckets that paid for it (free tokens refunded stay free tokens that lapse).
   */
  refund(idem: IdempotentRequest, actor: Principal, generationId: string, dto: RefundDto) {
    const now = this.clock.now();
    const asked = dto.amount === undefined ? null : parseTokens(dto.amount);
    return this.idempotency.run(idem, async (tx) => {
      const g = await this.generationsOf.charge(tx, generationId);
      if (!g) throw Errors.notFound('generation_not_found', `No generation ${generationId}`);
      await this.ledger.lock(tx, { walletId: g.walletId }, now);
      // Under the wallet lock: two refunds of one generation never pass its charge together.
      const charged = g.tokensUsed;
      const refunded = await this.ledger.refunded(tx, generationId);
      // What was paid from a purchase Stripe reversed since went back with the money: never refunded again.
      const reversed = await this.ledger.reversedShare(tx, g.reservationId);
      const left = charged - refunded - reversed;
      const refundable = left > 0n ? left : 0n;
      const amount = asked ?? refundable;
      if (amount <= 0n || amount > refundable) {
        const why = reversed > 0n ? ` (${formatTokens(reversed)} of it was paid from a purchase Stripe reversed)` : '';
        throw Errors.unprocessable(
          'refund_exceeds_charge',
          `Generation ${generationId} was charged ${formatTokens(charged)}${why}; ${formatTokens(refundable)} can still be refunded, ${formatTokens(amount)} was asked`,
        );
      }
      const { bucketId: bucket, expiresAt } = await this.ledger.refund(
        tx,
        {
          walletId: g.walletId,
          reservationId: g.reservationId,
          amount,
          ref: generationId,
          metadata: { generation_id: generationId, reason: dto.reason, actor: actor.name },
        },
        now,
      );
      await this.audit.record(tx, {
        actor,
        action: 'refund',
        targetType: 'generation',
        targetId: generationId,
        ownerId: g.ownerId,
        amount,
        reason: dto.reason,
        details: { bucket_id: bucket, expires_at: expiresAt?.toISOString() ?? null },
      });
      return {
        status: 201,
        body: {
          id: bucket,
          generation_id: generationId,
          owner_id: g.ownerId,
          amount: formatTokens(amount),
          refunded_total: formatTokens(refunded + amount),
          expires_at: expiresAt?.toISOString() ?? null,
          balance: await this.balance(tx, g.walletId),
        },
      };
    });
  }

  changePrice(idem: IdempotentRequest, actor: Principal, variant: string, dto: PriceChangeDto) {
    const tokens = parseTokens(dto.tokens, { allowZero: true });
    const effectiveAt = dto.effective_at ? new Date(dto.effective_at) : this.clock.now();
    return this.idempotency.run(idem, async (tx) => {
      const v = await this.pricing.newVersion(tx, variant, { tokens, active: dto.active, effectiveAt, dimensions: dto.dimensions });
      await this.audit.record(tx, {
        actor,
        action: 'price_change',
        targetType: 'price',
        targetId: variant,
        amount: tokens,
        reason: dto.reason,
        details: { version: v.version, active: v.active, effective_at: v.effectiveAt.toISOString(), dimensions: v.dimensions },
      });
      return { status: 200, body: priceView(v) };
    });
  }

  async walletDetail(ownerId: string) {
    const wallet = await this.wallets.view(ownerId);
    const [reservations, generations] = await Promise.all([
      this.wallets.pendingReservations(ownerId),
      this.walletGenerations.list(ownerId, WALLET_GENERATIONS),
    ]);
    return { wallet, reservations, generations: generations.data };
  }
}
