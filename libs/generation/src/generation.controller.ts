import { Idem, type IdempotentRequest, reply, RequireScope } from '@app/common';
import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { CreateBatchDto, GenerateImageDto } from './dto/generate-image.dto.js';
import { GenerationService } from './generation.service.js';

@Controller('v1')
@RequireScope('gateway')
export class GenerationController {
  constructor(private readonly generations: GenerationService) {}

  @Post('image/generate')
  async generate(@Idem() idem: IdempotentRequest, @Body() dto: GenerateImageDto, @Res({ passthrough: true }) res: Response) {
    return reply(res, await this.generations.create(idem, dto));
  }

  @Get('generations/:id')
  get(@Param('id') id: string) {
    return this.generations.get(id);
  }

  @Post('batches')
  async batch(@Idem() idem: IdempotentRequest, @Body() dto: CreateBatchDto, @Res({ passthrough: true }) res: Response) {
    return reply(res, await this.generations.createBatch(idem, dto));
  }

  @Get('batches/:id')
  getBatch(@Param('id') id: string) {
    return this.generations.getBatch(id);
  }
}
