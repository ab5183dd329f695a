import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { WebhookProcessor } from './webhook.processor.js';
import { WEBHOOK_QUEUE, WebhookService } from './webhook.service.js';

/** Queues outgoing webhooks; imported wherever events are raised (API and worker alike). */
@Module({
  imports: [BullModule.registerQueue({ name: WEBHOOK_QUEUE })],
  providers: [WebhookService],
  exports: [WebhookService],
})
export class WebhooksModule {}

/** Delivers them: imported by the worker, and by the API when RUN_WORKER is on. */
@Module({
  imports: [WebhooksModule, BullModule.registerQueue({ name: WEBHOOK_QUEUE })],
  providers: [WebhookProcessor],
})
export class WebhookWorkerModule {}
