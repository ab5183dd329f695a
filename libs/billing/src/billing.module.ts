import { LedgerModule } from '@app/ledger';
import { APP_CONFIG, AppConfig } from '@app/common';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AutoTopUpProcessor } from './auto-top-up.processor.js';
import { AUTO_TOP_UP_QUEUE, AutoTopUpService } from './auto-top-up.service.js';
import { AutoTopUpController, BillingController, StripeWebhookController } from './billing.controller.js';
import { BillingService } from './billing.service.js';
import { CATALOG, parseCatalog } from './catalog.js';
import { ReconcileProcessor, BILLING_QUEUE } from './reconcile.processor.js';
import { ReconcileService } from './reconcile.service.js';
import { StripePaymentsCheck } from './payments-check.js';
import { PlanPrices } from './plan-prices.js';
import { StripeEffects } from './stripe-effects.js';
import { createStripe, STRIPE } from './stripe.client.js';
import { WebhookIntakeService } from './webhook-intake.service.js';

/** Stripe: catalog, Checkout, the portal, webhook intake and its ledger effects, reconcile. */
@Module({
  imports: [LedgerModule, BullModule.registerQueue({ name: BILLING_QUEUE }, { name: AUTO_TOP_UP_QUEUE })],
  controllers: [BillingController, AutoTopUpController, StripeWebhookController],
  providers: [
    { provide: STRIPE, inject: [APP_CONFIG], useFactory: (c: AppConfig) => createStripe(c) },
    { provide: CATALOG, inject: [APP_CONFIG], useFactory: (c: AppConfig) => parseCatalog(c.BILLING_CATALOG) },
    BillingService,
    StripeEffects,
    PlanPrices,
    WebhookIntakeService,
    ReconcileService,
    StripePaymentsCheck,
    AutoTopUpService,
  ],
  exports: [BillingService, ReconcileService, WebhookIntakeService, AutoTopUpService, BullModule],
})
export class BillingModule {}

@Module({ imports: [BillingModule], providers: [ReconcileProcessor, AutoTopUpProcessor] })
export class BillingWorkerModule {}
