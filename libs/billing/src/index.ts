export { AUTO_TOP_UP_ALERT, AUTO_TOP_UP_QUEUE, AutoTopUpService, type AutoTopUpView, FAILURES_TO_DISABLE } from './auto-top-up.service.js';
export { BillingModule, BillingWorkerModule } from './billing.module.js';
export { BillingService } from './billing.service.js';
export {
  type Catalog,
  CATALOG,
  catalogView,
  DEFAULT_CATALOG,
  lookupKey,
  type Pack,
  parseCatalog,
  type Plan,
  usdPerToken,
} from './catalog.js';
export { type ReconcileReport, ReconcileService } from './reconcile.service.js';
export { WebhookIntakeService } from './webhook-intake.service.js';
