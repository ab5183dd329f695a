import { IsTokenAmount } from '@app/common';
import { Type } from 'class-transformer';
import { IsBoolean, IsDateString, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

/** Every admin action says why: the reason lands in the audit log. */
class Reasoned {
  @IsString()
  @Length(1, 500)
  reason!: string;
}

export class GrantDto extends Reasoned {
  @IsTokenAmount()
  amount!: string | number;

  /** When the granted tokens lapse (ISO 8601, in the future); none: they never do. */
  @IsOptional()
  @IsDateString({ strict: true })
  expires_at?: string;
}

export class AdjustmentDto extends Reasoned {
  /** Signed: positive credits an adjustment bucket, negative debits buckets in spending order. */
  @IsTokenAmount({ signed: true })
  amount!: string | number;
}

export class ReasonDto extends Reasoned {}

export class RefundDto extends Reasoned {
  /** Default: everything charged and not yet refunded. */
  @IsOptional()
  @IsTokenAmount()
  amount?: string | number;
}

export class PriceChangeDto extends Reasoned {
  /** Tokens per unit. */
  @IsTokenAmount({ allowZero: true })
  tokens!: string | number;

  @IsOptional()
  @IsBoolean()
  active?: boolean;

  /** When the new version takes effect (default: now). */
  @IsOptional()
  @IsDateString({ strict: true })
  effective_at?: string;
}

export class AuditQuery {
  @IsOptional() @IsString() @Length(1, 64) action?: string;
  @IsOptional() @IsString() @Length(1, 100) actor?: string;
  @IsOptional() @IsString() @Length(1, 200) target_id?: string;
  @IsOptional() @IsDateString({ strict: true }) from?: string;
  @IsOptional() @IsDateString({ strict: true }) to?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @IsOptional()
  @IsString()
  @Matches(/^[0-9]{1,19}$/, { message: 'cursor must be a next_cursor value' })
  cursor?: string;
}

export class RangeQuery {
  @IsOptional() @IsDateString({ strict: true }) from?: string;
  @IsOptional() @IsDateString({ strict: true }) to?: string;
}

export const ACTIONS = ['grant', 'adjustment', 'freeze', 'unfreeze', 'refund', 'price_change'] as const;
export type Action = (typeof ACTIONS)[number];
