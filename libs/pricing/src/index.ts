export {
  canonicalDimensions,
  costAt,
  type Dimensions,
  dimensionsKey,
  matchPrice,
  priceOf,
  type PriceVersion,
  type ProviderCost,
  versionAt,
} from './price-math.js';
export { PricingModule } from './pricing.module.js';
export { type PricedRequest, type PriceView, priceView, PricingService } from './pricing.service.js';
export { IsPriceDimensions, isPriceDimensions, PriceDimensionsDto, PriceDto, PriceListDto } from './dto/views.dto.js';
