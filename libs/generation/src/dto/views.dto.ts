import { EnumProp, InstantProp, IntProp, JsonObjectProp, StringProp, TokensProp } from '@app/common';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** The documented shapes of generationView and batchView. */

@ApiSchema({ name: 'GeneratedImage', description: 'One delivered image.' })
export class GeneratedImageDto {
  @StringProp('Where to fetch it (served under /files, no API key needed).', { format: 'uri' })
  url!: string;
}

@ApiSchema({ name: 'GenerationOutput', description: "A generation's images; empty until it succeeded." })
export class GenerationOutputDto {
  @StringProp('The first image, or null.', { format: 'uri', nullable: true })
  image_url!: string | null;

  @ApiProperty({ type: [GeneratedImageDto], description: 'The delivered images.' })
  images!: GeneratedImageDto[];

  @StringProp('The image format (png, jpeg, webp), or null before any image.', { nullable: true, example: 'png' })
  format!: string | null;
}

@ApiSchema({ name: 'GenerationError', description: 'Why a generation failed.' })
export class GenerationErrorDto {
  @StringProp('A stable code, e.g. content_policy, provider_error, hold_expired.', { example: 'provider_error' })
  code!: string;

  @StringProp('What happened, for humans.')
  message!: string;
}

@ApiSchema({ name: 'GenerationPrice', description: 'What a generation was priced at, and why.' })
export class GenerationPriceDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { quality: 'high', size: '1024x1024' },
    description:
      "The dimensions of the price it matched ({} for a flat price): the request's size, quality and input_images, as far as the variant is priced by them.",
  })
  dimensions!: Record<string, string>;

  @IntProp(
    'The version of that price it was reserved at (a later price change does not alter it); null for generations made before price versions were recorded.',
    {
      nullable: true,
      example: 1,
    },
  )
  version!: number | null;

  @TokensProp('Tokens per image delivered.')
  unit_price!: string;
}

@ApiSchema({ name: 'Generation', description: 'An image generation or edit.' })
export class GenerationDto {
  @StringProp('The generation id (gen_ and 32 hex digits).', { example: 'gen_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  id!: string;

  @EnumProp(['generate', 'edit'], 'generate (POST /v1/image/generate, or a batch item) or edit (POST /v1/image/edits).')
  kind!: 'generate' | 'edit';

  @EnumProp(['queued', 'running', 'succeeded', 'failed'], 'Where it is.')
  status!: 'queued' | 'running' | 'succeeded' | 'failed';

  @StringProp("The wallet's owner_id.", { example: 'user_42' })
  owner_id!: string;

  @StringProp('The model.', { example: 'models/openai/gpt-image' })
  model!: string;

  @StringProp('The variant it is priced at.', { example: 'gpt-image-1-min' })
  variant!: string;

  @IntProp('Images asked for.', { example: 1 })
  n!: number;

  @StringProp('The image size asked for, or null.', { nullable: true, example: '1024x1024' })
  size!: string | null;

  @StringProp("The quality sent to the provider (the variant's default when none was asked for and it is priced by quality), or null.", {
    nullable: true,
    example: 'high',
  })
  quality!: string | null;

  @IntProp('Input images of an edit; 0 for a generation.', { example: 0 })
  input_images!: number;

  @ApiProperty({ type: GenerationPriceDto, description: 'What it was priced at, and why.' })
  price!: GenerationPriceDto;

  @StringProp('The reservation holding its tokens.', { example: 'res_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  reservation_id!: string;

  @StringProp('The batch it belongs to, or null.', { nullable: true })
  batch_id!: string | null;

  @TokensProp('Tokens held for it (n x unit price).')
  reserved!: string;

  @ApiProperty({ type: GenerationOutputDto, description: 'The images delivered so far.' })
  output!: GenerationOutputDto;

  @TokensProp('Tokens charged: the images delivered x unit price.')
  tokens_used!: string;

  @ApiProperty({ type: GenerationErrorDto, nullable: true, description: 'Why it failed; null otherwise.' })
  error!: GenerationErrorDto | null;

  @JsonObjectProp("The caller's metadata.")
  metadata!: Record<string, unknown> | null;

  @InstantProp('When it was accepted.')
  created_at!: string;

  @InstantProp('When it succeeded or failed; null before.', { nullable: true })
  finished_at!: string | null;
}

@ApiSchema({ name: 'Batch', description: 'A batch of generations, reserved up front and settled per item.' })
export class BatchDto {
  @StringProp('The batch id (bat_ and 32 hex digits).', { example: 'bat_5f0c2b9e8d7a4c3b9a1e2d3c4b5a6f70' })
  id!: string;

  @EnumProp(['running', 'completed'], 'completed when every item finished.')
  status!: 'running' | 'completed';

  @StringProp("The wallet's owner_id.", { example: 'user_42' })
  owner_id!: string;

  @StringProp('The variant of every item.', { example: 'gpt-image-1-min' })
  variant!: string;

  @IntProp('Items.')
  total!: number;

  @IntProp('Items that succeeded.')
  succeeded!: number;

  @IntProp('Items that failed.')
  failed!: number;

  @IntProp('Items not finished yet.')
  pending!: number;

  @TokensProp('Tokens held for the whole batch.')
  reserved!: string;

  @TokensProp('Tokens charged so far.')
  tokens_used!: string;

  @InstantProp('When it was accepted.')
  created_at!: string;

  @InstantProp('When its last item finished; null before.', { nullable: true })
  finished_at!: string | null;
}
