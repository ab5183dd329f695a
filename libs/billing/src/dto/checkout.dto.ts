import { IsOwnerId, OWNER_ID_DESCRIPTION, OWNER_ID_PATTERN } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, IsUrl, Length } from 'class-validator';

export class CreateCheckoutSessionDto {
  @ApiProperty({
    description: `The wallet credited when the payment succeeds; it must exist (404 wallet_not_found). ${OWNER_ID_DESCRIPTION}`,
    pattern: OWNER_ID_PATTERN,
    example: 'user_42',
  })
  @IsOwnerId()
  owner_id!: string;

  /** A pack of the catalog (mode payment). Give this or plan_id. */
  @ApiPropertyOptional({
    description:
      'A pack of GET /v1/billing/catalog: a one-off payment (mode payment). Give this or plan_id, not both; unknown: 404 pack_not_found.',
    minLength: 1,
    maxLength: 40,
    example: 'pack_200',
  })
  @IsOptional()
  @IsString()
  @Length(1, 40)
  pack_id?: string;

  /** A plan of the catalog (mode subscription). */
  @ApiPropertyOptional({
    description:
      'A plan of GET /v1/billing/catalog: a monthly subscription (mode subscription). Give this or pack_id, not both; unknown: 404 plan_not_found.',
    minLength: 1,
    maxLength: 40,
    example: 'creator',
  })
  @IsOptional()
  @IsString()
  @Length(1, 40)
  plan_id?: string;

  @ApiProperty({
    description: 'Where Stripe Checkout sends the customer after paying (http or https URL).',
    format: 'uri',
    example: 'https://app.example.com/billing/done',
  })
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  success_url!: string;

  @ApiProperty({
    description: 'Where Stripe Checkout sends the customer who cancels (http or https URL).',
    format: 'uri',
    example: 'https://app.example.com/billing',
  })
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  cancel_url!: string;

  @ApiPropertyOptional({
    description:
      "A pack only: keep the card for off-session charges (auto top-up). The payment intent is made with setup_future_usage off_session, and the card becomes the wallet's default payment method when it succeeds.",
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  save_payment_method?: boolean;
}

export class CreatePortalSessionDto {
  @ApiProperty({
    description: `The wallet whose Stripe customer opens the billing portal; it must exist (404 wallet_not_found). ${OWNER_ID_DESCRIPTION}`,
    pattern: OWNER_ID_PATTERN,
    example: 'user_42',
  })
  @IsOwnerId()
  owner_id!: string;

  @ApiProperty({
    description: 'Where the billing portal sends the customer back (http or https URL).',
    format: 'uri',
    example: 'https://app.example.com/billing',
  })
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  return_url!: string;
}
