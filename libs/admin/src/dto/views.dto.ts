import { EnumProp, InstantProp, IntProp, JsonObjectProp, NextCursorProp, StringProp, TokensProp, UsdProp } from '@app/common';
import { GenerationErrorDto, GenerationPriceDto } from '@app/generation';
import { BalanceDto, WalletDto } from '@app/ledger';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { ACTIONS } from './admin.dto.js';

/** The documented shapes of the admin routes' bodies. */

@ApiSchema({ name: 'PendingReservation', description: 'A pending hold of a wallet.' })
export class PendingReservationDto {
  @StringProp('The reservation id.', { example: 'res_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  id!: string;
  @StringProp('Always pending here.', { example: 'pending' })
  status!: string;
  @TokensProp('Tokens held.')
  reserved!: string;
  @InstantProp('When it lapses.')
  expires_at!: string;
  @InstantProp('When it was made.')
  created_at!: string;
  @StringProp("The caller's reference.", { nullable: true })
  ref!: string | null;
}

@ApiSchema({ name: 'WalletGeneration', description: "A wallet's generation, for support." })
export class WalletGenerationDto {
  @StringProp('The generation id.', { example: 'gen_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  id!: string;
  @EnumProp(['generate', 'edit'], 'A generation from a prompt, or an edit of input images.')
  kind!: 'generate' | 'edit';
  @EnumProp(['queued', 'running', 'succeeded', 'failed'], 'Where it is.')
  status!: 'queued' | 'running' | 'succeeded' | 'failed';
  @StringProp('The variant.', { example: 'gpt-image-1-min' })
  variant!: string;
  @ApiProperty({ type: GenerationPriceDto, description: 'What it was priced at, and why (the dimensions of the price it matched).' })
  price!: GenerationPriceDto;
  @IntProp('Images asked for.')
  n!: number;
  @IntProp('Images delivered (and charged for) so far.')
  delivered!: number;
  @StringProp('The batch it belongs to, or null.', { nullable: true })
  batch_id!: string | null;
  @StringProp('The prompt, its first 200 characters at most.', { example: 'a lighthouse at dusk' })
  prompt!: string;
  @ApiProperty({ description: 'Whether the prompt is longer than what `prompt` shows.' })
  prompt_truncated!: boolean;
  @StringProp('The first delivered image, or null.', { format: 'uri', nullable: true })
  image_url!: string | null;
  @ApiProperty({ type: GenerationErrorDto, nullable: true, description: 'Why it failed, or null.' })
  error!: GenerationErrorDto | null;
  @TokensProp('Tokens charged.')
  tokens_used!: string;
  @TokensProp('Tokens refunded by admins.')
  refunded!: string;
  @InstantProp('When it was accepted.')
  created_at!: string;
  @InstantProp('When it finished, or null.', { nullable: true })
  finished_at!: string | null;
}

@ApiSchema({ name: 'WalletGenerationPage', description: "A page of a wallet's generations, newest first." })
export class WalletGenerationPageDto {
  @ApiProperty({ type: [WalletGenerationDto], description: 'The page, newest first.' })
  data!: WalletGenerationDto[];
  @NextCursorProp()
  next_cursor!: string | null;
}

@ApiSchema({ name: 'WalletMatch', description: 'A wallet found by owner id prefix.' })
export class WalletMatchDto {
  @StringProp("The wallet's owner_id.", { example: 'user_42' })
  owner_id!: string;
  @ApiProperty({ enum: ['active', 'frozen'], description: 'Its status.' })
  status!: 'active' | 'frozen';
  @ApiProperty({ description: 'Whether a refund or dispute took more than it had.' })
  flagged!: boolean;
  @TokensProp('Tokens available now.')
  available!: string;
  @TokensProp('Tokens held by pending reservations.')
  held!: string;
  @InstantProp('When it was created.')
  created_at!: string;
}

@ApiSchema({ name: 'WalletMatchPage', description: 'A page of wallets whose owner_id starts with the prefix, in byte order.' })
export class WalletMatchPageDto {
  @ApiProperty({ type: [WalletMatchDto], description: 'The page, in byte order of owner_id.' })
  data!: WalletMatchDto[];
  @NextCursorProp()
  next_cursor!: string | null;
}

@ApiSchema({ name: 'Lookup', description: 'The wallet an id belongs to.' })
export class LookupDto {
  @ApiProperty({ enum: ['generation', 'reservation', 'payment_intent', 'customer'], description: 'What the id is.' })
  kind!: 'generation' | 'reservation' | 'payment_intent' | 'customer';
  @StringProp('The id looked up.', { example: 'gen_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  id!: string;
  @StringProp('The owner_id of the wallet it belongs to.', { example: 'user_42' })
  owner_id!: string;
}

@ApiSchema({ name: 'AdminWallet', description: 'A wallet in detail, for support.' })
export class AdminWalletDto {
  @ApiProperty({ type: WalletDto, description: 'The wallet, as GET /v1/wallets/{owner_id}.' })
  wallet!: WalletDto;
  @ApiProperty({ type: [PendingReservationDto], description: 'Its pending reservations, oldest first.' })
  reservations!: PendingReservationDto[];
  @ApiProperty({
    type: [WalletGenerationDto],
    description: 'Its latest 50 generations (all of them: GET /v1/admin/wallets/{owner_id}/generations).',
  })
  generations!: WalletGenerationDto[];
}

@ApiSchema({ name: 'Grant', description: 'A grant: a new promo bucket.' })
export class GrantResultDto {
  @ApiProperty({ format: 'uuid', description: 'The bucket.' })
  id!: string;
  @StringProp("The wallet's owner_id.", { example: 'user_42' })
  owner_id!: string;
  @TokensProp('Tokens granted.')
  amount!: string;
  @InstantProp('When they lapse; null: never.', { nullable: true })
  expires_at!: string | null;
  @ApiProperty({ type: BalanceDto, description: 'The balance after it.' })
  balance!: BalanceDto;
}

@ApiSchema({ name: 'Adjustment', description: 'A signed correction of a balance.' })
export class AdjustmentResultDto {
  @ApiProperty({ format: 'uuid', description: 'The bucket (a credit) or the transfer (a debit).' })
  id!: string;
  @StringProp("The wallet's owner_id.", { example: 'user_42' })
  owner_id!: string;
  @TokensProp('The signed amount.')
  amount!: string;
  @ApiProperty({ type: BalanceDto, description: 'The balance after it.' })
  balance!: BalanceDto;
}

@ApiSchema({ name: 'WalletStatus', description: "A wallet's status after a freeze or unfreeze." })
export class WalletStatusDto {
  @StringProp("The wallet's owner_id.", { example: 'user_42' })
  owner_id!: string;
  @ApiProperty({ enum: ['active', 'frozen'], description: 'The status now.' })
  status!: 'active' | 'frozen';
}

@ApiSchema({ name: 'Refund', description: 'A refund of a generation: a new refund bucket.' })
export class RefundResultDto {
  @ApiProperty({ format: 'uuid', description: 'The refund bucket.' })
  id!: string;
  @StringProp('The generation refunded.', { example: 'gen_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  generation_id!: string;
  @StringProp("The wallet's owner_id.", { example: 'user_42' })
  owner_id!: string;
  @TokensProp('Tokens refunded now.')
  amount!: string;
  @TokensProp('Tokens refunded for this generation in all.')
  refunded_total!: string;
  @InstantProp('When the refunded tokens lapse (the earliest expiry of the buckets that paid); null: never.', { nullable: true })
  expires_at!: string | null;
  @ApiProperty({ type: BalanceDto, description: 'The balance after it.' })
  balance!: BalanceDto;
}

@ApiSchema({ name: 'AuditLogEntry', description: 'One admin action.' })
export class AuditLogEntryDto {
  @StringProp('The entry id (a number, as a string).', { example: '42' })
  id!: string;
  @StringProp('The name of the API key that acted.', { example: 'support' })
  actor!: string;
  @ApiProperty({ enum: [...ACTIONS], description: 'What was done.' })
  action!: string;
  @ApiProperty({ enum: ['wallet', 'generation', 'price'], description: 'What it was done to.' })
  target_type!: string;
  @StringProp('The owner_id, generation id or variant.', { example: 'user_42' })
  target_id!: string;
  @TokensProp('The amount, where there is one.', { nullable: true })
  amount!: string | null;
  @StringProp('Why.')
  reason!: string;
  @JsonObjectProp('What else was recorded (bucket ids, previous status, versions).')
  details!: Record<string, unknown> | null;
  @InstantProp('When.')
  created_at!: string;
}

@ApiSchema({ name: 'AuditLogPage', description: 'A page of the audit log, newest first.' })
export class AuditLogPageDto {
  @ApiProperty({ type: [AuditLogEntryDto], description: 'The page, newest first.' })
  data!: AuditLogEntryDto[];
  @NextCursorProp()
  next_cursor!: string | null;
}

@ApiSchema({ name: 'SummaryTokens', description: 'Tokens moved in the range.' })
export class SummaryTokensDto {
  @TokensProp('Credited by Stripe payments.')
  sold!: string;
  @TokensProp('Granted, free and by admins.')
  granted!: string;
  @TokensProp('Settled to revenue.')
  spent!: string;
  @TokensProp('Lapsed.')
  expired!: string;
  @TokensProp('Refunded by admins.')
  refunded!: string;
}

@ApiSchema({ name: 'VariantRevenue', description: 'What was settled for one variant.' })
export class VariantRevenueDto {
  @StringProp('The variant, or "(by amount)" for reservations made by amount.', { example: 'gpt-image-1-min' })
  variant!: string;
  @TokensProp('Tokens settled.')
  tokens!: string;
  @UsdProp('Their USD value.')
  usd!: string;
}

const USD6 = '^-?(0|[1-9][0-9]*)\\.[0-9]{6}$';

@ApiSchema({ name: 'MarginTokens', description: 'Tokens settled, by what funded them.' })
export class MarginTokensDto {
  @TokensProp('From purchase and plan buckets (bought through Stripe).')
  paid!: string;
  @TokensProp('From free buckets: the weekly grant and admin grants (promo). They earn no revenue.')
  free!: string;
  @TokensProp('From refund and adjustment buckets. They earn no revenue here.')
  other!: string;
}

@ApiSchema({ name: 'MarginTotal', description: 'Revenue at the price paid, provider cost and margin of the settlements of a range.' })
export class MarginTotalDto {
  @IntProp('Reservations settled in the range (with a charge).')
  settlements!: number;
  @IntProp('Images delivered by the settled generations.')
  images!: number;
  @ApiProperty({ type: MarginTokensDto, description: 'Tokens settled, paid and free apart.' })
  tokens!: MarginTokensDto;
  @StringProp(
    "USD earned, at the price actually paid for each token: a pack or plan bucket's Stripe payment over its tokens (the creator plan's $19 for 250 tokens is $0.076 a token). 6 decimals.",
    { pattern: USD6, example: '0.269040' },
  )
  revenue_usd!: string;
  @StringProp("The provider's cost of the delivered images the settled generations recorded, 6 decimals.", {
    pattern: USD6,
    example: '0.167000',
  })
  provider_cost_usd!: string;
  @StringProp("The part of provider_cost_usd that free tokens paid for (by each settlement's share of free tokens), 6 decimals.", {
    pattern: USD6,
    example: '0.000000',
  })
  free_tokens_cost_usd!: string;
  @IntProp(
    'Settlements with no recorded provider cost (a reservation by amount, a variant without a cost): the cost above leaves them out.',
  )
  settlements_without_cost!: number;
  @StringProp('revenue_usd - provider_cost_usd, 6 decimals; null when a settlement has no recorded cost.', {
    pattern: USD6,
    nullable: true,
    example: '0.102040',
  })
  margin_usd!: string | null;
}

@ApiSchema({ name: 'VariantMargin', description: 'Revenue at the price paid, provider cost and margin of one variant.' })
export class VariantMarginDto extends MarginTotalDto {
  @StringProp('The variant (or "(by amount)" for reservations of a plain amount).', { example: 'gpt-image-1-min' })
  variant!: string;
}

@ApiSchema({ name: 'Summary', description: 'The finance summary of a range.' })
export class SummaryDto {
  @InstantProp('Start of the range.')
  from!: string;
  @InstantProp('End of the range (exclusive).')
  to!: string;
  @ApiProperty({ type: SummaryTokensDto, description: 'Tokens moved in the range, by kind.' })
  tokens!: SummaryTokensDto;
  @ApiProperty({ type: [VariantRevenueDto], description: 'What was settled, by variant, at the nominal $0.10 a token.' })
  usd_by_variant!: VariantRevenueDto[];
  @ApiProperty({ type: [VariantMarginDto], description: 'Revenue at the price paid, provider cost and margin, by variant.' })
  margin_by_variant!: VariantMarginDto[];
  @ApiProperty({ type: MarginTotalDto, description: 'The same over every variant.' })
  margin_total!: MarginTotalDto;
}

@ApiSchema({ name: 'DailyRow', description: 'One UTC day.' })
export class DailyRowDto {
  @StringProp('The day (YYYY-MM-DD, UTC).', { format: 'date', example: '2026-11-25' })
  day!: string;
  @TokensProp('Tokens sold.')
  sold!: string;
  @TokensProp('Tokens spent.')
  spent!: string;
  @TokensProp('Tokens expired.')
  expired!: string;
}

@ApiSchema({ name: 'Daily', description: 'Finance per day.' })
export class DailyDto {
  @ApiProperty({ type: [DailyRowDto], description: 'One row per UTC day of the range.' })
  data!: DailyRowDto[];
}
