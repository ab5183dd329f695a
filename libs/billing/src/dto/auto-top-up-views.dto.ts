import { EnumProp, InstantProp, IntProp, StringProp, TokensProp } from '@app/common';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'SavedPaymentMethod', description: "The wallet's default payment method for off-session charges." })
export class SavedPaymentMethodDto {
  @StringProp('The Stripe payment method.', { example: 'pm_1Q2w3E4r5T6y' })
  id!: string;

  @StringProp('Card brand, when known.', { nullable: true })
  brand!: string | null;

  @StringProp('Last four digits, when known.', { nullable: true })
  last4!: string | null;

  @InstantProp('When it was saved.')
  saved_at!: string;
}

@ApiSchema({ name: 'AutoTopUpAttempt', description: 'One crossing below the threshold and what came of it.' })
export class AutoTopUpAttemptDto {
  @IntProp("The seq of the wallet's alert.triggered event that was the crossing.")
  crossing!: number;

  @EnumProp(['creating', 'processing', 'succeeded', 'failed', 'requires_action', 'skipped'], 'Where it is.')
  status!: string;

  @StringProp('The Stripe PaymentIntent, once made.', { nullable: true })
  payment_intent!: string | null;

  @IntProp('Tokens of the pack bought.', { nullable: true })
  tokens!: number | null;

  @IntProp('What it costs, in cents.', { nullable: true })
  amount_cents!: number | null;

  @StringProp('Why it failed or was skipped.', { nullable: true })
  error!: string | null;

  @InstantProp('When it was made.')
  created_at!: string;

  @InstantProp('When it last changed.')
  updated_at!: string;
}

@ApiSchema({ name: 'AutoTopUp', description: "A wallet's auto top-up." })
export class AutoTopUpDto {
  @StringProp('The wallet.', { example: 'user_42' })
  owner_id!: string;

  @ApiProperty({ description: 'On or off.' })
  enabled!: boolean;

  @TokensProp('Below this, a pack is bought; null when never set up.', { nullable: true })
  threshold!: string | null;

  @StringProp('The pack bought.', { nullable: true })
  pack_id!: string | null;

  @IntProp('At most this many top-ups a calendar month.', { nullable: true })
  max_per_month!: number | null;

  @ApiProperty({ type: SavedPaymentMethodDto, nullable: true, description: 'The saved card, or null.' })
  payment_method!: SavedPaymentMethodDto | null;

  @IntProp('Failures in a row; three turn auto top-up off.')
  failures!: number;

  @StringProp('Why it was turned off, or null.', { nullable: true })
  disabled_reason!: string | null;

  @IntProp('Top-ups this calendar month (UTC) that count toward max_per_month: one awaiting authentication (requires_action) included.')
  this_month!: number;

  @ApiProperty({ type: [AutoTopUpAttemptDto], description: 'The 10 latest attempts, newest first.' })
  attempts!: AutoTopUpAttemptDto[];
}
