import { EnumProp, StringProp, TokensProp, UsdProp } from '@app/common';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** The documented shapes of the billing routes' bodies (catalogView, the session results). */

@ApiSchema({ name: 'CatalogPack', description: 'A token pack on sale.' })
export class CatalogPackDto {
  @StringProp('The pack id (pack_id of a checkout).', { example: 'pack_50' })
  id!: string;

  @TokensProp('Tokens it credits.', { example: '50.000' })
  tokens!: string;

  @UsdProp('Its price in USD.', { example: '5.000' })
  usd!: string;

  @UsdProp('USD per token.', { example: '0.100' })
  usd_per_token!: string;
}

@ApiSchema({ name: 'CatalogPlan', description: 'A monthly plan on sale.' })
export class CatalogPlanDto extends CatalogPackDto {
  @EnumProp(['month'], 'The billing interval.')
  interval!: 'month';
}

@ApiSchema({ name: 'Catalog', description: 'The packs and plans on sale through Stripe.' })
export class CatalogDto {
  @ApiProperty({ type: [CatalogPackDto], description: 'Token packs (pay once).' })
  packs!: CatalogPackDto[];

  @ApiProperty({ type: [CatalogPlanDto], description: 'Monthly plans (a subscription).' })
  plans!: CatalogPlanDto[];
}

@ApiSchema({ name: 'CheckoutSession', description: 'A Stripe Checkout Session.' })
export class CheckoutSessionDto {
  @StringProp('The Stripe session id.', { example: 'cs_test_a1b2c3' })
  id!: string;

  @StringProp('Where to send the customer.', { format: 'uri', nullable: true })
  url!: string | null;

  @EnumProp(['payment', 'subscription', 'setup'], 'payment for a pack, subscription for a plan.')
  mode!: string;
}

@ApiSchema({ name: 'PortalSession', description: 'A Stripe customer portal session.' })
export class PortalSessionDto {
  @StringProp('Where to send the customer.', { format: 'uri' })
  url!: string;
}

@ApiSchema({ name: 'StripeWebhookReceipt', description: 'What a Stripe event did.' })
export class StripeWebhookReceiptDto {
  @ApiProperty({ enum: [true], description: 'Always true.' })
  received!: true;

  @StringProp('What the event did (or did before, on a duplicate), e.g. credited, ignored, stored.', { example: 'credited' })
  outcome!: string;

  @ApiProperty({ description: 'true when the event was seen before; it had no effect this time.' })
  duplicate!: boolean;
}
