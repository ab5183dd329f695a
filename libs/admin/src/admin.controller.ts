import {
  ADMIN_ERRORS,
  ApiErrors,
  ApiIdempotencyKey,
  ApiOwnerIdParam,
  BODY_ERRORS,
  CreatedAt,
  CurrentPrincipal,
  GATEWAY_ERRORS,
  Idem,
  IDEMPOTENT_ERRORS,
  IDEMPOTENT_REPLAY_HEADERS,
  type IdempotentRequest,
  LOCATION_HEADER,
  type Principal,
  reply,
  RequireScope,
  segment,
} from '@app/common';
import { Body, Controller, Get, Header, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PriceDto } from '@app/pricing';
import { AdminService } from './admin.service.js';
import { AuditService } from './audit.service.js';
import {
  AdjustmentDto,
  AuditQuery,
  GenerationsQuery,
  GrantDto,
  LookupQuery,
  PriceChangeDto,
  RangeQuery,
  ReasonDto,
  RefundDto,
  WalletSearchQuery,
} from './dto/admin.dto.js';
import {
  AdjustmentResultDto,
  AdminWalletDto,
  AuditLogPageDto,
  DailyDto,
  GrantResultDto,
  LookupDto,
  RefundResultDto,
  SummaryDto,
  WalletGenerationPageDto,
  WalletMatchPageDto,
  WalletStatusDto,
} from './dto/views.dto.js';
import { ReportsService } from './reports.service.js';
import { SearchService } from './search.service.js';
import { WalletGenerationsService } from './wallet-generations.service.js';

const BALANCE = 'balance: {available, held} after it';
/** The errors of an admin action: it moves value or changes state, so it is idempotent and audited. */
const ACTION_ERRORS = [...ADMIN_ERRORS, ...BODY_ERRORS, ...IDEMPOTENT_ERRORS] as const;

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin')
@RequireScope('admin')
export class AdminController {
  constructor(
    private readonly admin: AdminService,
    private readonly audit: AuditService,
    private readonly reports: ReportsService,
    private readonly generations: WalletGenerationsService,
    private readonly search: SearchService,
  ) {}

  @Get('wallets')
  @ApiOperation({
    summary: 'Find wallets by owner id prefix',
    description: 'The wallets whose owner_id starts with owner_prefix, in byte order of owner_id, cursor-paginated.',
  })
  @ApiResponse({
    status: 200,
    type: WalletMatchPageDto,
    description: '{data: [{owner_id, status, flagged, available, held, created_at}], next_cursor}; next_cursor is null on the last page.',
  })
  @ApiErrors(...ADMIN_ERRORS, 'validation_error')
  wallets(@Query() q: WalletSearchQuery) {
    return this.search.byOwnerPrefix(q.owner_prefix, q.limit, q.cursor);
  }

  @Get('lookup')
  @ApiOperation({
    summary: 'Find the wallet of an id',
    description:
      'The wallet a generation, reservation, Stripe payment intent or Stripe customer id belongs to; the form of the id says which it is.',
  })
  @ApiResponse({ status: 200, type: LookupDto, description: '{kind, id, owner_id}' })
  @ApiErrors(
    ...ADMIN_ERRORS,
    'validation_error',
    'generation_not_found',
    'reservation_not_found',
    'payment_not_found',
    'customer_not_found',
  )
  lookup(@Query() q: LookupQuery) {
    return this.search.lookup(q.id);
  }

  @Get('wallets/:owner_id')
  @ApiOperation({ summary: 'A wallet in detail, for support' })
  @ApiOwnerIdParam()
  @ApiResponse({
    status: 200,
    type: AdminWalletDto,
    description:
      '{wallet (as GET /v1/wallets/{owner_id}), reservations: its pending reservations, generations: its latest 50 (as GET /v1/admin/wallets/{owner_id}/generations shows them)}',
  })
  @ApiErrors(...ADMIN_ERRORS, 'validation_error', 'wallet_not_found')
  wallet(@Param('owner_id') ownerId: string) {
    return this.admin.walletDetail(ownerId);
  }

