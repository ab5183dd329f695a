import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsObject, IsOptional, IsString, Length, ValidateNested } from 'class-validator';
import { MAX_INPUT_IMAGE_BYTES, MAX_INPUT_IMAGES } from '../variants.js';
import { GenerateImageDto } from './generate-image.dto.js';

const MIB = MAX_INPUT_IMAGE_BYTES / (1024 * 1024);

/** One input image: by URL or inline, exactly one of the two. */
export class EditInputImageDto {
  @ApiPropertyOptional({
    description: `An http(s) URL the service fetches the image from when the request arrives (no redirects, ${MIB} MiB at most, 10 s). A URL resolving to a private, loopback or link-local address is refused unless ALLOW_PRIVATE_WEBHOOK_URLS=true.`,
    minLength: 1,
    maxLength: 2048,
    example: 'https://cdn.example.com/inputs/cat.png',
  })
  @IsOptional()
  @IsString()
  @Length(1, 2048)
  url?: string;

  @ApiPropertyOptional({
    description: `The image as base64 (RFC 4648 with padding, no line breaks), optionally as a data:image/png;base64, URL; at most ${MIB} MiB decoded (more: 413 input_image_too_large).`,
    minLength: 4,
    example: 'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC',
  })
  @IsOptional()
  @IsString()
  b64_json?: string;
}

/** POST /v1/image/edits: a generation from input images and a prompt (OpenAI images.edit). */
export class EditImageDto extends OmitType(GenerateImageDto, ['seed'] as const) {
  @ApiProperty({
    type: [EditInputImageDto],
    minItems: 1,
    maxItems: MAX_INPUT_IMAGES,
    description: `The input images, 1-${MAX_INPUT_IMAGES}, each {url} or {b64_json} (PNG, JPEG or WebP, at most ${MIB} MiB). Their number is the price's input_images dimension. A bad image is a 400 validation_error naming it, an oversized one 413 input_image_too_large; either way nothing is reserved.`,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_INPUT_IMAGES)
  @IsObject({ each: true, message: 'each image must be an object {url} or {b64_json}' })
  @ValidateNested({ each: true })
  @Type(() => EditInputImageDto)
  images!: EditInputImageDto[];
}
