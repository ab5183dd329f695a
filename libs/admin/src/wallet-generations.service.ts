import { formatTokens } from '@app/common';
import { GenerationService } from '@app/generation';
import { WalletService } from '@app/ledger';
import { Injectable } from '@nestjs/common';
import type { WalletGenerationDto } from './dto/views.dto.js';

/**
 * A wallet's generations for support, newest first and cursor-paginated: the
 * generations from their owner (GenerationService), what admins refunded of
 * each from the ledger. Writes nothing.
 */
@Injectable()
export class WalletGenerationsService {
  constructor(
    private readonly wallets: WalletService,
    private readonly generations: GenerationService,
  ) {}

  async list(ownerId: string, limit = 50, cursor?: string): Promise<{ data: WalletGenerationDto[]; next_cursor: string | null }> {
    const page = await this.generations.listForWallet(await this.wallets.idOf(ownerId), limit, cursor);
    const refunded = await this.wallets.refundedTotals(page.data.map((g) => g.id));
    return {
      data: page.data.map(({ tokensUsed, ...g }) => ({
        ...g,
        tokens_used: formatTokens(tokensUsed),
        refunded: formatTokens(refunded.get(g.id) ?? 0n),
      })),
      next_cursor: page.next_cursor,
    };
  }
}
