import {
  ApiErrors,
  ApiIdempotencyKey,
  BODY_ERRORS,
  CreatedAt,
  GATEWAY_ERRORS,
  Idem,
  IDEMPOTENT_ERRORS,
  IDEMPOTENT_REPLAY_HEADERS,
  type IdempotentRequest,
  LOCATION_HEADER,
  reply,
  RequireScope,
  segment,
} from '@app/common';
import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EditImageDto } from './dto/edit-image.dto.js';
import { CreateBatchDto, GenerateImageDto } from './dto/generate-image.dto.js';
import { BatchDto, GenerationDto } from './dto/views.dto.js';
import { GenerationService } from './generation.service.js';

const GENERATION =
  '{id, kind (generate or edit), status (queued, running, succeeded or failed), owner_id, model, variant, n, size, quality, input_images, price: {dimensions, version, unit_price}, reservation_id, batch_id, reserved, output: {image_url, images: [{url}], format}, tokens_used, error: {code, message} or null, metadata, created_at, finished_at}';
const BATCH =
  '{id, status (running or completed), owner_id, variant, total, succeeded, failed, pending, reserved, tokens_used, created_at, finished_at}';

@ApiTags('generation')
@ApiBearerAuth()
@Controller('v1')
@RequireScope('gateway')
export class GenerationController {
  constructor(private readonly generations: GenerationService) {}

  @Post('image/generate')
  @CreatedAt((g) => `/v1/generations/${segment(g.id)}`)
  @ApiOperation({
    summary: 'Generate images',
    description:
      "Reserves n x the variant's unit price in the same transaction that records the generation, answers 202 and queues it. The worker settles for the images delivered and releases the rest; a failure releases everything.",
  })
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 202,
    type: GenerationDto,
    description: `Accepted (status queued). The generation: ${GENERATION}`,
    headers: { ...IDEMPOTENT_REPLAY_HEADERS, ...LOCATION_HEADER },
  })
  @ApiErrors(
    ...GATEWAY_ERRORS,
    ...BODY_ERRORS,
    ...IDEMPOTENT_ERRORS,
    'insufficient_funds',
    'wallet_not_found',
    'model_not_found',
    'variant_not_found',
    'price_not_found',
    'zero_price',
    'wallet_frozen',
    'queue_unavailable',
  )
  async generate(@Idem() idem: IdempotentRequest, @Body() dto: GenerateImageDto, @Res({ passthrough: true }) res: FastifyReply) {
    return reply(res, await this.generations.create(idem, dto));
  }

  @Post('image/edits')
  @CreatedAt((g) => `/v1/generations/${segment(g.id)}`)
  @ApiOperation({
    summary: 'Edit images',
    description:
      "An edit through the OpenAI Images edit call: 1-4 input images (by URL, fetched now, or base64) and a prompt. The images are checked before anything is reserved; then it is priced with input_images as a dimension (the variant must have edit prices: default, the model's first variant that has), reserved with its record, answered 202 and queued like a generation, with the same settlement (the images delivered) and webhooks. The body may be up to 8 MiB.",
  })
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 202,
    type: GenerationDto,
    description: `Accepted (status queued). The generation (kind edit): ${GENERATION}`,
    headers: { ...IDEMPOTENT_REPLAY_HEADERS, ...LOCATION_HEADER },
  })
  @ApiErrors(
    ...GATEWAY_ERRORS,
    ...BODY_ERRORS,
    ...IDEMPOTENT_ERRORS,
    'input_image_too_large',
    'insufficient_funds',
    'wallet_not_found',
    'model_not_found',
    'variant_not_found',
    'price_not_found',
    'zero_price',
    'wallet_frozen',
    'queue_unavailable',
  )
  async edit(@Idem() idem: IdempotentRequest, @Body() dto: EditImageDto, @Res({ passthrough: true }) res: FastifyReply) {
    return reply(res, await this.generations.createEdit(idem, dto));
  }

  @Get('generations/:id')
  @ApiOperation({ summary: 'Get a generation' })
  @ApiParam({ name: 'id', description: 'A generation id (gen_ and 32 hex digits).', example: 'gen_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  @ApiResponse({ status: 200, type: GenerationDto, description: `The generation: ${GENERATION}` })
  @ApiErrors(...GATEWAY_ERRORS, 'generation_not_found')
  get(@Param('id') id: string) {
    return this.generations.get(id);
  }

  @Post('batches')
  @CreatedAt((b) => `/v1/batches/${segment(b.id)}`)
  @ApiOperation({
    summary: 'Generate a batch of images',
    description: 'Reserves every item in one transaction (all or nothing), answers 202 and queues the items.',
  })
  @ApiIdempotencyKey()
  @ApiResponse({
    status: 202,
    type: BatchDto,
    description: `Accepted (status running). The batch: ${BATCH}`,
    headers: { ...IDEMPOTENT_REPLAY_HEADERS, ...LOCATION_HEADER },
  })
  @ApiErrors(
    ...GATEWAY_ERRORS,
    ...BODY_ERRORS,
    ...IDEMPOTENT_ERRORS,
    'insufficient_funds',
    'wallet_not_found',
    'variant_not_found',
    'price_not_found',
    'zero_price',
    'wallet_frozen',
    'queue_unavailable',
  )
  async batch(@Idem() idem: IdempotentRequest, @Body() dto: CreateBatchDto, @Res({ passthrough: true }) res: FastifyReply) {
    return reply(res, await this.generations.createBatch(idem, dto));
  }

  @Get('batches/:id')
  @ApiOperation({ summary: 'Get a batch' })
  @ApiParam({ name: 'id', description: 'A batch id (bat_ and 32 hex digits).', example: 'bat_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  @ApiResponse({ status: 200, type: BatchDto, description: `The batch: ${BATCH}` })
  @ApiErrors(...GATEWAY_ERRORS, 'batch_not_found')
  getBatch(@Param('id') id: string) {
    return this.generations.getBatch(id);
  }
}
