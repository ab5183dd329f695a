import { ADMIN_ERRORS, ApiErrors, BODY_ERRORS, NO_BODY_ERRORS, reply, RequireScope } from '@app/common';
import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { DeliveriesQuery, ENDPOINT_NAME_PATTERN, PutEndpointDto } from './dto/endpoint.dto.js';
import { WebhookAttemptPageDto, WebhookEndpointDto, WebhookEndpointListDto } from './dto/views.dto.js';
import { EndpointsService } from './endpoints.service.js';

const ATTEMPT =
  'attempt: {event_id, type, owner_id, seq, attempt, status_code (null: no answer), error, duration_ms, at, state (of the delivery now: pending, delivered, failed = given up)}';
const ENDPOINT = `The endpoint: {name, url, types (empty: all), disabled, disabled_at, created_at, updated_at, pending, given_up, recent_failures: [attempt]}; ${ATTEMPT}.`;
const ApiNameParam = () =>
  ApiParam({
    name: 'name',
    description: "The endpoint's name: 1-64 characters of A-Z a-z 0-9 _ . -.",
    schema: { pattern: ENDPOINT_NAME_PATTERN },
  });

@ApiTags('webhook endpoints')
@ApiBearerAuth()
@Controller('v1/admin/webhook-endpoints')
@RequireScope('admin')
export class EndpointsController {
  constructor(private readonly endpoints: EndpointsService) {}

  @Get()
  @ApiOperation({ summary: 'List the webhook endpoints', description: 'By name, each with its pending deliveries and recent failures.' })
  @ApiResponse({ status: 200, type: WebhookEndpointListDto, description: `{data: [endpoint]}. ${ENDPOINT}` })
  @ApiErrors(...ADMIN_ERRORS, 'validation_error')
  list() {
    return this.endpoints.list();
  }

  @Get(':name')
  @ApiOperation({ summary: 'Get a webhook endpoint' })
  @ApiNameParam()
  @ApiResponse({ status: 200, type: WebhookEndpointDto, description: ENDPOINT })
  @ApiErrors(...ADMIN_ERRORS, 'validation_error', 'webhook_endpoint_not_found')
  get(@Param('name') name: string) {
    return this.endpoints.get(name);
  }

  @Put(':name')
  @ApiOperation({
    summary: 'Create or replace a webhook endpoint',
    description:
      'Delivers the wallet event feed (the events of GET /v1/events, each POSTed as that event object) to url: at least once, each wallet\'s events in seq order (its next event waits until the one before is delivered or given up), retried with doubling waits (at most an hour apart) for WEBHOOK_MAX_AGE_S (24 h), every attempt recorded. Signed like the generation webhooks with the endpoint\'s secret: Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">; Webhook-Id is the event id. A new endpoint gets the events from its creation on, and its secret (generated when not given) is in the 201 answer only.',
  })
  @ApiNameParam()
  @ApiResponse({ status: 201, type: WebhookEndpointDto, description: `Created. ${ENDPOINT} With secret, this once.` })
  @ApiResponse({ status: 200, type: WebhookEndpointDto, description: `Replaced. ${ENDPOINT}` })
  @ApiErrors(...ADMIN_ERRORS, ...BODY_ERRORS)
  async put(@Param('name') name: string, @Body() dto: PutEndpointDto, @Res({ passthrough: true }) res: FastifyReply) {
    return reply(res, await this.endpoints.put(name, dto));
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a webhook endpoint', description: 'Its pending deliveries are dropped with it.' })
  @ApiNameParam()
  @ApiResponse({ status: 204, description: 'Deleted.' })
  @ApiErrors(...ADMIN_ERRORS, ...NO_BODY_ERRORS, 'webhook_endpoint_not_found')
  async delete(@Param('name') name: string) {
    await this.endpoints.delete(name);
  }

  @Get(':name/deliveries')
  @ApiOperation({ summary: "A webhook endpoint's delivery attempts", description: 'Newest first, cursor-paginated.' })
  @ApiNameParam()
  @ApiResponse({
    status: 200,
    type: WebhookAttemptPageDto,
    description: `{data: [attempt], next_cursor}: next_cursor is null on the last page; ${ATTEMPT}.`,
  })
  @ApiErrors(...ADMIN_ERRORS, 'validation_error', 'webhook_endpoint_not_found')
  deliveries(@Param('name') name: string, @Query() q: DeliveriesQuery) {
    return this.endpoints.attempts(name, q.limit, q.cursor);
  }
}
