import {
  FreeText,
  IsIsoDateTime,
  IsOwnerId,
  IsTokenAmount,
  OWNER_ID_DESCRIPTION,
  OWNER_ID_PATTERN,
  SIGNED_TOKEN_AMOUNT_PATTERN,
  TOKEN_AMOUNT_NOTE,
  TOKEN_AMOUNT_PATTERN,
} from '@app/common';
import { IsPriceDimensions, PriceDimensionsDto } from '@app/pricing';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

/** Every admin action says why: the reason lands in the audit log. */
class Reasoned {
  @ApiProperty({
    description: 'Why: recorded in the audit log with the acting API key. 1-500 characters, not only spaces.',
    minLength: 1,
    maxLength: 500,
    pattern: '\\S',
    example: 'support ticket 4821',
  })
  @IsString()
  @Length(1, 500)
  @Matches(/\S/, { message: 'reason must say why (not only spaces)' })
  @FreeText()
  reason!: string;
}

export class GrantDto extends Reasoned {
  @ApiProperty({
    type: 'string',
    pattern: TOKEN_AMOUNT_PATTERN,
    example: '10.000',
    description: `Tokens to grant into a new promo bucket, more than 0. ${TOKEN_AMOUNT_NOTE}`,
  })
  @IsTokenAmount()
  amount!: string | number;

  /** When the granted tokens lapse (ISO 8601, in the future); none: they never do. */
  @ApiPropertyOptional({
    format: 'date-time',
    example: '2030-01-01T00:00:00Z',
    description: 'When the granted tokens lapse (ISO 8601, in the future; a past time is a 400 validation_error). Omitted: they never do.',
  })
  @IsOptional()
  @IsIsoDateTime()
  expires_at?: string;
}

export class AdjustmentDto extends Reasoned {
  /** Signed: positive credits an adjustment bucket, negative debits buckets in spending order. */
  @ApiProperty({
    type: 'string',
    pattern: SIGNED_TOKEN_AMOUNT_PATTERN,
    example: '-2.500',
    description: `Signed tokens, not 0: positive credits a new adjustment bucket, negative debits the buckets in spending order and never takes one below 0 (422 adjustment_exceeds_balance). ${TOKEN_AMOUNT_NOTE} A leading minus is allowed here.`,
  })
  @IsTokenAmount({ signed: true })
  amount!: string | number;
}

export class ReasonDto extends Reasoned {}

export class RefundDto extends Reasoned {
  /** Default: everything charged and not yet refunded. */
  @ApiPropertyOptional({
    type: 'string',
    pattern: TOKEN_AMOUNT_PATTERN,
    example: '3.540',
    description: `Tokens to refund, more than 0 and at most what the generation was charged minus earlier refunds (more: 422 refund_exceeds_charge). Default: all of that. ${TOKEN_AMOUNT_NOTE}`,
  })
  @IsOptional()
  @IsTokenAmount()
  amount?: string | number;
}

export class PriceChangeDto extends Reasoned {
  /** Tokens per unit. */
  @ApiProperty({
    type: 'string',
    pattern: TOKEN_AMOUNT_PATTERN,
    example: '3.540',
    description: `Tokens per unit of the variant in the new price version; 0 makes it free (reservations by variant then answer 422 zero_price). ${TOKEN_AMOUNT_NOTE}`,
  })
  @IsTokenAmount({ allowZero: true })
  tokens!: string | number;

