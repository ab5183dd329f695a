import { ApiErrors, ApiOwnerIdParam, BODY_ERRORS, GATEWAY_ERRORS, NO_BODY_ERRORS, reply, RequireScope } from '@app/common';
import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { SpendControlsService } from './controls.service.js';
import { CONTROL_NAME_PATTERN, ListEventsQuery, PutAlertDto, PutBudgetDto } from './dto/controls.dto.js';
import { AlertDto, AlertListDto, BudgetDto, BudgetListDto, EventPageDto } from './dto/controls-views.dto.js';
import { EventsService } from './events.service.js';

const BUDGET =
  'The budget: {name, scope, subject, period, limit, used, remaining, period_start, resets_at, created_at, updated_at}; used counts what is held or settled in the current period.';
const ALERT = 'The alert: {name, type, threshold, budget, percent, state (ok or triggered), changed_at, created_at, updated_at}.';
const ApiNameParam = (what: string) =>
  ApiParam({
    name: 'name',
    description: `The ${what}'s name: 1-64 characters of A-Z a-z 0-9 _ . -.`,
    schema: { pattern: CONTROL_NAME_PATTERN },
  });

@ApiTags('spend controls')
@ApiBearerAuth()
@Controller('v1/wallets/:owner_id')
@RequireScope('gateway')
export class SpendControlsController {
  constructor(private readonly controls: SpendControlsService) {}

  @Get('budgets')
  @ApiOperation({ summary: "List a wallet's budgets", description: 'By name, each with its use in the current period.' })
  @ApiOwnerIdParam()
  @ApiResponse({ status: 200, type: BudgetListDto, description: `{data: [budget]}. ${BUDGET}` })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'wallet_not_found')
  budgets(@Param('owner_id') ownerId: string) {
    return this.controls.budgets(ownerId);
  }

  @Get('budgets/:name')
  @ApiOperation({ summary: 'Get a budget' })
  @ApiOwnerIdParam()
  @ApiNameParam('budget')
  @ApiResponse({ status: 200, type: BudgetDto, description: BUDGET })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'wallet_not_found', 'budget_not_found')
  budget(@Param('owner_id') ownerId: string, @Param('name') name: string) {
    return this.controls.budget(ownerId, name);
  }

  @Put('budgets/:name')
  @ApiOperation({
    summary: 'Create or replace a budget',
    description:
      'Limits what holds and charges may take per UTC period (day, ISO week, month, or total) for the wallet, one API key or one spender. A reservation, generation or batch that would pass any matching budget is 402 budget_exceeded and holds nothing. A new definition counts what the wallet already held or settled in the current period; changing only the limit keeps the count.',
  })
  @ApiOwnerIdParam()
  @ApiNameParam('budget')
  @ApiResponse({ status: 201, type: BudgetDto, description: `Created. ${BUDGET}` })
  @ApiResponse({ status: 200, type: BudgetDto, description: `Replaced. ${BUDGET}` })
  @ApiErrors(...GATEWAY_ERRORS, ...BODY_ERRORS, 'wallet_not_found', 'api_key_not_found', 'wallet_busy')
  async putBudget(
    @Param('owner_id') ownerId: string,
    @Param('name') name: string,
    @Body() dto: PutBudgetDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.controls.putBudget(ownerId, name, dto));
  }

  @Delete('budgets/:name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a budget', description: 'Its alerts must be deleted first (409 budget_in_use).' })
  @ApiOwnerIdParam()
  @ApiNameParam('budget')
  @ApiResponse({ status: 204, description: 'Deleted.' })
  @ApiErrors(...GATEWAY_ERRORS, ...NO_BODY_ERRORS, 'wallet_not_found', 'budget_not_found', 'budget_in_use')
  async deleteBudget(@Param('owner_id') ownerId: string, @Param('name') name: string) {
    await this.controls.deleteBudget(ownerId, name);
  }

  @Get('alerts')
  @ApiOperation({ summary: "List a wallet's alerts", description: 'By name, each with its state.' })
  @ApiOwnerIdParam()
  @ApiResponse({ status: 200, type: AlertListDto, description: `{data: [alert]}. ${ALERT}` })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'wallet_not_found')
  alerts(@Param('owner_id') ownerId: string) {
    return this.controls.alerts(ownerId);
  }

  @Get('alerts/:name')
  @ApiOperation({ summary: 'Get an alert' })
  @ApiOwnerIdParam()
  @ApiNameParam('alert')
  @ApiResponse({ status: 200, type: AlertDto, description: ALERT })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'wallet_not_found', 'alert_not_found')
  alert(@Param('owner_id') ownerId: string, @Param('name') name: string) {
    return this.controls.alert(ownerId, name);
  }

  @Put('alerts/:name')
  @ApiOperation({
    summary: 'Create or replace an alert',
    description:
      '`balance_below` (threshold) or `budget_used` (budget, percent). Evaluated in the transaction that changes the balance or the budget: alert.triggered once when the condition becomes true, alert.resolved once when it stops. A new alert whose condition already holds fires at once.',
  })
  @ApiOwnerIdParam()
  @ApiNameParam('alert')
  @ApiResponse({ status: 201, type: AlertDto, description: `Created. ${ALERT}` })
  @ApiResponse({ status: 200, type: AlertDto, description: `Replaced. ${ALERT}` })
  @ApiErrors(...GATEWAY_ERRORS, ...BODY_ERRORS, 'wallet_not_found', 'budget_not_found', 'wallet_busy')
  async putAlert(
    @Param('owner_id') ownerId: string,
    @Param('name') name: string,
    @Body() dto: PutAlertDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.controls.putAlert(ownerId, name, dto));
  }

  @Delete('alerts/:name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an alert' })
  @ApiOwnerIdParam()
  @ApiNameParam('alert')
  @ApiResponse({ status: 204, description: 'Deleted.' })
  @ApiErrors(...GATEWAY_ERRORS, ...NO_BODY_ERRORS, 'wallet_not_found', 'alert_not_found')
  async deleteAlert(@Param('owner_id') ownerId: string, @Param('name') name: string) {
    await this.controls.deleteAlert(ownerId, name);
  }
}

@ApiTags('events')
@ApiBearerAuth()
@Controller('v1/events')
@RequireScope('gateway')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiOperation({
    summary: 'Follow the wallet event feed',
    description:
      "Every change of a wallet, in feed order: a consumer that follows next_cursor sees every committed event exactly once, and each wallet's events in seq order. The feed never ends: poll again with next_cursor. Event: {id, seq, type, created_at, owner_id, data}.",
  })
  @ApiResponse({
    status: 200,
    type: EventPageDto,
    description: '{data: [event], next_cursor}: next_cursor is the last id returned (or the after given).',
  })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'wallet_not_found')
  list(@Query() q: ListEventsQuery) {
    return this.events.list({ after: q.after, limit: q.limit, ownerId: q.owner_id, types: q.types });
  }
}
