import {
  ADMIN_ERRORS,
  ApiErrors,
  ApiIdempotencyKey,
  ApiOwnerIdParam,
  BODY_ERRORS,
  CreatedAt,
  GATEWAY_ERRORS,
  Idem,
  IDEMPOTENT_ERRORS,
  IDEMPOTENT_REPLAY_HEADERS,
  type IdempotentRequest,
  LOCATION_HEADER,
  NO_BODY_ERRORS,
  reply,
  RequireScope,
  segment,
} from '@app/common';
import { Body, Controller, Get, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CreateReservationDto, ExtendReservationDto, SettleReservationDto } from './dto/create-reservation.dto.js';
import { ListWalletTransactionsQuery } from './dto/list-transactions.dto.js';
import { ReservationDto, TransactionPageDto, VerifyReportDto, WalletDto } from './dto/views.dto.js';
import { ReservationService } from './reservation.service.js';
import { VerifyService } from './verify.service.js';
import { WalletService } from './wallet.service.js';

const RESERVATION =
  'The reservation: {id, owner_id, status (pending, settled, released or expired), reserved, settled, released, expires_at, created_at, finished_at, ref, metadata, spender_id, api_key_id}, plus variant, quantity and price_version when reserved by variant.';
const ApiReservationIdParam = () =>
  ApiParam({ name: 'id', description: 'A reservation id (res_ and 32 hex digits).', example: 'res_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' });

@ApiTags('wallets')
@ApiBearerAuth()
@Controller('v1')
@RequireScope('gateway')
export class WalletController {
  constructor(private readonly wallets: WalletService) {}

  @Put('wallets/:owner_id')
  @CreatedAt((w) => `/v1/wallets/${segment(w.owner_id)}`)
  @ApiOperation({
    summary: 'Create or fetch a wallet',
    description: "Idempotent by nature: creates the wallet with this ISO week's free grant (201), or returns the existing one (200).",
  })
  @ApiOwnerIdParam()
  @ApiResponse({
    status: 201,
    type: WalletDto,
    description: 'Created. The wallet, as GET /v1/wallets/{owner_id}.',
    headers: LOCATION_HEADER,
  })
  @ApiResponse({ status: 200, type: WalletDto, description: 'It existed. The wallet, as GET /v1/wallets/{owner_id}.' })
  @ApiErrors(...GATEWAY_ERRORS, ...NO_BODY_ERRORS)
  async put(@Param('owner_id') ownerId: string, @Res({ passthrough: true }) res: FastifyReply) {
    const { created, view } = await this.wallets.ensure(ownerId);
    res.status(created ? 201 : 200);
    return view;
  }

  @Get('wallets/:owner_id')
  @ApiOperation({ summary: 'Get a wallet and its balance' })
  @ApiOwnerIdParam()
  @ApiResponse({
    status: 200,
    type: WalletDto,
    description:
      'The wallet: {owner_id, status (active or frozen), flagged, balance: {available, held}, buckets: [{id, source, granted, remaining, expires_at}], plan}. Amounts are token strings with 3 decimals.',
  })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'wallet_not_found')
  get(@Param('owner_id') ownerId: string) {
    return this.wallets.view(ownerId);
  }

  @Get('wallets/:owner_id/transactions')
  @ApiOperation({
    summary: "List a wallet's transactions",
    description: 'Newest first, cursor-paginated; `spender_id` or `api_key_id` keep only the transfers of their holds.',
  })
  @ApiOwnerIdParam()
  @ApiResponse({
    status: 200,
    type: TransactionPageDto,
    description:
      '{data: [{id, type, amount, created_at, ref, metadata}], next_cursor}: `amount` is the change of the available balance (a token string, negative for spending); next_cursor is null on the last page.',
  })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'wallet_not_found')
  transactions(@Param('owner_id') ownerId: string, @Query() q: ListWalletTransactionsQuery) {
    return this.wallets.transactions(ownerId, q.limit, q.cursor, { spenderId: q.spender_id, apiKeyId: q.api_key_id });
  }
}

@ApiTags('reservations')
@ApiBearerAuth()
@Controller('v1')
@RequireScope('gateway')
export class ReservationController {
  constructor(private readonly reservations: ReservationService) {}

