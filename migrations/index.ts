import { CreateLedger1764100000000 } from './1764100000000-CreateLedger.js';
import { CreatePrices1764100001000 } from './1764100001000-CreatePrices.js';
import { CreateGenerations1764200000000 } from './1764200000000-CreateGenerations.js';
import { CreateBilling1764300000000 } from './1764300000000-CreateBilling.js';
import { CreateAuditLog1764400000000 } from './1764400000000-CreateAuditLog.js';
import { CreateLedgerFunctions1764500000000 } from './1764500000000-CreateLedgerFunctions.js';
import { CreateExtendHolds1764500001000 } from './1764500001000-CreateExtendHolds.js';
import { BoundWalletLockWaits1764500003000 } from './1764500003000-BoundWalletLockWaits.js';
import { CreateStripeReversals1764600000000 } from './1764600000000-CreateStripeReversals.js';
import { BackfillBucketReversals1764600001000 } from './1764600001000-BackfillBucketReversals.js';
import { CreateSpendControls1764700000000 } from './1764700000000-CreateSpendControls.js';
import { AddGenerationSpenders1764700001000 } from './1764700001000-AddGenerationSpenders.js';
import { CreateWebhookEndpoints1764700002000 } from './1764700002000-CreateWebhookEndpoints.js';
import { CreateAutoTopUp1764800000000 } from './1764800000000-CreateAutoTopUp.js';
import { AddWalletKeys1764810000000 } from './1764810000000-AddWalletKeys.js';
import { IndexAdminSearch1764900000000 } from './1764900000000-IndexAdminSearch.js';
import { LeanHotPath1764900001000 } from './1764900001000-LeanHotPath.js';
import { AddPriceDimensions1765100000000 } from './1765100000000-AddPriceDimensions.js';
import { AddGenerationCosts1765100001000 } from './1765100001000-AddGenerationCosts.js';
import { AddMeteredPrices1765200000000 } from './1765200000000-AddMeteredPrices.js';
import { CreateMeteredReservations1765200001000 } from './1765200001000-CreateMeteredReservations.js';
import { CachedViewPlans1765300000000 } from './1765300000000-CachedViewPlans.js';
import { WalletKeyedLedger1765300001000 } from './1765300001000-WalletKeyedLedger.js';
import { WalletKeyedObjects1765400000000 } from './1765400000000-WalletKeyedObjects.js';
import { WalletKeyedLookups1765500000000 } from './1765500000000-WalletKeyedLookups.js';
import { RowChecks1765500001000 } from './1765500001000-RowChecks.js';
import { ExpressionCosts1765500002000 } from './1765500002000-ExpressionCosts.js';
import { GenerationHolds1765600000000 } from './1765600000000-GenerationHolds.js';
import { ReversedExpiry1765600001000 } from './1765600001000-ReversedExpiry.js';
import { BudgetOverage1765600002000 } from './1765600002000-BudgetOverage.js';

/** Every migration, in order. A landed migration is never edited: add a new one. */
export const MIGRATIONS = [
  CreateLedger1764100000000,
  CreatePrices1764100001000,
  CreateGenerations1764200000000,
  CreateBilling1764300000000,
  CreateAuditLog1764400000000,
  CreateLedgerFunctions1764500000000,
  CreateExtendHolds1764500001000,
  BoundWalletLockWaits1764500003000,
  CreateStripeReversals1764600000000,
  BackfillBucketReversals1764600001000,
  CreateSpendControls1764700000000,
  AddGenerationSpenders1764700001000,
  CreateWebhookEndpoints1764700002000,
  CreateAutoTopUp1764800000000,
  AddWalletKeys1764810000000,
  IndexAdminSearch1764900000000,
  LeanHotPath1764900001000,
  AddPriceDimensions1765100000000,
  AddGenerationCosts1765100001000,
  AddMeteredPrices1765200000000,
  CreateMeteredReservations1765200001000,
  CachedViewPlans1765300000000,
  WalletKeyedLedger1765300001000,
  WalletKeyedObjects1765400000000,
  WalletKeyedLookups1765500000000,
  RowChecks1765500001000,
  ExpressionCosts1765500002000,
  GenerationHolds1765600000000,
  ReversedExpiry1765600001000,
  BudgetOverage1765600002000,
];
