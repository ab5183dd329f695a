import { ApiKeyGuard, AppConfig, CommonModule, OpsController } from '@app/common';
import { AdminModule } from '@app/admin';
import { BillingModule, BillingWorkerModule } from '@app/billing';
import { EventsModule, EventsWorkerModule } from '@app/events';
import { GenerationModule, GenerationWorkerModule } from '@app/generation';
import { LedgerModule, LedgerWorkerModule } from '@app/ledger';
import { PricingModule } from '@app/pricing';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Logger } from 'pino';

/** The HTTP service: the domain modules, plus the workers unless RUN_WORKER=false. */
@Module({})
export class ApiModule {
  static register(config: AppConfig, log: Logger): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        CommonModule.forRoot(config, log),
        PricingModule,
        LedgerModule,
        GenerationModule,
        BillingModule,
        AdminModule,
        EventsModule,
        ...(config.RUN_WORKER ? [LedgerWorkerModule, GenerationWorkerModule, BillingWorkerModule, EventsWorkerModule] : []),
      ],
      controllers: [OpsController],
      providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }],
    };
  }
}
