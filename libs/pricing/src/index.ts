export { priceOf, type PriceVersion, versionAt } from './price-math.js';
export { PricingModule } from './pricing.module.js';
export { type PriceView, priceView, PricingService } from './pricing.service.js';
export { PriceDto, PriceListDto } from './dto/views.dto.js';
