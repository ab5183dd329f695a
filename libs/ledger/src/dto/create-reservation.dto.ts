import { IsTokenAmount, MaxJsonSize, TOKEN_AMOUNT_NOTE, TOKEN_AMOUNT_PATTERN } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

export class CreateReservationDto {
  /** Tokens to hold, as a decimal string ("3.540") or number. Give this or variant + quantity. */
  @ApiPropertyOptional({
    type: 'string',
    pattern: TOKEN_AMOUNT_PATTERN,
    example: '3.540',
    description: `Tokens to hold, more than 0. Give this, or variant and quantity (not both). ${TOKEN_AMOUNT_NOTE}`,
  })
  @IsOptional()
  @IsTokenAmount()
  amount?: string | number;

  /** A price-list variant; the hold is quantity x its current unit price. */
  @ApiPropertyOptional({
    description:
      'A price-list variant (GET /v1/prices); the hold is quantity x its current unit price. Goes with quantity, instead of amount.',
    pattern: '^[a-z0-9][a-z0-9._-]{0,63}$',
    example: 'gpt-image-1-min',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/, { message: 'variant must be a price-list variant id' })
  variant?: string;

  /** Units of the variant (images, seconds, 1K tokens). */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100_000,
    example: 1,
    description: "Units of the variant (images, seconds, 1K tokens: the variant's unit). Goes with variant.",
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  quantity?: number;

  /** Seconds until the hold lapses and is released (default 900, at most 86400). */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 86_400,
    example: 900,
    description:
      'Seconds until the hold lapses and its tokens return to the wallet (default RESERVATION_DEFAULT_TTL_S, 900; at most RESERVATION_MAX_TTL_S, 86400).',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86_400)
  expires_in?: number;

  /** The caller's reference (a request or generation id). */
  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 255,
    example: 'req_9f2c',
    description: "The caller's reference, e.g. its request or generation id; echoed back and shown in the transactions.",
  })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  ref?: string;

  @ApiPropertyOptional({
    pattern: '^[A-Za-z0-9_.:@-]{1,128}$',
    example: 'user_42',
    description: "Who inside the wallet's owner spends (an end user or org member); budgets of scope spender limit it.",
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.:@-]{1,128}$/, { message: 'spender_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' })
  spender_id?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { prompt_id: 'p_1' },
    description: 'Free-form JSON object stored with the reservation, at most 4096 bytes serialized.',
  })
  @IsOptional()
  @IsObject()
  @MaxJsonSize(4096)
  metadata?: Record<string, unknown>;
}

export class SettleReservationDto {
  /** Tokens to charge, at most the reserved amount; the rest returns to the wallet. Default: all. */
  @ApiPropertyOptional({
    type: 'string',
    pattern: TOKEN_AMOUNT_PATTERN,
    example: '2.000',
    description: `Tokens to charge, 0 up to the reserved amount (more is 422 amount_exceeds_reservation); the rest returns to the wallet. Default: the whole reservation. ${TOKEN_AMOUNT_NOTE}`,
  })
  @IsOptional()
  @IsTokenAmount({ allowZero: true })
  amount?: string | number;
}

export class ExtendReservationDto {
  /** Seconds from now until the hold lapses; the expiry never moves earlier, nor past 48 h after the hold was made. */
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: 172_800,
    example: 3600,
    description:
      'Seconds from now until the hold lapses. The expiry only moves later (a shorter value leaves it as it is), and never past GENERATION_MAX_HOLD_S (48 h) after the hold was made: a longer ask is capped there; the response gives the expiry set.',
  })
  @IsInt()
  @Min(1)
  @Max(172_800)
  expires_in!: number;
}
