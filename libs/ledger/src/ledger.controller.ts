import { Idem, type IdempotentRequest, reply, RequireScope } from '@app/common';
import { Body, Controller, Get, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { CreateReservationDto, SettleReservationDto } from './dto/create-reservation.dto.js';
import { ListTransactionsQuery } from './dto/list-transactions.dto.js';
import { ReservationService } from './reservation.service.js';
import { VerifyService } from './verify.service.js';
import { WalletService } from './wallet.service.js';

@Controller('v1')
@RequireScope('gateway')
export class WalletController {
  constructor(private readonly wallets: WalletService) {}

  @Put('wallets/:owner_id')
  async put(@Param('owner_id') ownerId: string, @Res({ passthrough: true }) res: Response) {
    const { created, view } = await this.wallets.ensure(ownerId);
    res.status(created ? 201 : 200);
    return view;
  }

  @Get('wallets/:owner_id')
  get(@Param('owner_id') ownerId: string) {
    return this.wallets.view(ownerId);
  }

  @Get('wallets/:owner_id/transactions')
  transactions(@Param('owner_id') ownerId: string, @Query() q: ListTransactionsQuery) {
    return this.wallets.transactions(ownerId, q.limit, q.cursor);
  }
}

@Controller('v1')
@RequireScope('gateway')
export class ReservationController {
  constructor(private readonly reservations: ReservationService) {}

  @Post('wallets/:owner_id/reservations')
  async create(
    @Idem() idem: IdempotentRequest,
    @Param('owner_id') ownerId: string,
    @Body() dto: CreateReservationDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    return reply(res, await this.reservations.create(idem, ownerId, dto));
  }

  @Get('reservations/:id')
  get(@Param('id') id: string) {
    return this.reservations.get(id);
  }

  @Post('reservations/:id/settle')
  async settle(
    @Idem() idem: IdempotentRequest,
    @Param('id') id: string,
    @Body() dto: SettleReservationDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    return reply(res, await this.reservations.settle(idem, id, dto.amount));
  }

  @Post('reservations/:id/release')
  async release(@Idem() idem: IdempotentRequest, @Param('id') id: string, @Res({ passthrough: true }) res: Response) {
    return reply(res, await this.reservations.release(idem, id));
  }
}

@Controller('v1/admin/ledger')
@RequireScope('admin')
export class LedgerAdminController {
  constructor(private readonly verifier: VerifyService) {}

  /** 200 with ok=true, or 500 with the violations: a monitor can alert on the status alone. */
  @Get('verify')
  async verify(@Res({ passthrough: true }) res: Response) {
    const report = await this.verifier.verify();
    res.status(report.ok ? 200 : 500);
    return report;
  }
}
