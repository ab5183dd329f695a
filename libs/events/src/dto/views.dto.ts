import { EnumProp, InstantProp, IntProp, NextCursorProp, StringProp } from '@app/common';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'WebhookAttempt', description: 'One attempt to deliver an event to an endpoint.' })
export class WebhookAttemptDto {
  @StringProp('The event (evt_<position>).', { example: 'evt_1042' })
  event_id!: string;

  @StringProp('Its type.', { example: 'reservation.settled' })
  type!: string;

  @StringProp('Its wallet.', { example: 'user_42' })
  owner_id!: string;

  @IntProp("Its seq in the wallet's stream.")
  seq!: number;

  @IntProp('Which attempt of this delivery (1, 2, ...).')
  attempt!: number;

  @IntProp('The HTTP status answered, or null (no answer).', { nullable: true })
  status_code!: number | null;

  @StringProp('What went wrong, or null.', { nullable: true })
  error!: string | null;

  @IntProp('How long it took, in ms.', { nullable: true })
  duration_ms!: number | null;

  @InstantProp('When it was made.')
  at!: string;

  @EnumProp(['pending', 'delivered', 'failed'], "The delivery's state now (failed: given up).")
  state!: string;
}

@ApiSchema({ name: 'WebhookEndpoint', description: 'An endpoint that receives the wallet events.' })
export class WebhookEndpointDto {
  @StringProp("The endpoint's name.", { example: 'billing-sync' })
  name!: string;

  @StringProp('Where events are POSTed.', { example: 'https://hooks.example.com/wallet-events' })
  url!: string;

  @ApiProperty({ type: [String], description: 'The event types it receives; empty: all.' })
  types!: string[];

  @ApiProperty({ description: 'Paused: nothing is delivered to it.' })
  disabled!: boolean;

  @InstantProp('When it was paused, or null.', { nullable: true })
  disabled_at!: string | null;

  @InstantProp('When it was created.')
  created_at!: string;

  @InstantProp('When it was last changed.')
  updated_at!: string;

  @IntProp('Deliveries not yet delivered or given up.')
  pending!: number;

  @IntProp('Deliveries given up after their retries (in the last week).')
  given_up!: number;

  @ApiProperty({ type: [WebhookAttemptDto], description: 'The latest failed attempts, newest first.' })
  recent_failures!: WebhookAttemptDto[];

  @ApiPropertyOptional({ type: 'string', description: 'The signing secret: only in the answer that created the endpoint.' })
  secret?: string;
}

@ApiSchema({ name: 'WebhookEndpointList', description: 'The webhook endpoints.' })
export class WebhookEndpointListDto {
  @ApiProperty({ type: [WebhookEndpointDto], description: 'The endpoints, by name.' })
  data!: WebhookEndpointDto[];
}

@ApiSchema({ name: 'WebhookAttemptPage', description: "A page of an endpoint's attempts, newest first." })
export class WebhookAttemptPageDto {
  @ApiProperty({ type: [WebhookAttemptDto], description: 'The attempts.' })
  data!: WebhookAttemptDto[];

  @NextCursorProp()
  next_cursor!: string | null;
}
