import { EVENT_TYPES } from '@app/ledger';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

export const ENDPOINT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const ENDPOINT_NAME_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
/** A secret given by the caller: 16-256 printable ASCII characters, no spaces. */
const SECRET = /^[\x21-\x7e]{16,256}$/;

export class PutEndpointDto {
  @ApiProperty({
    example: 'https://billing-hooks.example.com/token-wallet',
    maxLength: 2048,
    description:
      'Where events are POSTed: an absolute http(s) URL without credentials whose host resolves only to public addresses (checked again at every attempt).',
  })
  @IsString()
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({
    type: [String],
    enum: EVENT_TYPES,
    example: ['reservation.settled', 'alert.triggered'],
    description: 'The event types delivered; absent or empty: every type.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(EVENT_TYPES.length)
  @ArrayUnique({ message: 'types must not repeat a type' })
  @IsIn(EVENT_TYPES, { each: true, message: `each of types must be one of ${EVENT_TYPES.join(', ')}` })
  types?: string[];

  @ApiPropertyOptional({
    minLength: 16,
    maxLength: 256,
    description:
      'The HMAC-SHA256 key of the Webhook-Signature header: 16-256 printable ASCII characters. Absent on create: one is generated and returned once; absent on replace: the current one is kept.',
  })
  @IsOptional()
  @IsString()
  @Matches(SECRET, { message: 'secret must be 16-256 printable ASCII characters without spaces' })
  secret?: string;

  @ApiPropertyOptional({
    description:
      'true pauses deliveries (events keep being queued for the endpoint); false resumes them. Absent: unchanged (a new endpoint is enabled).',
  })
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;
}

export class DeliveriesQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 200, default: 50, description: 'Attempts per page (default 50).' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ pattern: '^[0-9]{1,18}$', description: 'The next_cursor of the previous page.' })
  @IsOptional()
  @IsString()
  @Matches(/^[0-9]{1,18}$/, { message: 'cursor must be a next_cursor value' })
  cursor?: string;
}
