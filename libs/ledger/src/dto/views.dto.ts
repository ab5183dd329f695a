import { EnumProp, InstantProp, IntProp, JsonObjectProp, NextCursorProp, OWNER_ID_PATTERN, StringProp, TokensProp } from '@app/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiSchema, getSchemaPath } from '@nestjs/swagger';

/*
 * The documented shapes of the ledger's response bodies (WalletView,
 * TransactionView, ReservationView, VerifyReport): what the OpenAPI document
 * and so the generated client type them as.
 */

const OWNER_ID = { pattern: OWNER_ID_PATTERN, example: 'user_42' };

@ApiSchema({ name: 'Balance', description: "A wallet's balance." })
export class BalanceDto {
  @TokensProp('Tokens that can be spent now: the unexpired buckets.')
  available!: string;

  @TokensProp('Tokens held by pending reservations.')
  held!: string;
}

@ApiSchema({ name: 'Bucket', description: 'A credit lot of a wallet: one grant, purchase, plan period, refund or adjustment.' })
export class BucketDto {
  @ApiProperty({ format: 'uuid', description: 'The bucket id.' })
  id!: string;

  @EnumProp(['free_weekly', 'promo', 'plan', 'purchase', 'refund', 'adjustment'], 'Where its tokens came from.')
  source!: string;

  @TokensProp('Tokens it was credited with.')
  granted!: string;

  @TokensProp('Tokens left in it.')
  remaining!: string;

  @InstantProp('When its tokens lapse; null: never.', { nullable: true })
  expires_at!: string | null;
}

@ApiSchema({ name: 'Wallet', description: 'A wallet, its balance and its buckets.' })
export class WalletDto {
  @StringProp("The gateway's user or org id.", OWNER_ID)
  owner_id!: string;

  @EnumProp(['active', 'frozen'], 'frozen: spending is blocked.')
  status!: 'active' | 'frozen';

  @ApiProperty({ description: 'A refund or dispute took more than the wallet had left: support should look at it.' })
  flagged!: boolean;

  @ApiProperty({ type: BalanceDto, description: 'What the wallet can spend and what is held.' })
  balance!: BalanceDto;

  @ApiProperty({ type: [BucketDto], description: 'The live buckets, in spending order.' })
  buckets!: BucketDto[];

  @JsonObjectProp('The Stripe plan the wallet is subscribed to ({plan_id, status, current_period_end, ...}), or null.')
  plan!: Record<string, unknown> | null;

  @InstantProp('When the wallet was created.')
  created_at!: string;
}

@ApiSchema({ name: 'Transaction', description: 'One movement of value of a wallet.' })
export class TransactionDto {
  @ApiProperty({ format: 'uuid', description: 'The transfer id.' })
  id!: string;

  @StringProp('What moved value: reserve, settle, release, expire, grant, purchase, plan, refund, adjustment, free_weekly, clawback, ...', {
    example: 'settle',
  })
  type!: string;

  @TokensProp('The change of the available balance (negative for spending).')
  amount!: string;

  @InstantProp('When it was booked.')
  created_at!: string;

  @StringProp("The caller's or the service's reference (a reservation, generation or Stripe id).", { nullable: true })
  ref!: string | null;

  @JsonObjectProp('Metadata of the movement (a reason, the actor).')
  metadata!: Record<string, unknown> | null;

  @TokensProp('For the end of a hold (settle, release, expire): the tokens charged to revenue; null for any other transfer.', {
    nullable: true,
  })
  charged!: string | null;

  @TokensProp(
    'For the end of a hold: the tokens of the hold not charged, which go back to the buckets that paid (`amount`, unless a Stripe reversal claws them back in a clawback transfer); null for any other transfer.',
    { nullable: true },
  )
  released!: string | null;
}

@ApiSchema({ name: 'TransactionPage', description: 'A page of transactions, newest first.' })
export class TransactionPageDto {
  @ApiProperty({ type: [TransactionDto], description: 'The page, newest first.' })
  data!: TransactionDto[];

  @NextCursorProp()
  next_cursor!: string | null;
}

@ApiSchema({ name: 'Meter', description: 'The price of one unit of a metered reservation.' })
export class MeterDto {
  @StringProp('The price row (GET /v1/prices).', { example: '49' })
  price_id!: string;

  @IntProp('Its price version.', { example: 1 })
  version!: number;

  @TokensProp('Tokens per unit (per 1K tokens for the 1k_* units).')
  tokens!: string;
}

