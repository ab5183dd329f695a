import { Clock, Database, Errors, formatTokens, IdempotencyService, type IdempotentRequest, parseTokens, Principal, Tx } from '@app/common';
import {
  availableOf,
  credit,
  findReservation,
  fundingOf,
  liveBuckets,
  lockWalletById,
  lockWalletByOwner,
  planSpend,
  postTransfer,
  splitSettlement,
  SYSTEM,
  WalletRow,
  WalletService,
} from '@app/ledger';
import { PricingService, priceView } from '@app/pricing';
import { Injectable } from '@nestjs/common';
import { AuditService } from './audit.service.js';
import type { AdjustmentDto, GrantDto, PriceChangeDto, RefundDto } from './dto/admin.dto.js';

/** Support and finance actions. Each is idempotent, needs a reason, and is audited in its own transaction. */
@Injectable()
export class AdminService {
  constructor(
    private readonly db: Database,
    private readonly idempotency: IdempotencyService,
    private readonly audit: AuditService,
    private readonly wallets: WalletService,
    private readonly pricing: PricingService,
    private readonly clock: Clock,
  ) {}

  private async lockOwner(tx: Tx, ownerId: string): Promise<WalletRow> {
    const w = await lockWalletByOwner(tx.sql, ownerId);
    if (!w) throw Errors.notFound('wallet_not_found', `No wallet for owner ${ownerId}`);
    return w;
  }

  private async balance(tx: Tx, walletId: string) {
    const now = this.clock.now();
    const available = availableOf(await liveBuckets(tx.sql, walletId, now), now);
    const { rows } = await tx.sql.query<{ held: string }>(
      `SELECT coalesce(sum(reserved), 0)::text AS held FROM reservations WHERE wallet_id = $1 AND status = 'pending'`,
      [walletId],
    );
    return { available: formatTokens(available), held: formatTokens(BigInt(rows[0].held)) };
  }

