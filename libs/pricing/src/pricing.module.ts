import { PRICE_QUOTER } from '@app/common';
import { Global, Module } from '@nestjs/common';
import { PricingController } from './pricing.controller.js';
import { PricingService } from './pricing.service.js';

/** Global so the ledger's optional PRICE_QUOTER resolves without the ledger importing pricing. */
@Global()
@Module({
  controllers: [PricingController],
  providers: [PricingService, { provide: PRICE_QUOTER, useExisting: PricingService }],
  exports: [PricingService, PRICE_QUOTER],
})
export class PricingModule {}
