import { ApiErrors, GATEWAY_ERRORS, RequireScope } from '@app/common';
import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { PriceDto, PriceListDto } from './dto/views.dto.js';
import { priceView, PricingService } from './pricing.service.js';

const PRICE =
  "{variant, model, unit, tokens (per unit, a token string), usd (per unit), version, description, effective_at, default (the model's default variant)}";

@ApiTags('prices')
@ApiBearerAuth()
@Controller('v1/prices')
@RequireScope('gateway')
export class PricingController {
  constructor(private readonly pricing: PricingService) {}

  @Get()
  @ApiOperation({ summary: 'List the current prices', description: 'The price version in effect now of every active variant.' })
  @ApiResponse({ status: 200, type: PriceListDto, description: `{data: [${PRICE}]}` })
  @ApiErrors(...GATEWAY_ERRORS)
  async list() {
    return { data: (await this.pricing.list()).map(priceView) };
  }

  @Get(':variant')
  @ApiOperation({ summary: "Get a variant's current price" })
  @ApiParam({ name: 'variant', description: 'A price-list variant id.', example: 'gpt-image-1-min' })
  @ApiResponse({ status: 200, type: PriceDto, description: PRICE })
  @ApiErrors(...GATEWAY_ERRORS, 'variant_not_found')
  async get(@Param('variant') variant: string) {
    return priceView(await this.pricing.current(variant));
  }
}