  @Get('wallets/:owner_id/generations')
  @ApiOperation({ summary: "A wallet's generations", description: 'Newest first, cursor-paginated.' })
  @ApiOwnerIdParam()
  @ApiResponse({
    status: 200,
    type: WalletGenerationPageDto,
    description:
      '{data: [{id, status, variant, n, delivered, batch_id, prompt, prompt_truncated, image_url, error, tokens_used, refunded, created_at, finished_at}], next_cursor}; next_cursor is null on the last page.',
  })
  @ApiErrors(...ADMIN_ERRORS, 'validation_error', 'wallet_not_found')
  walletGenerations(@Param('owner_id') ownerId: string, @Query() q: GenerationsQuery) {
    return this.generations.list(ownerId, q.limit, q.cursor);
  }

  @Post('wallets/:owner_id/grants')
  @CreatedAt((x) => `/v1/admin/wallets/${segment(x.owner_id)}`)
  @ApiOperation({ summary: 'Grant tokens', description: 'Credits a new promo bucket, optionally expiring. Audited.' })
  @ApiOwnerIdParam()
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 201,
    type: GrantResultDto,
    description: `Granted: {id (the bucket), owner_id, amount, expires_at, ${BALANCE}}.`,
    headers: { ...IDEMPOTENT_REPLAY_HEADERS, ...LOCATION_HEADER },
  })
  @ApiErrors(...ACTION_ERRORS, 'wallet_not_found')
  async grant(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('owner_id') ownerId: string,
    @Body() dto: GrantDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.admin.grant(idem, actor, ownerId, dto));
  }

  @Post('wallets/:owner_id/adjustments')
  @CreatedAt((x) => `/v1/admin/wallets/${segment(x.owner_id)}`)
  @ApiOperation({
    summary: 'Adjust a balance',
    description:
      'A signed correction: a credit is a new adjustment bucket; a debit takes from the buckets in spending order, never below 0. Audited.',
  })
  @ApiOwnerIdParam()
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 201,
    type: AdjustmentResultDto,
    description: `Adjusted: {id (the transfer), owner_id, amount, ${BALANCE}}.`,
    headers: { ...IDEMPOTENT_REPLAY_HEADERS, ...LOCATION_HEADER },
  })
  @ApiErrors(...ACTION_ERRORS, 'wallet_not_found', 'adjustment_exceeds_balance')
  async adjust(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('owner_id') ownerId: string,
    @Body() dto: AdjustmentDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.admin.adjust(idem, actor, ownerId, dto));
  }

  @Post('wallets/:owner_id/freeze')
  @ApiOperation({
    summary: 'Freeze a wallet',
    description: 'Blocks spending (new reservations and generations answer 423 wallet_frozen). Audited.',
  })
  @ApiOwnerIdParam()
  @ApiIdempotencyKey()
  @ApiResponse({ status: 200, type: WalletStatusDto, description: '{owner_id, status: "frozen"}', headers: IDEMPOTENT_REPLAY_HEADERS })
  @ApiErrors(...ACTION_ERRORS, 'wallet_not_found')
  async freeze(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('owner_id') ownerId: string,
    @Body() dto: ReasonDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.admin.setFrozen(idem, actor, ownerId, true, dto.reason));
  }

  @Post('wallets/:owner_id/unfreeze')
  @ApiOperation({ summary: 'Unfreeze a wallet', description: 'Allows spending again. Audited.' })
  @ApiOwnerIdParam()
  @ApiIdempotencyKey()
  @ApiResponse({ status: 200, type: WalletStatusDto, description: '{owner_id, status: "active"}', headers: IDEMPOTENT_REPLAY_HEADERS })
  @ApiErrors(...ACTION_ERRORS, 'wallet_not_found')
  async unfreeze(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('owner_id') ownerId: string,
    @Body() dto: ReasonDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.admin.setFrozen(idem, actor, ownerId, false, dto.reason));
  }

  @Post('generations/:id/refund')
  @CreatedAt((x) => `/v1/admin/wallets/${segment(x.owner_id)}`)
  @ApiOperation({
    summary: 'Refund a generation',
    description:
      'Credits a refund bucket with up to what the generation was charged minus earlier refunds; it keeps the earliest expiry of the buckets that paid (refunded free tokens still lapse). Audited.',
  })
  @ApiParam({ name: 'id', description: 'A generation id (gen_ and 32 hex digits).', example: 'gen_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 201,
    type: RefundResultDto,
    description: `Refunded: {id (the bucket), generation_id, owner_id, amount, refunded_total, expires_at, ${BALANCE}}.`,
    headers: { ...IDEMPOTENT_REPLAY_HEADERS, ...LOCATION_HEADER },
  })
  @ApiErrors(...ACTION_ERRORS, 'generation_not_found', 'refund_exceeds_charge')
  async refund(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('id') id: string,
    @Body() dto: RefundDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.admin.refund(idem, actor, id, dto));
  }

  @Put('prices/:variant')
  @ApiOperation({
    summary: 'Change a price',
    description:
      "Adds a new version of one of the variant's prices (the one of `dimensions`, default the flat one), in effect from effective_at. Reservations keep the version they were priced at. Audited.",
  })
  @ApiParam({ name: 'variant', description: 'An existing price-list variant id.', example: 'gpt-image-1-min' })
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 200,
    type: PriceDto,
    description: 'The new version: {variant, model, unit, dimensions, tokens, usd, version, description, effective_at, default}.',
    headers: IDEMPOTENT_REPLAY_HEADERS,
  })
  @ApiErrors(...ACTION_ERRORS, 'variant_not_found')
  async price(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('variant') variant: string,
    @Body() dto: PriceChangeDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.admin.changePrice(idem, actor, variant, dto));
  }

  @Get('audit-log')
  @ApiOperation({ summary: 'The audit log', description: 'The append-only trail of admin actions, newest first, cursor-paginated.' })
  @ApiResponse({
    status: 200,
    type: AuditLogPageDto,
    description:
      '{data: [{id, actor, action, target_type, target_id, amount, reason, details, created_at}], next_cursor}; next_cursor is null on the last page.',
  })
  @ApiErrors(...ADMIN_ERRORS, 'validation_error')
  auditLog(@Query() q: AuditQuery) {
    return this.audit.list(q);
  }

  @Get('reports/summary')
  @ApiOperation({ summary: 'Finance summary over a range' })
  @ApiResponse({
    status: 200,
    type: SummaryDto,
    description:
      '{from, to, tokens: {sold, granted, spent, expired, refunded}, usd_by_variant: [{variant, tokens, usd}]}: sold by Stripe payments, granted free and by admins, spent as settled, expired as lapsed, refunded by admins.',
  })
  @ApiErrors(...ADMIN_ERRORS, 'validation_error')
  summary(@Query() q: RangeQuery) {
    return this.reports.summary(q.from, q.to);
  }

  @Get('reports/daily')
  @ApiOperation({ summary: 'Finance per day over a range' })
  @ApiResponse({ status: 200, type: DailyDto, description: '{data: [{day (YYYY-MM-DD, UTC), sold, spent, expired}]}' })
  @ApiErrors(...ADMIN_ERRORS, 'validation_error')
  daily(@Query() q: RangeQuery) {
    return this.reports.daily(q.from, q.to);
  }
}

/** A wallet's statement: the gateway may offer it to its user, so it sits with the wallet routes. */
@ApiTags('wallets')
@ApiBearerAuth()
@Controller('v1/wallets')
@RequireScope('gateway')
export class StatementController {
  constructor(private readonly reports: ReportsService) {}

  @Get(':owner_id/statement.csv')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @ApiOperation({
    summary: "A wallet's statement as CSV",
    description: 'Its transactions in the range, oldest first, with the available balance after each.',
  })
  @ApiOwnerIdParam()
  @ApiProduces('text/csv')
  @ApiResponse({
    status: 200,
    description: 'CSV with the header created_at,transaction_id,type,amount,available_after,ref.',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'wallet_not_found')
  statement(@Param('owner_id') ownerId: string, @Query() q: RangeQuery) {
    return this.reports.statementCsv(ownerId, q.from, q.to);
  }
}
