import { Errors } from '@app/common';
import { BillingService } from '@app/billing';
import { GenerationService } from '@app/generation';
import { WalletService } from '@app/ledger';
import { Injectable } from '@nestjs/common';
import type { LookupDto } from './dto/views.dto.js';

export type LookupKind = LookupDto['kind'];

/** What an id is, by its form (LookupQuery has checked it is one of these). */
export function lookupKind(id: string): LookupKind {
  if (id.startsWith('gen_')) return 'generation';
  if (id.startsWith('res_')) return 'reservation';
  if (id.startsWith('pi_')) return 'payment_intent';
  return 'customer';
}

/**
 * Finding a wallet for support: by the start of its owner id, or by an id of
 * something it has. Each id is asked of the lib that owns its table: a
 * generation of GenerationService, a reservation and a Stripe customer of the
 * ledger's WalletService, a payment intent of BillingService.
 */
@Injectable()
export class SearchService {
  constructor(
    private readonly wallets: WalletService,
    private readonly generations: GenerationService,
    private readonly billing: BillingService,
  ) {}

  byOwnerPrefix(prefix: string, limit = 50, cursor?: string) {
    return this.wallets.search(prefix, limit, cursor);
  }

  async lookup(id: string): Promise<LookupDto> {
    const kind = lookupKind(id);
    const ownerId = await this.ownerOf(kind, id);
    if (ownerId === null) throw NOT_FOUND[kind](id);
    return { kind, id, owner_id: ownerId };
  }

  private async ownerOf(kind: LookupKind, id: string): Promise<string | null> {
    switch (kind) {
      case 'generation':
        return this.generations.ownerOf(id);
      case 'reservation':
        return this.wallets.ownerOf({ reservationId: id });
      case 'payment_intent': {
        const walletId = await this.billing.walletOfPaymentIntent(id);
        return walletId === null ? null : this.wallets.ownerOf({ walletId });
      }
      case 'customer':
        return this.wallets.ownerOf({ stripeCustomerId: id });
    }
  }
}

const NOT_FOUND: Record<LookupKind, (id: string) => Error> = {
  generation: (id) => Errors.notFound('generation_not_found', `No generation ${id}`),
  reservation: (id) => Errors.notFound('reservation_not_found', `No reservation ${id}`),
  payment_intent: (id) => Errors.notFound('payment_not_found', `No Stripe payment or auto top-up with payment intent ${id}`),
  customer: (id) => Errors.notFound('customer_not_found', `No wallet has the Stripe customer ${id}`),
};
