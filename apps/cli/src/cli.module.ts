import { AppConfig, CommonModule } from '@app/common';
import { BillingModule } from '@app/billing';
import { LedgerModule } from '@app/ledger';
import { PricingModule } from '@app/pricing';
import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';

@Module({})
export class CliModule {
  static register(config: AppConfig, log: Logger): DynamicModule {
    return { module: CliModule, imports: [CommonModule.forRoot(config, log), PricingModule, LedgerModule, BillingModule] };
  }
}
