import { EnumProp, InstantProp, IntProp, StringProp, TokensProp } from '@app/common';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/* The documented shapes of the spend-control and event-feed bodies (BudgetView, AlertView, EventView). */

@ApiSchema({ name: 'Budget', description: 'A budget and its use in the current period.' })
export class BudgetDto {
  @StringProp("The budget's name.", { example: 'daily' })
  name!: string;

  @EnumProp(['wallet', 'api_key', 'spender'], 'What it limits.')
  scope!: string;

  @StringProp('The API key id or spender id it limits; null for scope wallet.', { nullable: true })
  subject!: string | null;

  @EnumProp(['day', 'week', 'month', 'total'], 'Its UTC calendar period (ISO week), or total.')
  period!: string;

  @TokensProp('Tokens per period.')
  limit!: string;

  @TokensProp('Held or settled in the current period.')
  used!: string;

  @TokensProp('limit - used, at least 0.')
  remaining!: string;

  @InstantProp('Start of the current period; null for total.', { nullable: true })
  period_start!: string | null;

  @InstantProp('When the count starts again; null for total.', { nullable: true })
  resets_at!: string | null;

  @InstantProp('When it was created.')
  created_at!: string;

  @InstantProp('When it was last changed.')
  updated_at!: string;
}

@ApiSchema({ name: 'BudgetList', description: "A wallet's budgets, by name." })
export class BudgetListDto {
  @ApiProperty({ type: [BudgetDto], description: 'The budgets.' })
  data!: BudgetDto[];
}

@ApiSchema({ name: 'Alert', description: 'An alert and its state.' })
export class AlertDto {
  @StringProp("The alert's name (names starting with _ are the service's own, e.g. _auto_top_up).", { example: 'low' })
  name!: string;

  @EnumProp(['balance_below', 'budget_used'], 'What it watches.')
  type!: string;

  @TokensProp('balance_below: the threshold; otherwise null.', { nullable: true })
  threshold!: string | null;

  @StringProp('budget_used: the budget watched; otherwise null.', { nullable: true })
  budget!: string | null;

  @IntProp('budget_used: the percent of the limit; otherwise null.', { nullable: true })
  percent!: number | null;

  @EnumProp(['ok', 'triggered'], 'triggered while its condition holds.')
  state!: string;

  @InstantProp('When it last flipped; null if never.', { nullable: true })
  changed_at!: string | null;

  @InstantProp('When it was created.')
  created_at!: string;

  @InstantProp('When it was last changed.')
  updated_at!: string;
}

@ApiSchema({ name: 'AlertList', description: "A wallet's alerts, by name." })
export class AlertListDto {
  @ApiProperty({ type: [AlertDto], description: 'The alerts.' })
  data!: AlertDto[];
}

@ApiSchema({ name: 'Event', description: 'One change of a wallet.' })
export class EventDto {
  @StringProp('evt_ and the feed position: pass it as after.', { example: 'evt_1042' })
  id!: string;

  @IntProp("The wallet's own count of events: 1, 2, 3, ... without gaps.")
  seq!: number;

  @StringProp(
    'wallet.created, credit.created, reservation.created|settled|released|expired, credit.expired, credit.clawed_back, wallet.frozen|unfrozen, alert.triggered|resolved, auto_top_up.succeeded|failed.',
    { example: 'reservation.settled' },
  )
  type!: string;

  @InstantProp('When the change was made.')
  created_at!: string;

  @StringProp('The wallet.', { example: 'user_42' })
  owner_id!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'What changed; money events carry balance_change: {available, held} (token strings), so replaying them gives the balance.',
  })
  data!: Record<string, unknown>;
}

@ApiSchema({ name: 'EventPage', description: 'A page of the event feed.' })
export class EventPageDto {
  @ApiProperty({ type: [EventDto], description: 'Events in feed order.' })
  data!: EventDto[];

  @StringProp('The id of the last event returned, or the after given when there was none: poll again with it.', { nullable: true })
  next_cursor!: string | null;
}