  grant(idem: IdempotentRequest, actor: Principal, ownerId: string, dto: GrantDto) {
    const amount = parseTokens(dto.amount);
    const now = this.clock.now();
    const expiresAt = dto.expires_at ? new Date(dto.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= now.getTime()) {
      throw Errors.validation('expires_at must be in the future', [{ field: 'expires_at', message: 'expires_at must be in the future' }]);
    }
    return this.idempotency.run(idem, async (tx) => {
      const w = await this.lockOwner(tx, ownerId);
      const id = await credit(tx.sql, {
        walletId: w.id,
        source: 'promo',
        amount,
        expiresAt,
        grantKey: null,
        from: SYSTEM.promotionalGrants,
        kind: 'grant',
        at: now,
        ref: `admin:${actor.name}`,
        metadata: { reason: dto.reason, actor: actor.name },
      });
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
      let id: string | null;
      if (amount > 0n) {
        id = await credit(tx.sql, {
          walletId: w.id,
          source: 'adjustment',
          amount,
          expiresAt: null,
          grantKey: null,
          from: SYSTEM.adjustments,
          kind: 'adjustment',
          at: now,
          ref: `admin:${actor.name}`,
          metadata: { reason: dto.reason, actor: actor.name },
        });
      } else {
        const buckets = await liveBuckets(tx.sql, w.id, now);
        const plan = planSpend(buckets, -amount, now);
        if (!plan) {
          throw Errors.unprocessable(
            'adjustment_exceeds_balance',
            `Wallet ${ownerId} has ${formatTokens(availableOf(buckets, now))} tokens available; cannot debit ${formatTokens(-amount)}`,
          );
        }
        id = await postTransfer(tx.sql, {
          walletId: w.id,
          kind: 'adjustment',
          legs: [...plan.map((f) => ({ accountId: f.bucketId, amount: -f.amount })), { accountId: SYSTEM.adjustments, amount: -amount }],
          at: now,
          ref: `admin:${actor.name}`,
          metadata: { reason: dto.reason, actor: actor.name },
        });
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
      await tx.sql.query(`UPDATE wallets SET status = $2, updated_at = now() WHERE id = $1`, [w.id, status]);
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
      const { rows } = await tx.sql.query<{
        wallet_id: string;
        owner_id: string;
        reservation_id: string;
        status: string;
        tokens_used: string;
      }>(`SELECT wallet_id, owner_id, reservation_id, status, tokens_used::text FROM generations WHERE id = $1`, [generationId]);
      const g = rows[0];
      if (!g) throw Errors.notFound('generation_not_found', `No generation ${generationId}`);
      await lockWalletById(tx.sql, g.wallet_id);
      const charged = BigInt(g.tokens_used);
      const done = await tx.sql.query<{ refunded: string }>(
        `SELECT coalesce(sum(amount), 0)::text AS refunded FROM transfers WHERE kind = 'refund' AND ref = $1`,
        [generationId],
      );
      const refundable = charged - BigInt(done.rows[0].refunded);
      const amount = asked ?? refundable;
      if (amount <= 0n || amount > refundable) {
        throw Errors.unprocessable(
          'refund_exceeds_charge',
          `Generation ${generationId} was charged ${formatTokens(charged)}; ${formatTokens(refundable)} can still be refunded, ${formatTokens(amount)} was asked`,
        );
      }
      const r = await findReservation(tx.sql, g.reservation_id);
      const payers = r ? splitSettlement(fundingOf(r), BigInt(r.settled)).charged.map((f) => f.bucketId) : [];
      const exp = await tx.sql.query<{ expires_at: Date | null }>(
        `SELECT min(expires_at) AS expires_at FROM buckets WHERE id = ANY($1::uuid[])`,
        [payers],
      );
      const expiresAt = exp.rows[0]?.expires_at ?? null;
      const bucket = await credit(tx.sql, {
        walletId: g.wallet_id,
        source: 'refund',
        amount,
        expiresAt,
        grantKey: null,
        from: SYSTEM.revenue,
        kind: 'refund',
        at: now,
        ref: generationId,
        metadata: { generation_id: generationId, reason: dto.reason, actor: actor.name },
      });
      await this.audit.record(tx, {
        actor,
        action: 'refund',
        targetType: 'generation',
        targetId: generationId,
        amount,
        reason: dto.reason,
        details: { owner_id: g.owner_id, bucket_id: bucket, expires_at: expiresAt?.toISOString() ?? null },
      });
      return {
        status: 201,
        body: {
          id: bucket,
          generation_id: generationId,
          owner_id: g.owner_id,
          amount: formatTokens(amount),
          refunded_total: formatTokens(charged - refundable + amount),
          expires_at: expiresAt?.toISOString() ?? null,
          balance: await this.balance(tx, g.wallet_id),
        },
      };
    });
  }

  changePrice(idem: IdempotentRequest, actor: Principal, variant: string, dto: PriceChangeDto) {
    const tokens = parseTokens(dto.tokens, { allowZero: true });
    const effectiveAt = dto.effective_at ? new Date(dto.effective_at) : this.clock.now();
    return this.idempotency.run(idem, async (tx) => {
      const v = await this.pricing.newVersion(tx, variant, { tokens, active: dto.active, effectiveAt });
      await this.audit.record(tx, {
        actor,
        action: 'price_change',
        targetType: 'price',
        targetId: variant,
        amount: tokens,
        reason: dto.reason,
        details: { version: v.version, active: v.active, effective_at: v.effectiveAt.toISOString() },
      });
      return { status: 200, body: priceView(v) };
    });
  }

  async walletDetail(ownerId: string) {
    const wallet = await this.wallets.view(ownerId);
    const [reservations, generations] = await Promise.all([this.wallets.pendingReservations(ownerId), this.generations(ownerId)]);
    return { wallet, reservations, generations };
  }

  private async generations(ownerId: string) {
    const rows = await this.db.query<{
      id: string;
      status: string;
      variant: string;
      n: number;
      tokens_used: string;
      refunded: string;
      created_at: Date;
    }>(
      `SELECT g.id, g.status, g.variant, g.n, g.tokens_used::text, coalesce(r.refunded, 0)::text AS refunded, g.created_at
       FROM generations g LEFT JOIN LATERAL (SELECT sum(amount) AS refunded FROM transfers t WHERE t.kind = 'refund' AND t.ref = g.id) r ON true
       WHERE g.owner_id = $1 ORDER BY g.created_at DESC, g.id DESC LIMIT 50`,
      [ownerId],
    );
    return rows.map((g) => ({
      ...g,
      tokens_used: formatTokens(BigInt(g.tokens_used)),
      refunded: formatTokens(BigInt(g.refunded)),
      created_at: g.created_at.toISOString(),
    }));
  }
}
