// The ledger's public surface: the front door (Ledger) and the services other libs may call.
export { SYSTEM, type SystemAccount } from './accounts.js';
export { SpendControlsService } from './controls.service.js';
export { EVENT_TYPES, type EventType } from './dto/controls.dto.js';
export { type EventPage, eventId, EventsService } from './events.service.js';
export {
  type AlertDefinition,
  type BucketSource,
  type BudgetDefinition,
  type Credit,
  type Hold,
  type Holder,
  Ledger,
  ledgerError,
  type Reversal,
  type ReversalResult,
  type Usage,
  type WalletRow,
} from './ledger.js';
export { LedgerModule, LedgerWorkerModule } from './ledger.module.js';
export { MaintenanceService } from './maintenance.service.js';
export { type HoldRequest, ReservationService } from './reservation.service.js';
export { type VerifyReport, VerifyService } from './verify.service.js';
export type { AlertView, BudgetView, EventView, ReservationView } from './views.js';
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
