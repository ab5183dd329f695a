import { InstantProp, IntProp, StringProp, TokensProp, UsdProp } from '@app/common';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** The documented shape of PriceView. */
@ApiSchema({ name: 'Price', description: 'A version of a variant price: flat per unit.' })
export class PriceDto {
  @StringProp('The variant id.', { example: 'gpt-image-1-min' })
  variant!: string;

  @StringProp('The model it belongs to.', { example: 'models/openai/gpt-image' })
  model!: string;

  @StringProp('What one unit is: image, second, 1k_input_tokens, 1k_output_tokens.', { example: 'image' })
  unit!: string;

  @TokensProp('Tokens per unit.')
  tokens!: string;

  @UsdProp('USD per unit (1 token = $0.10).')
  usd!: string;

  @IntProp('The price version; a change of price makes a new one.', { example: 1 })
  version!: number;

  @StringProp('What the variant is.')
  description!: string;

  @InstantProp('When this version took effect.')
  effective_at!: string;

  @ApiProperty({ description: "Whether this is the model's default variant." })
  default!: boolean;
}

@ApiSchema({ name: 'PriceList', description: 'The price version in effect now of every active variant.' })
export class PriceListDto {
  @ApiProperty({ type: [PriceDto], description: 'Every active variant, by variant id.' })
  data!: PriceDto[];
}
