import { IsOwnerId, IsTokenAmount, OWNER_ID_DESCRIPTION, OWNER_ID_PATTERN, TOKEN_AMOUNT_NOTE, TOKEN_AMOUNT_PATTERN } from '@app/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsString, IsUrl, Length, Max, Min } from 'class-validator';

export class PutAutoTopUpDto {
  @ApiProperty({ description: 'On or off. Turning it on needs a saved payment method (422 payment_method_required).', example: true })
  @IsBoolean()
  enabled!: boolean;

  @ApiProperty({
    type: 'string',
    pattern: TOKEN_AMOUNT_PATTERN,
    example: '5.000',
    description: `When an operation leaves the available balance below this, one pack is bought off-session. ${TOKEN_AMOUNT_NOTE}`,
  })
  @IsTokenAmount({ allowZero: true })
  threshold!: string | number;

  @ApiProperty({
    description: 'The pack of GET /v1/billing/catalog to buy (404 pack_not_found).',
    minLength: 1,
    maxLength: 40,
    example: 'pack_50',
  })
  @IsString()
  @Length(1, 40)
  pack_id!: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: 100,
    example: 4,
    description: 'At most this many top-ups per calendar month (UTC).',
  })
  @IsInt()
  @Min(1)
  @Max(100)
  max_per_month!: number;
}

export class CreateSetupSessionDto {
  @ApiProperty({
    description: `The wallet whose customer saves a card for auto top-up; it must exist (404 wallet_not_found). ${OWNER_ID_DESCRIPTION}`,
    pattern: OWNER_ID_PATTERN,
    example: 'user_42',
  })
  @IsOwnerId()
  owner_id!: string;

  @ApiProperty({
    description: 'Where Stripe Checkout sends the customer after saving the card.',
    format: 'uri',
    example: 'https://app.example.com/billing/saved',
  })
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  success_url!: string;

  @ApiProperty({
    description: 'Where Stripe Checkout sends the customer who cancels.',
    format: 'uri',
    example: 'https://app.example.com/billing',
  })
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  cancel_url!: string;
}
