// The ledger's public surface: the front door (Ledger) and the services other libs may call.
export { SYSTEM, type SystemAccount } from './accounts.js';
export {
  type BucketSource,
  type Credit,
  type Hold,
  Ledger,
  ledgerError,
  type Reversal,
  type ReversalResult,
  type WalletRow,
} from './ledger.js';
export { LedgerModule, LedgerWorkerModule } from './ledger.module.js';
export { MaintenanceService } from './maintenance.service.js';
export { type HoldRequest, ReservationService } from './reservation.service.js';
export { type VerifyReport, VerifyService } from './verify.service.js';
export type { ReservationView } from './views.js';
export { assertOwnerId, type TransactionView, type WalletView, WalletService } from './wallet.service.js';
export { isoWeek, nextWeekStart, weekStart } from './weeks.js';
export {
  BalanceDto,
  BucketDto,
  ReservationDto,
  TransactionDto,
  TransactionPageDto,
  VerifyReportDto,
  ViolationDto,
  WalletDto,
} from './dto/views.dto.js';
