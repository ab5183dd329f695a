import { MAINTENANCE_QUEUE } from '@app/common';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { EventsController, SpendControlsController } from './controls.controller.js';
import { SpendControlsService } from './controls.service.js';
import { EventsService } from './events.service.js';
import { LedgerAdminController, ReservationController, WalletController } from './ledger.controller.js';
import { Ledger } from './ledger.js';
import { MaintenanceProcessor } from './maintenance.processor.js';
import { MaintenanceService } from './maintenance.service.js';
import { ReservationService } from './reservation.service.js';
import { VerifyService } from './verify.service.js';
import { WalletService } from './wallet.service.js';

/**
 * Owns wallets, accounts, buckets, transfers, entries and reservations: only
 * this module writes them, through {@link Ledger}. Weekly grants, expiry, verify.
 */
@Module({
  imports: [BullModule.registerQueue({ name: MAINTENANCE_QUEUE })],
  controllers: [WalletController, ReservationController, SpendControlsController, EventsController, LedgerAdminController],
  providers: [Ledger, WalletService, ReservationService, MaintenanceService, VerifyService, SpendControlsService, EventsService],
  exports: [Ledger, WalletService, ReservationService, MaintenanceService, VerifyService, SpendControlsService, EventsService],
})
export class LedgerModule {}

/** The ledger's BullMQ processors: imported by the worker, and by the API when RUN_WORKER is on. */
@Module({
  imports: [LedgerModule, BullModule.registerQueue({ name: MAINTENANCE_QUEUE })],
  providers: [MaintenanceProcessor],
})
export class LedgerWorkerModule {}
