import { LedgerModule } from '@app/ledger';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { GenerationFinisher } from './generation-finisher.js';
import { GenerationController } from './generation.controller.js';
import { GenerationProcessor } from './generation.processor.js';
import { GenerationService } from './generation.service.js';
import { ProviderRegistry } from './provider-registry.js';
import { GENERATION_MAINTENANCE_QUEUE, GENERATION_QUEUE } from './queues.js';
import { RecoveryProcessor } from './recovery.processor.js';
import { RecoveryService } from './recovery.service.js';
import { ImageStorage } from './storage.js';
import { WebhookWorkerModule, WebhooksModule } from './webhooks/webhooks.module.js';

/** Generations and batches: reserve, enqueue, and the read side. */
@Module({
  imports: [LedgerModule, WebhooksModule, BullModule.registerQueue({ name: GENERATION_QUEUE }, { name: GENERATION_MAINTENANCE_QUEUE })],
  controllers: [GenerationController],
  providers: [GenerationService, GenerationFinisher, RecoveryService, ImageStorage],
  exports: [GenerationService, GenerationFinisher, RecoveryService, ImageStorage, BullModule],
})
export class GenerationModule {}

/** The processors: provider calls, recovery, webhook delivery. */
@Module({
  imports: [GenerationModule, WebhookWorkerModule],
  providers: [GenerationProcessor, RecoveryProcessor, ProviderRegistry],
})
export class GenerationWorkerModule {}
