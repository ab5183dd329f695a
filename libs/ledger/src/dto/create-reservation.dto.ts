import { IsTokenAmount, MaxJsonSize } from '@app/common';
import { IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

export class CreateReservationDto {
  /** Tokens to hold, as a decimal string ("3.540") or number. Give this or variant + quantity. */
  @IsOptional()
  @IsTokenAmount()
  amount?: string | number;

  /** A price-list variant; the hold is quantity x its current unit price. */
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/, { message: 'variant must be a price-list variant id' })
  variant?: string;

  /** Units of the variant (images, seconds, 1K tokens). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  quantity?: number;

  /** Seconds until the hold lapses and is released (default 900, at most 86400). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86_400)
  expires_in?: number;

  /** The caller's reference (a request or generation id). */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  ref?: string;

  @IsOptional()
  @IsObject()
  @MaxJsonSize(4096)
  metadata?: Record<string, unknown>;
}

export class SettleReservationDto {
  /** Tokens to charge, at most the reserved amount; the rest returns to the wallet. Default: all. */
  @IsOptional()
  @IsTokenAmount({ allowZero: true })
  amount?: string | number;
}
