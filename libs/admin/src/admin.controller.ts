import { CurrentPrincipal, Idem, type IdempotentRequest, type Principal, reply, RequireScope } from '@app/common';
import { Body, Controller, Get, Header, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AdminService } from './admin.service.js';
import { AuditService } from './audit.service.js';
import { AdjustmentDto, AuditQuery, GrantDto, PriceChangeDto, RangeQuery, ReasonDto, RefundDto } from './dto/admin.dto.js';
import { ReportsService } from './reports.service.js';

@Controller('v1/admin')
@RequireScope('admin')
export class AdminController {
  constructor(
    private readonly admin: AdminService,
    private readonly audit: AuditService,
    private readonly reports: ReportsService,
  ) {}

  @Get('wallets/:owner_id')
  wallet(@Param('owner_id') ownerId: string) {
    return this.admin.walletDetail(ownerId);
  }

  @Post('wallets/:owner_id/grants')
  async grant(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('owner_id') ownerId: string,
    @Body() dto: GrantDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    return reply(res, await this.admin.grant(idem, actor, ownerId, dto));
  }

  @Post('wallets/:owner_id/adjustments')
  async adjust(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('owner_id') ownerId: string,
    @Body() dto: AdjustmentDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    return reply(res, await this.admin.adjust(idem, actor, ownerId, dto));
  }

  @Post('wallets/:owner_id/freeze')
  async freeze(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('owner_id') ownerId: string,
    @Body() dto: ReasonDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    return reply(res, await this.admin.setFrozen(idem, actor, ownerId, true, dto.reason));
  }

  @Post('wallets/:owner_id/unfreeze')
  async unfreeze(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('owner_id') ownerId: string,
    @Body() dto: ReasonDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    return reply(res, await this.admin.setFrozen(idem, actor, ownerId, false, dto.reason));
  }

  @Post('generations/:id/refund')
  async refund(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('id') id: string,
    @Body() dto: RefundDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    return reply(res, await this.admin.refund(idem, actor, id, dto));
  }

  @Put('prices/:variant')
  async price(
    @Idem() idem: IdempotentRequest,
    @CurrentPrincipal() actor: Principal,
    @Param('variant') variant: string,
    @Body() dto: PriceChangeDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    return reply(res, await this.admin.changePrice(idem, actor, variant, dto));
  }

  @Get('audit-log')
  auditLog(@Query() q: AuditQuery) {
    return this.audit.list(q);
  }

  @Get('reports/summary')
  summary(@Query() q: RangeQuery) {
    return this.reports.summary(q.from, q.to);
  }

  @Get('reports/daily')
  daily(@Query() q: RangeQuery) {
    return this.reports.daily(q.from, q.to);
  }
}

/** A wallet's statement: the gateway may offer it to its user, so it sits with the wallet routes. */
@Controller('v1/wallets')
@RequireScope('gateway')
export class StatementController {
  constructor(private readonly reports: ReportsService) {}

  @Get(':owner_id/statement.csv')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  statement(@Param('owner_id') ownerId: string, @Query() q: RangeQuery) {
    return this.reports.statementCsv(ownerId, q.from, q.to);
  }
}
