import { LedgerModule } from '@app/ledger';
import { Module } from '@nestjs/common';
import { DispatchLoop } from './dispatch.loop.js';
import { WebhookDispatcher } from './dispatcher.js';
import { EndpointsController } from './endpoints.controller.js';
import { EndpointsService } from './endpoints.service.js';

/**
 * Webhook endpoints of the wallet event feed: the admin routes and the
 * dispatcher. Owns webhook_endpoints, webhook_endpoint_deliveries and
 * webhook_endpoint_attempts; reads the feed through the ledger's EventsService.
 */
@Module({
  imports: [LedgerModule],
  controllers: [EndpointsController],
  providers: [EndpointsService, WebhookDispatcher],
  exports: [EndpointsService, WebhookDispatcher],
})
export class EventsModule {}

/** The dispatch loop: imported by the worker, and by the API when RUN_WORKER is on. */
@Module({
  imports: [EventsModule],
  providers: [DispatchLoop],
})
export class EventsWorkerModule {}