@ApiSchema({ name: 'Usage', description: 'What a metered call used or was estimated to use (the fields its variant meters).' })
export class UsageViewDto {
  @ApiPropertyOptional({ type: 'integer', description: 'LLM input tokens (unit 1k_input_tokens).' })
  input_tokens?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'LLM output tokens (unit 1k_output_tokens).' })
  output_tokens?: number;

  @ApiPropertyOptional({ type: 'string', description: 'Seconds (unit second), a decimal string.', example: '4.5' })
  seconds?: string;

  @ApiPropertyOptional({ type: 'string', description: 'Units (unit image), a decimal string.', example: '1' })
  quantity?: string;
}

@ApiSchema({ name: 'Reservation', description: 'A hold of tokens, until settled, released or expired.' })
@ApiExtraModels(MeterDto)
export class ReservationDto {
  @StringProp('The reservation id (res_ and 32 hex digits).', { example: 'res_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  id!: string;

  @StringProp("The wallet's owner_id.", OWNER_ID)
  owner_id!: string;

  @EnumProp(['pending', 'settled', 'released', 'expired'], 'A pending hold past its expiry reads as expired.')
  status!: 'pending' | 'settled' | 'released' | 'expired';

  @TokensProp('Tokens held.')
  reserved!: string;

  @TokensProp('Tokens charged.')
  settled!: string;

  @TokensProp('Tokens returned to the wallet.')
  released!: string;

  @InstantProp('When the hold lapses.')
  expires_at!: string;

  @InstantProp('When it was made.')
  created_at!: string;

  @InstantProp('When it was settled, released or expired; null while pending.', { nullable: true })
  finished_at!: string | null;

  @StringProp("The caller's reference.", { nullable: true })
  ref!: string | null;

  @JsonObjectProp("The caller's metadata.")
  metadata!: Record<string, unknown> | null;

  @ApiPropertyOptional({ description: 'The variant, when reserved by variant and quantity.', example: 'gpt-image-1-min' })
  variant?: string;

  @ApiPropertyOptional({ type: 'integer', description: 'The quantity, when reserved by variant.' })
  quantity?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'The price version it was priced at, when reserved by variant and quantity.' })
  price_version?: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(MeterDto) },
    description:
      'A metered reservation: the price of each unit it is charged at (its versions, whatever the price list says by its settle).',
    example: { '1k_input_tokens': { price_id: '49', version: 1, tokens: '0.004' } },
  })
  meters?: Record<string, MeterDto>;

  @ApiPropertyOptional({ type: UsageViewDto, description: 'A metered reservation: the usage it was reserved for.' })
  estimate?: UsageViewDto;

  @ApiPropertyOptional({
    type: UsageViewDto,
    nullable: true,
    description: 'A metered reservation: the usage it was settled with; null while pending or when it ended otherwise.',
  })
  usage?: UsageViewDto | null;

  @TokensProp('A metered reservation: what a settle may take from the live buckets beyond the hold.', { required: false })
  max_overage?: string;

  @TokensProp('A metered reservation: what its settle took from the live buckets beyond the hold (the usage cost more than the hold).', {
    required: false,
  })
  overage?: string;

  @TokensProp(
    'A metered reservation: what its usage cost beyond the hold and the overage, which the wallet did not pay (booked to uncollected_usage).',
    { required: false },
  )
  uncollected?: string;
}

@ApiSchema({ name: 'LedgerCounts', description: 'Rows checked.' })
export class LedgerCountsDto {
  @IntProp('Transfers.')
  transfers!: number;
  @IntProp('Entries.')
  entries!: number;
  @IntProp('Buckets.')
  buckets!: number;
  @IntProp('Reservations.')
  reservations!: number;
  @IntProp('Wallets.')
  wallets!: number;
}

@ApiSchema({ name: 'Violation', description: 'An invariant that does not hold.' })
export class ViolationDto {
  @StringProp('The invariant (spec section 4), e.g. "2. bucket remaining".')
  invariant!: string;
  @StringProp('What is wrong, naming the rows.')
  detail!: string;
}

@ApiSchema({ name: 'VerifyReport', description: 'The ledger invariant report.' })
export class VerifyReportDto {
  @ApiProperty({ description: 'true when every invariant holds.' })
  ok!: boolean;

  @InstantProp('When the check ran.')
  checked_at!: string;

  @ApiProperty({ type: LedgerCountsDto, description: 'How many rows were checked.' })
  counts!: LedgerCountsDto;

  @ApiProperty({ type: [ViolationDto], description: 'Empty when ok.' })
  violations!: ViolationDto[];
}
