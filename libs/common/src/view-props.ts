import { applyDecorators } from '@nestjs/common';
import { ApiProperty, type ApiPropertyOptions } from '@nestjs/swagger';

/*
 * Property decorators of the response views (the bodies the API answers with),
 * so every success body has a schema a generated client can type. They only
 * document: a view is built by its service, never validated on the way out.
 */

/** The string form of a token amount in a response: exactly 3 decimals, signed where it may be negative. */
export const TOKEN_STRING_PATTERN = '^-?(0|[1-9][0-9]*)\\.[0-9]{3}$';
/** A USD amount in a response: a decimal string. */
export const USD_STRING_PATTERN = '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$';

type Extra = Omit<ApiPropertyOptions, 'type' | 'description'>;

/** A token amount: a decimal string with exactly three decimals. */
export const TokensProp = (description: string, extra: Extra = {}) =>
  ApiProperty({ type: 'string', pattern: TOKEN_STRING_PATTERN, example: '3.540', description, ...extra } as ApiPropertyOptions);

/** A USD amount: a decimal string. */
export const UsdProp = (description: string, extra: Extra = {}) =>
  ApiProperty({ type: 'string', pattern: USD_STRING_PATTERN, example: '0.354', description, ...extra } as ApiPropertyOptions);

/** An ISO 8601 instant (UTC, `Z`). */
export const InstantProp = (description: string, extra: Extra = {}) =>
  ApiProperty({ type: 'string', format: 'date-time', example: '2026-11-25T10:00:00.000Z', description, ...extra } as ApiPropertyOptions);

/** A free-form JSON object (the caller's metadata, a plan's details), or null. */
export const JsonObjectProp = (description: string, extra: Extra = {}) =>
  ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description, ...extra } as ApiPropertyOptions);

/** A string property. */
export const StringProp = (description: string, extra: Extra = {}) =>
  ApiProperty({ type: 'string', description, ...extra } as ApiPropertyOptions);

/** An integer property. */
export const IntProp = (description: string, extra: Extra = {}) =>
  ApiProperty({ type: 'integer', description, ...extra } as ApiPropertyOptions);

/** A property that is one of the given strings. */
export const EnumProp = (values: readonly string[], description: string, extra: Extra = {}) =>
  applyDecorators(ApiProperty({ type: 'string', enum: [...values], description, ...extra } as ApiPropertyOptions));

/** The cursor of the next page, null on the last one. */
export const NextCursorProp = () =>
  ApiProperty({ type: 'string', nullable: true, description: 'Pass as `cursor` for the next page; null on the last page.' });
