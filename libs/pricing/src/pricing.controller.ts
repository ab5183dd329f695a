import { RequireScope } from '@app/common';
import { Controller, Get, Param } from '@nestjs/common';
import { priceView, PricingService } from './pricing.service.js';

@Controller('v1/prices')
@RequireScope('gateway')
export class PricingController {
  constructor(private readonly pricing: PricingService) {}

  @Get()
  async list() {
    return { data: (await this.pricing.list()).map(priceView) };
  }

  @Get(':variant')
  async get(@Param('variant') variant: string) {
    return priceView(await this.pricing.current(variant));
  }
}
