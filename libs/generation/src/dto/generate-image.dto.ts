import { FreeText, IsOwnerId, MaxJsonSize, OWNER_ID_DESCRIPTION, OWNER_ID_PATTERN } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

const VARIANT = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const WEBHOOK_URL_DESCRIPTION =
  'An http(s) URL that receives a signed POST (header Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">) when the work finishes, retried with backoff for 24 hours. A URL resolving to a private, loopback or link-local address is a 400 validation_error unless ALLOW_PRIVATE_WEBHOOK_URLS=true.';

export class GenerateImageDto {
  @ApiProperty({ description: `The wallet to charge. ${OWNER_ID_DESCRIPTION}`, pattern: OWNER_ID_PATTERN, example: 'user_42' })
  @IsOwnerId()
  owner_id!: string;

  @ApiPropertyOptional({
    pattern: OWNER_ID_PATTERN,
    example: 'member_7',
    description: "Who inside the wallet's owner spends (an end user or org member); budgets of scope spender limit it.",
  })
  @IsOptional()
  @IsOwnerId()
  spender_id?: string;

  /** The gateway model, e.g. models/openai/gpt-image. */
  @ApiProperty({
    description: 'The gateway model (the `model` of GET /v1/prices); unknown: 404 model_not_found.',
    minLength: 1,
    maxLength: 128,
    example: 'models/openai/gpt-image',
  })
  @IsString()
  @Length(1, 128)
  model!: string;

  /** A price-list variant of the model; default: the model's default variant. */
  @ApiPropertyOptional({
    description:
      "A price-list variant of the model (GET /v1/prices); default: the model's default variant. Unknown, or not an image variant: 404 variant_not_found.",
    pattern: VARIANT.source,
    example: 'gpt-image-1-min',
  })
  @IsOptional()
  @IsString()
  @Matches(VARIANT, { message: 'variant must be a price-list variant id' })
  variant?: string;

  @ApiProperty({
    description: 'The image prompt, 1-32000 characters.',
    minLength: 1,
    maxLength: 32_000,
    example: 'a lighthouse at dusk, watercolor',
  })
  @IsString()
  @Length(1, 32_000)
  @FreeText()
  prompt!: string;

  /** Images to generate, 1-10; n x the variant's unit price is reserved. */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 10,
    default: 1,
    example: 1,
    description:
      "Images to generate, 1-10 (default 1); n x the variant's unit price is reserved, and only the images delivered are charged.",
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  n?: number;

  /** WIDTHxHEIGHT among the sizes the variant serves. */
  @ApiPropertyOptional({
    description:
      "WIDTHxHEIGHT, one of the sizes the variant serves (gpt-image-1-min and gpt-image-2-cloudflare: 1024x1024; gpt-image-1-max: 1024x1536 or 1536x1024; gpt-image-1: all three); default: the variant's first. Another size is a 400 validation_error. A variant priced by size (gpt-image-1) charges the size's price.",
    pattern: '^[0-9]{2,5}x[0-9]{2,5}$',
    example: '1024x1024',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[0-9]{2,5}x[0-9]{2,5}$/, { message: 'size must be WIDTHxHEIGHT' })
  size?: string;

  @ApiPropertyOptional({
    description:
      'Rendering quality passed to the provider. A variant priced by quality (gpt-image-1) charges the price of this quality, medium when none is given; auto has no price there (422 price_not_found). A flat variant passes it on at its one price.',
    enum: ['low', 'medium', 'high', 'auto'],
    example: 'auto',
  })
  @IsOptional()
  @IsIn(['low', 'medium', 'high', 'auto'])
  quality?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 2_147_483_647,
    example: 42,
    description: 'A seed for providers that take one, for repeatable output.',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  seed?: number;

  /** Receives generation.succeeded / generation.failed, signed. */
  @ApiPropertyOptional({
    description: `Receives generation.succeeded or generation.failed. ${WEBHOOK_URL_DESCRIPTION}`,
    minLength: 1,
    maxLength: 2048,
    example: 'https://gateway.example.com/hooks/token-wallet',
  })
  @IsOptional()
  @IsString()
  @Length(1, 2048)
  webhook_url?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { request_id: 'req_1' },
    description: 'Free-form JSON object stored with the generation and returned with it, at most 4096 bytes serialized.',
  })
  @IsOptional()
  @IsObject()
  @MaxJsonSize(4096)
  metadata?: Record<string, unknown>;
}

export class BatchItemDto {
  @ApiProperty({
    description: 'The image prompt of this item, 1-32000 characters.',
    minLength: 1,
    maxLength: 32_000,
    example: 'a red bicycle',
  })
  @IsString()
  @Length(1, 32_000)
  @FreeText()
  prompt!: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 10,
    default: 1,
    example: 1,
    description: 'Images for this item, 1-10 (default 1).',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  n?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 2_147_483_647,
    example: 7,
    description: 'A seed for this item, for providers that take one.',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  seed?: number;
}

export class CreateBatchDto {
  @ApiProperty({ description: `The wallet to charge. ${OWNER_ID_DESCRIPTION}`, pattern: OWNER_ID_PATTERN, example: 'user_42' })
  @IsOwnerId()
  owner_id!: string;

  @ApiPropertyOptional({
    pattern: OWNER_ID_PATTERN,
    example: 'member_7',
    description: "Who inside the wallet's owner spends (an end user or org member); budgets of scope spender limit it.",
  })
  @IsOptional()
  @IsOwnerId()
  spender_id?: string;

  @ApiProperty({
    description: 'The image variant every item is generated with (GET /v1/prices); not an image variant: 404 variant_not_found.',
    pattern: VARIANT.source,
    example: 'gpt-image-1-min',
  })
  @IsString()
  @Matches(VARIANT, { message: 'variant must be a price-list variant id' })
  variant!: string;

  /** 1-1000 items; the whole batch is reserved up front or nothing is. */
  @ApiProperty({
    type: [BatchItemDto],
    minItems: 1,
    maxItems: 1000,
    description: 'The generations, 1-1000; the whole batch is reserved up front or nothing is (402 insufficient_funds).',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsObject({ each: true, message: 'each item must be an object {prompt, n?, seed?}' })
  @ValidateNested({ each: true })
  @Type(() => BatchItemDto)
  items!: BatchItemDto[];

  @ApiPropertyOptional({
    description: `Receives batch.completed once every item has finished (the items send no webhooks of their own). ${WEBHOOK_URL_DESCRIPTION}`,
    minLength: 1,
    maxLength: 2048,
    example: 'https://gateway.example.com/hooks/token-wallet',
  })
  @IsOptional()
  @IsString()
  @Length(1, 2048)
  webhook_url?: string;
}
