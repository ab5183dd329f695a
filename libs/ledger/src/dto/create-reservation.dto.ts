import { IsTokenAmount, MaxJsonSize, TOKEN_AMOUNT_NOTE, TOKEN_AMOUNT_PATTERN } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min, ValidateBy, ValidateNested } from 'class-validator';

/** A fractional quantity of a usage: at most 12 digits and 6 decimals, >= 0, as a string or JSON number (no exponent). */
const USAGE_DECIMAL = /^[0-9]{1,12}(\.[0-9]{1,6})?$/;
const USAGE_DECIMAL_PATTERN = '^[0-9]{1,12}(\\.[0-9]{1,6})?$';

function IsUsageDecimal(): PropertyDecorator {
  return ValidateBy({
    name: 'isUsageDecimal',
    validator: {
      validate: (v: unknown) => (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) && USAGE_DECIMAL.test(String(v)),
      defaultMessage: (a) => `${a?.property} must be a decimal >= 0 with at most 6 decimal places (a string or number, no exponent)`,
    },
  });
}

const TOKENS_MAX = 999_999_999_999;

/**
 * What a metered call used (or is estimated to use). Each field is metered by
 * one unit of the variant: input_tokens by 1k_input_tokens, output_tokens by
 * 1k_output_tokens, seconds by second, quantity by image. A field the variant
 * has no meter for is 422 meter_not_priced.
 */
export class UsageDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: TOKENS_MAX,
    example: 1200,
    description: 'LLM input tokens (unit 1k_input_tokens).',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(TOKENS_MAX)
  input_tokens?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: TOKENS_MAX,
    example: 350,
    description: 'LLM output tokens (unit 1k_output_tokens).',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(TOKENS_MAX)
  output_tokens?: number;

  @ApiPropertyOptional({
    type: 'string',
    pattern: USAGE_DECIMAL_PATTERN,
    example: '4.5',
    description: 'Seconds of video or audio (unit second): a decimal >= 0 with at most 6 places, as a string or number.',
  })
  @IsOptional()
  @IsUsageDecimal()
  seconds?: string | number;

  @ApiPropertyOptional({
    type: 'string',
    pattern: USAGE_DECIMAL_PATTERN,
    example: '1',
    description: 'Units of a per-unit meter (unit image): a decimal >= 0 with at most 6 places, as a string or number.',
  })
  @IsOptional()
  @IsUsageDecimal()
  quantity?: string | number;
}

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

  /** A price-list variant; the hold is quantity x its current unit price, or what the estimate costs at its meters. */
  @ApiPropertyOptional({
    description:
      'A price-list variant (GET /v1/prices); the hold is quantity x its current unit price, or for a metered variant what `estimate` costs at its current meters. Goes with quantity or estimate, instead of amount.',
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

  @ApiPropertyOptional({
    type: UsageDto,
    description:
      'For a metered variant (gpt-4o-mini, sora-2): the usage expected. The hold is what it costs at the current price of each meter, rounded up to the next millitoken once; the reservation keeps those prices for its settle. Goes with variant, instead of quantity or amount.',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => UsageDto)
  estimate?: UsageDto;

  @ApiPropertyOptional({
    type: 'string',
    pattern: TOKEN_AMOUNT_PATTERN,
    example: '1.000',
    description: `With estimate: tokens a settle may take from the wallet's live buckets beyond the hold when the usage costs more (default 0); what is beyond that is recorded as uncollected. ${TOKEN_AMOUNT_NOTE}`,
  })
  @IsOptional()
  @IsTokenAmount({ allowZero: true })
  max_overage?: string | number;

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

  @ApiPropertyOptional({
    type: UsageDto,
    description:
      "For a metered reservation (and only for one; not with amount): what was used. It is charged at the reservation's meters (its price versions); above the hold, up to max_overage is taken from the live buckets and the rest is recorded as uncollected.",
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => UsageDto)
  usage?: UsageDto;
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
