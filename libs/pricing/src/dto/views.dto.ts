import { InstantProp, IntProp, StringProp, TokensProp, UsdProp } from '@app/common';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, registerDecorator, type ValidationOptions } from 'class-validator';

/** What a price may be keyed by besides its variant, as the API shows it. */
@ApiSchema({
  name: 'PriceDimensions',
  description:
    'What the price is keyed by besides the variant; every value is a string. Empty for a flat price. Image variants use size, quality and (edits) input_images; metered variants (LLM, video) meter, one price per unit; other model families add their own names.',
})
export class PriceDimensionsDto {
  @ApiPropertyOptional({ description: 'Output size, WIDTHxHEIGHT.', example: '1024x1536' })
  size?: string;

  @ApiPropertyOptional({ description: 'Rendering quality: low, medium or high.', example: 'high' })
  quality?: string;

  @ApiPropertyOptional({ description: 'Input images of an edit, as a decimal string (1-4).', example: '1' })
  input_images?: string;

  @ApiPropertyOptional({
    description: "A metered variant's unit this price is for (1k_input_tokens, 1k_output_tokens, second, image): one price per meter.",
    example: '1k_input_tokens',
  })
  meter?: string;
}

/** The documented shape of PriceView. */
@ApiSchema({ name: 'Price', description: 'A version of a variant price per unit, for one combination of dimensions.' })
export class PriceDto {
  @StringProp('The variant id.', { example: 'gpt-image-1-min' })
  variant!: string;

  @StringProp('The model it belongs to.', { example: 'models/openai/gpt-image' })
  model!: string;

  @StringProp('What one unit is: image, second, 1k_input_tokens, 1k_output_tokens.', { example: 'image' })
  unit!: string;

  @ApiProperty({
    type: PriceDimensionsDto,
    additionalProperties: { type: 'string' },
    example: { quality: 'high', size: '1024x1536' },
    description:
      'The dimensions this price is for ({} for a flat price). A request matches the price whose dimensions equal its own, counting only the names the variant is priced by; a combination with no price is 422 price_not_found.',
  })
  dimensions!: PriceDimensionsDto;

  @TokensProp('Tokens per unit.')
  tokens!: string;

  @UsdProp('USD per unit (1 token = $0.10).')
  usd!: string;

  @IntProp('The price version of this variant and dimensions; a change of price makes a new one.', { example: 1 })
  version!: number;

  @StringProp('What the variant (and these dimensions) is.')
  description!: string;

  @InstantProp('When this version took effect.')
  effective_at!: string;

  @ApiProperty({ description: "Whether this is the model's default variant." })
  default!: boolean;
}

@ApiSchema({ name: 'PriceList', description: 'The price version in effect now of every active variant and combination of dimensions.' })
export class PriceListDto {
  @ApiProperty({ type: [PriceDto], description: 'Every active price, by variant id, then dimensions.' })
  data!: PriceDto[];
}

/** The dimensions to price, for GET /v1/prices/{variant}. */
export class PriceQuery {
  @ApiPropertyOptional({ description: 'Output size, WIDTHxHEIGHT.', pattern: '^[0-9]{2,5}x[0-9]{2,5}$', example: '1024x1024' })
  @IsOptional()
  @IsString()
  @Matches(/^[0-9]{2,5}x[0-9]{2,5}$/, { message: 'size must be WIDTHxHEIGHT' })
  size?: string;

  @ApiPropertyOptional({ description: 'Rendering quality.', pattern: '^[a-z]{1,16}$', example: 'high' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z]{1,16}$/, { message: 'quality must be a quality name' })
  quality?: string;

  @ApiPropertyOptional({ description: 'Input images of an edit (1-16).', pattern: '^([1-9]|1[0-6])$', example: '1' })
  @IsOptional()
  @IsString()
  @Matches(/^([1-9]|1[0-6])$/, { message: 'input_images must be a whole number 1-16' })
  input_images?: string;

  @ApiPropertyOptional({
    description: "A metered variant's unit: 1k_input_tokens, 1k_output_tokens, second or image.",
    pattern: '^(1k_input_tokens|1k_output_tokens|second|image)$',
    example: '1k_input_tokens',
  })
  @IsOptional()
  @IsString()
  @Matches(/^(1k_input_tokens|1k_output_tokens|second|image)$/, {
    message: 'meter must be 1k_input_tokens, 1k_output_tokens, second or image',
  })
  meter?: string;
}

const DIMENSION_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const DIMENSION_VALUE = /^[A-Za-z0-9._-]{1,32}$/;

/** Whether a value is a dimensions object as prices store them (the migration's price_dimensions_valid). */
export function isPriceDimensions(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return entries.length <= 8 && entries.every(([k, v]) => DIMENSION_NAME.test(k) && typeof v === 'string' && DIMENSION_VALUE.test(v));
}

/** A body field holding price dimensions: at most 8, names like `input_images`, string values like `1024x1536`. */
export function IsPriceDimensions(options?: ValidationOptions) {
  return (target: object, propertyName: string) => {
    registerDecorator({
      name: 'isPriceDimensions',
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => value === undefined || isPriceDimensions(value),
        defaultMessage: (args) =>
          `${args?.property} must be an object of at most 8 dimensions: names of a-z, 0-9 and _, values strings of 1-32 of A-Z, a-z, 0-9, . _ -`,
      },
    });
  };
}
