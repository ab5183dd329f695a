import { AppConfig, CommonModule } from '@app/common';
import { BillingWorkerModule } from '@app/billing';
import { EventsWorkerModule } from '@app/events';
import { GenerationWorkerModule } from '@app/generation';
import { LedgerWorkerModule } from '@app/ledger';
import { PricingModule } from '@app/pricing';
import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';

/** The same domain modules as the API, BullMQ processors only. */
@Module({})
export class WorkerModule {
  static register(config: AppConfig, log: Logger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        CommonModule.forRoot(config, log),
        PricingModule,
        LedgerWorkerModule,
        GenerationWorkerModule,
        BillingWorkerModule,
        EventsWorkerModule,
      ],
    };
  }
}
