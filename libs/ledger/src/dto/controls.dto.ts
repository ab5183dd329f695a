import { IsTokenAmount, TOKEN_AMOUNT_NOTE, TOKEN_AMOUNT_PATTERN } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export const CONTROL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const CONTROL_NAME_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
const SUBJECT = /^[A-Za-z0-9_.:@-]{1,128}$/;

export const EVENT_TYPES = [
  'wallet.created',
  'credit.created',
  'reservation.created',
  'reservation.settled',
  'reservation.released',
  'reservation.expired',
  'reservation.overage',
  'usage.uncollected',
  'credit.expired',
  'credit.clawed_back',
  'wallet.frozen',
  'wallet.unfrozen',
  'alert.triggered',
  'alert.resolved',
  'auto_top_up.succeeded',
  'auto_top_up.failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export class PutBudgetDto {
  @ApiProperty({
    type: 'string',
    pattern: TOKEN_AMOUNT_PATTERN,
    example: '20.000',
    description: `Tokens per period that holds and charges may take, 0 or more. ${TOKEN_AMOUNT_NOTE}`,
  })
  @IsTokenAmount({ allowZero: true })
  limit!: string | number;

  @ApiProperty({
    enum: ['day', 'week', 'month', 'total'],
    example: 'day',
    description: 'A UTC calendar period (ISO week for week), or total for no reset.',
  })
  @IsIn(['day', 'week', 'month', 'total'], { message: 'period must be day, week, month or total' })
  period!: 'day' | 'week' | 'month' | 'total';

  @ApiProperty({
    enum: ['wallet', 'api_key', 'spender'],
    example: 'spender',
    description: 'What the budget limits: the whole wallet, one API key, or one spender.',
  })
  @IsIn(['wallet', 'api_key', 'spender'], { message: 'scope must be wallet, api_key or spender' })
  scope!: 'wallet' | 'api_key' | 'spender';

  @ApiPropertyOptional({
    pattern: '^[A-Za-z0-9_.:@-]{1,128}$',
    example: 'user_42',
    description: 'The API key id (scope api_key) or the spender_id (scope spender); absent for scope wallet.',
  })
  @IsOptional()
  @IsString()
  @Matches(SUBJECT, { message: 'subject must be an API key id or a spender id' })
  subject?: string;
}

export class PutAlertDto {
  @ApiProperty({
    enum: ['balance_below', 'budget_used'],
    example: 'balance_below',
    description: 'balance_below watches the available balance (give threshold); budget_used watches a budget (give budget and percent).',
  })
  @IsIn(['balance_below', 'budget_used'], { message: 'type must be balance_below or budget_used' })
  type!: 'balance_below' | 'budget_used';

  @ApiPropertyOptional({
    type: 'string',
    pattern: TOKEN_AMOUNT_PATTERN,
    example: '5.000',
    description: `balance_below: triggered while the available balance is below this. ${TOKEN_AMOUNT_NOTE}`,
  })
  @IsOptional()
  @IsTokenAmount({ allowZero: true })
  threshold?: string | number;

  @ApiPropertyOptional({ pattern: CONTROL_NAME_PATTERN, example: 'daily', description: "budget_used: the budget's name." })
  @IsOptional()
  @IsString()
  @Matches(CONTROL_NAME, { message: 'budget must be a budget name' })
  budget?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100,
    example: 80,
    description: "budget_used: triggered while the budget's use in its current period is at least this percent of its limit.",
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  percent?: number;
}

export class ListEventsQuery {
  @ApiPropertyOptional({
    pattern: '^evt_[0-9]{1,18}$',
    example: 'evt_1042',
    description: 'The next_cursor of the previous page (the id of the last event seen); omit to start at the beginning.',
  })
  @IsOptional()
  @IsString()
  @Matches(/^evt_[0-9]{1,18}$/, { message: 'after must be an event id (evt_ and digits)' })
  after?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Events per page (default 100).' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: "Only this wallet's events." })
  @IsOptional()
  @IsString()
  @Matches(SUBJECT, { message: 'owner_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' })
  owner_id?: string;

  @ApiPropertyOptional({
    example: 'reservation.settled,credit.created',
    description: `Only these types, comma-separated: ${EVENT_TYPES.join(', ')}.`,
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z_.]{1,40}(,[a-z_.]{1,40}){0,20}$/, { message: 'types must be event types separated by commas' })
  types?: string;
}
