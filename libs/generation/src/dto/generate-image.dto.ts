import { MaxJsonSize, OWNER_ID } from '@app/common';
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

export class GenerateImageDto {
  @IsString()
  @Matches(OWNER_ID, { message: 'owner_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' })
  owner_id!: string;

  /** The gateway model, e.g. models/openai/gpt-image. */
  @IsString()
  @Length(1, 128)
  model!: string;

  /** A price-list variant of the model; default: the model's default variant. */
  @IsOptional()
  @IsString()
  @Matches(VARIANT, { message: 'variant must be a price-list variant id' })
  variant?: string;

  @IsString()
  @Length(1, 32_000)
  prompt!: string;

  /** Images to generate, 1-10; n x the variant's unit price is reserved. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  n?: number;

  /** WIDTHxHEIGHT among the sizes the variant serves. */
  @IsOptional()
  @IsString()
  @Matches(/^[0-9]{2,5}x[0-9]{2,5}$/, { message: 'size must be WIDTHxHEIGHT' })
  size?: string;

  @IsOptional()
  @IsIn(['low', 'medium', 'high', 'auto'])
  quality?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  seed?: number;

  /** Receives generation.succeeded / generation.failed, signed. */
  @IsOptional()
  @IsString()
  @Length(1, 2048)
  webhook_url?: string;

  @IsOptional()
  @IsObject()
  @MaxJsonSize(4096)
  metadata?: Record<string, unknown>;
}

export class BatchItemDto {
  @IsString()
  @Length(1, 32_000)
  prompt!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  n?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  seed?: number;
}

export class CreateBatchDto {
  @IsString()
  @Matches(OWNER_ID, { message: 'owner_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' })
  owner_id!: string;

  @IsString()
  @Matches(VARIANT, { message: 'variant must be a price-list variant id' })
  variant!: string;

  /** 1-1000 items; the whole batch is reserved up front or nothing is. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => BatchItemDto)
  items!: BatchItemDto[];

  @IsOptional()
  @IsString()
  @Length(1, 2048)
  webhook_url?: string;
}
