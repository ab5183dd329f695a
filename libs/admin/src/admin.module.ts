import { BillingModule } from '@app/billing';
import { GenerationModule } from '@app/generation';
import { LedgerModule } from '@app/ledger';
import { Module } from '@nestjs/common';
import { AdminController, StatementController } from './admin.controller.js';
import { DashboardController } from './dashboard.controller.js';
import { AdminService } from './admin.service.js';
import { AuditService } from './audit.service.js';
import { ReportsService } from './reports.service.js';
import { SearchService } from './search.service.js';
import { WalletGenerationsService } from './wallet-generations.service.js';

/** Support and finance: admin actions, the audit log, reports, search, the dashboard page. */
@Module({
  imports: [LedgerModule, GenerationModule, BillingModule],
  controllers: [AdminController, StatementController, DashboardController],
  providers: [AdminService, AuditService, ReportsService, SearchService, WalletGenerationsService],
})
export class AdminModule {}
