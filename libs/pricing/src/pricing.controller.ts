import { ApiErrors, GATEWAY_ERRORS, RequireScope } from '@app/common';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { PriceDto, PriceListDto, PriceQuery } from './dto/views.dto.js';
import { priceView, PricingService } from './pricing.service.js';

const PRICE =
  "{variant, model, unit, dimensions ({} or e.g. {quality, size}), tokens (per unit, a token string), usd (per unit), version, description, effective_at, default (the model's default variant)}";

@ApiTags('prices')
@ApiBearerAuth()
@Controller('v1/prices')
@RequireScope('gateway')
export class PricingController {
  constructor(private readonly pricing: PricingService) {}

  @Get()
  @ApiOperation({
    summary: 'List the current prices',
    description: 'The price version in effect now of every active variant and combination of dimensions.',
  })
  @ApiResponse({ status: 200, type: PriceListDto, description: `{data: [${PRICE}]}` })
  @ApiErrors(...GATEWAY_ERRORS)
  async list() {
    return { data: (await this.pricing.list()).map(priceView) };
  }

  @Get(':variant')
  @ApiOperation({
    summary: "Get a variant's current price",
    description:
      'The price in effect now for the dimensions given as query parameters (only those the variant is priced by count): a flat variant needs none; gpt-image-1 takes size and quality (and input_images for an edit).',
  })
  @ApiParam({ name: 'variant', description: 'A price-list variant id.', example: 'gpt-image-1-min' })
  @ApiResponse({ status: 200, type: PriceDto, description: PRICE })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'variant_not_found', 'price_not_found')
  async get(@Param('variant') variant: string, @Query() q: PriceQuery) {
    const dims = Object.fromEntries(Object.entries(q).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    return priceView(await this.pricing.price(variant, dims, undefined, dims.input_images ? ['input_images'] : []));
  }
}