  @Post('wallets/:owner_id/reservations')
  @CreatedAt((r) => `/v1/reservations/${segment(r.id)}`)
  @ApiOperation({
    summary: 'Reserve tokens',
    description:
      "Holds `amount` tokens, or `quantity` x the variant's current unit price, or for a metered variant (gpt-4o-mini per 1K input and output tokens, sora-2 per second) what `estimate` costs at its current meters, rounded up to the next millitoken once. Until settled, released or expired. The hold spends buckets in order: earliest expiry first.",
  })
  @ApiOwnerIdParam()
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 201,
    type: ReservationDto,
    description: `Reserved (status pending). ${RESERVATION}`,
    headers: { ...IDEMPOTENT_REPLAY_HEADERS, ...LOCATION_HEADER },
  })
  @ApiErrors(
    ...GATEWAY_ERRORS,
    ...BODY_ERRORS,
    ...IDEMPOTENT_ERRORS,
    'insufficient_funds',
    'wallet_not_found',
    'variant_not_found',
    'price_not_found',
    'zero_price',
    'variant_not_metered',
    'meter_not_priced',
    'empty_estimate',
    'wallet_frozen',
    'budget_exceeded',
  )
  async create(
    @Idem() idem: IdempotentRequest,
    @Param('owner_id') ownerId: string,
    @Body() dto: CreateReservationDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.reservations.create(idem, ownerId, dto));
  }

  @Get('reservations/:id')
  @ApiOperation({ summary: 'Get a reservation' })
  @ApiReservationIdParam()
  @ApiResponse({ status: 200, type: ReservationDto, description: `${RESERVATION} A pending hold past its expiry reads as expired.` })
  @ApiErrors(...GATEWAY_ERRORS, 'reservation_not_found')
  get(@Param('id') id: string) {
    return this.reservations.get(id);
  }

  @Post('reservations/:id/settle')
  @ApiOperation({
    summary: 'Settle a reservation',
    description:
      "Charges `amount` (default: all of it) of a pending reservation; the rest returns to the buckets it came from. A metered reservation is settled with `usage` instead, charged at the reservation's own meters: up to the hold from the hold (the rest returns), beyond it up to `max_overage` from the wallet's live buckets in the same transaction, and what is left is recorded as `uncollected` (event usage.uncollected).",
  })
  @ApiReservationIdParam()
  @ApiIdempotencyKey()
  @ApiBody({ type: SettleReservationDto, required: false })
  @ApiResponse({
    status: 200,
    type: ReservationDto,
    description: `Settled (status settled). ${RESERVATION}`,
    headers: IDEMPOTENT_REPLAY_HEADERS,
  })
  @ApiErrors(
    ...GATEWAY_ERRORS,
    ...BODY_ERRORS,
    ...IDEMPOTENT_ERRORS,
    'reservation_not_found',
    'reservation_not_pending',
    'reservation_expired',
    'reservation_held',
    'amount_exceeds_reservation',
    'usage_required',
    'reservation_not_metered',
    'meter_not_priced',
  )
  async settle(
    @Idem() idem: IdempotentRequest,
    @Param('id') id: string,
    @Body() dto: SettleReservationDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.reservations.settle(idem, id, dto));
  }

  @Post('reservations/:id/release')
  @ApiOperation({
    summary: 'Release a reservation',
    description: 'Returns all of a pending reservation to the wallet; nothing is charged.',
  })
  @ApiReservationIdParam()
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 200,
    type: ReservationDto,
    description: `Released (status released). ${RESERVATION}`,
    headers: IDEMPOTENT_REPLAY_HEADERS,
  })
  @ApiErrors(
    ...GATEWAY_ERRORS,
    ...NO_BODY_ERRORS,
    ...IDEMPOTENT_ERRORS,
    'reservation_not_found',
    'reservation_not_pending',
    'reservation_expired',
  )
  async release(@Idem() idem: IdempotentRequest, @Param('id') id: string, @Res({ passthrough: true }) res: FastifyReply) {
    return reply(res, await this.reservations.release(idem, id));
  }

  @Post('reservations/:id/extend')
  @ApiOperation({
    summary: 'Extend a reservation',
    description:
      "Moves a pending hold's expiry to `expires_in` seconds from now, for work that runs longer than its first TTL. The expiry never moves earlier, and never past 48 h (GENERATION_MAX_HOLD_S) after the hold was made; the response gives the expiry set.",
  })
  @ApiReservationIdParam()
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 200,
    type: ReservationDto,
    description: `Extended (status pending). ${RESERVATION}`,
    headers: IDEMPOTENT_REPLAY_HEADERS,
  })
  @ApiErrors(
    ...GATEWAY_ERRORS,
    ...BODY_ERRORS,
    ...IDEMPOTENT_ERRORS,
    'reservation_not_found',
    'reservation_not_pending',
    'reservation_expired',
  )
  async extend(
    @Idem() idem: IdempotentRequest,
    @Param('id') id: string,
    @Body() dto: ExtendReservationDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ) {
    return reply(res, await this.reservations.extend(idem, id, dto.expires_in));
  }
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/ledger')
@RequireScope('admin')
export class LedgerAdminController {
  constructor(private readonly verifier: VerifyService) {}

  /** 200 with ok=true, or 500 with the violations: a monitor can alert on the status alone. */
  @Get('verify')
  @ApiOperation({
    summary: 'Verify the ledger invariants',
    description: 'Checks every invariant of the double-entry ledger. A monitor can alert on the status alone.',
  })
  @ApiResponse({
    status: 200,
    type: VerifyReportDto,
    description: 'Every invariant holds: {ok: true, checked_at, counts, violations: []}.',
  })
  @ApiResponse({
    status: 500,
    type: VerifyReportDto,
    description: 'The report (not a Problem) with ok: false and the violations: [{invariant, detail}].',
  })
  @ApiErrors(...ADMIN_ERRORS)
  async verify(@Res({ passthrough: true }) res: FastifyReply) {
    const report = await this.verifier.verify();
    res.status(report.ok ? 200 : 500);
    return report;
  }
}