  @ApiPropertyOptional({
    description:
      'Whether the variant can be priced and reserved; false retires it (404 variant_not_found). Default: as the current version.',
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({
    type: PriceDimensionsDto,
    additionalProperties: { type: 'string' },
    example: { quality: 'high', size: '1024x1536' },
    description:
      "Which of the variant's prices changes: its dimensions, exactly as GET /v1/prices shows them. Default {} (a flat price). Dimensions the variant has no price for yet start a new price at version 1.",
  })
  @IsOptional()
  @IsPriceDimensions()
  dimensions?: Record<string, string>;

  /** When the new version takes effect (default: now). */
  @ApiPropertyOptional({
    format: 'date-time',
    example: '2030-01-01T00:00:00Z',
    description: 'When the new version takes effect (ISO 8601). Default: now.',
  })
  @IsOptional()
  @IsIsoDateTime()
  effective_at?: string;
}

export class AuditQuery {
  @ApiPropertyOptional({
    description: 'Only this action: grant, adjustment, freeze, unfreeze, refund or price_change.',
    minLength: 1,
    maxLength: 64,
    example: 'grant',
  })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  action?: string;

  @ApiPropertyOptional({
    description: 'Only actions of the API key with this name.',
    minLength: 1,
    maxLength: 100,
    example: 'support-alice',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  actor?: string;

  @ApiPropertyOptional({
    description: `Only actions on this wallet or on anything it has (its generations, refunded say), whatever target_id says. ${OWNER_ID_DESCRIPTION}`,
    pattern: OWNER_ID_PATTERN,
    example: 'user_42',
  })
  @IsOptional()
  @IsOwnerId()
  owner_id?: string;

  @ApiPropertyOptional({
    description: 'Only actions on this target: an owner_id, a generation id or a variant.',
    minLength: 1,
    maxLength: 200,
    example: 'user_42',
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  target_id?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Only actions at or after this time (ISO 8601).',
    example: '2026-01-01T00:00:00Z',
  })
  @IsOptional()
  @IsIsoDateTime()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only actions before this time (ISO 8601).', example: '2026-02-01T00:00:00Z' })
  @IsOptional()
  @IsIsoDateTime()
  to?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 200,
    default: 50,
    description: 'Entries per page, newest first (default 50, at most 200).',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ pattern: '^[0-9]{1,19}$', description: 'The next_cursor of the previous page; omit for the first page.' })
  @IsOptional()
  @IsString()
  @Matches(/^[0-9]{1,19}$/, { message: 'cursor must be a next_cursor value' })
  cursor?: string;
}

export class GenerationsQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 200,
    default: 50,
    description: 'Generations per page, newest first (default 50, at most 200).',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ pattern: '^gen_[0-9a-f]{32}$', description: 'The next_cursor of the previous page; omit for the first page.' })
  @IsOptional()
  @IsString()
  @Matches(/^gen_[0-9a-f]{32}$/, { message: 'cursor must be a next_cursor value' })
  cursor?: string;
}

export class WalletSearchQuery {
  @ApiProperty({
    description: `The start of the owner ids sought (case-sensitive); an exact owner_id finds that wallet first. ${OWNER_ID_DESCRIPTION}`,
    pattern: OWNER_ID_PATTERN,
    example: 'user_4',
  })
  @IsOwnerId()
  owner_prefix!: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 200,
    default: 50,
    description: 'Wallets per page, in byte order of owner_id (default 50, at most 200).',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ pattern: OWNER_ID_PATTERN, description: 'The next_cursor of the previous page; omit for the first page.' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.:@-]{1,128}$/, { message: 'cursor must be a next_cursor value' })
  cursor?: string;
}

/** The ids support is handed, by their form: a generation, a reservation, a Stripe payment intent or customer. */
export const LOOKUP_ID = /^(gen_[0-9a-f]{32}|res_[0-9a-f]{32}|pi_[A-Za-z0-9]{1,250}|cus_[A-Za-z0-9]{1,250})$/;
const LOOKUP_ID_MESSAGE = 'id must be a generation (gen_), reservation (res_), Stripe payment intent (pi_) or customer (cus_) id';

export class LookupQuery {
  @ApiProperty({
    description:
      'A generation or reservation id (gen_ or res_ and 32 hex digits), or a Stripe payment intent or customer id (pi_ or cus_ and 1-250 letters and digits).',
    pattern: LOOKUP_ID.source,
    example: 'gen_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70',
  })
  @IsString({ message: LOOKUP_ID_MESSAGE })
  @Matches(LOOKUP_ID, { message: LOOKUP_ID_MESSAGE })
  id!: string;
}

export class RangeQuery {
  @ApiPropertyOptional({
    format: 'date-time',
    description:
      'Start of the range, inclusive (ISO 8601). Default: 30 days before `to`. It must be before `to`, and the range at most 10 years (else 400 validation_error).',
    example: '2026-01-01T00:00:00Z',
  })
  @IsOptional()
  @IsIsoDateTime()
  from?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'End of the range, exclusive (ISO 8601). Default: now.',
    example: '2026-02-01T00:00:00Z',
  })
  @IsOptional()
  @IsIsoDateTime()
  to?: string;
}

export const ACTIONS = ['grant', 'adjustment', 'freeze', 'unfreeze', 'refund', 'price_change'] as const;
export type Action = (typeof ACTIONS)[number];
