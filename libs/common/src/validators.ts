import { registerDecorator, ValidationOptions } from 'class-validator';
import { checkTokens, ParseOptions } from './money.js';

/** A token amount of spec section 2: a decimal string or JSON number with at most 3 decimals. */
export function IsTokenAmount(opts: ParseOptions = {}, options?: ValidationOptions) {
  return (target: object, propertyName: string) => {
    registerDecorator({
      name: 'isTokenAmount',
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => checkTokens(value, opts) === null,
        defaultMessage: (args) => `${args?.property} ${checkTokens(args?.value, opts) ?? 'is invalid'}`,
      },
    });
  };
}

export const OWNER_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** Caps the serialized size of a free-form object (metadata), so no caller can bloat rows. */
export function MaxJsonSize(bytes: number, options?: ValidationOptions) {
  return (target: object, propertyName: string) => {
    registerDecorator({
      name: 'maxJsonSize',
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => value === undefined || Buffer.byteLength(JSON.stringify(value) ?? '') <= bytes,
        defaultMessage: (args) => `${args?.property} must serialize to at most ${bytes} bytes of JSON`,
      },
    });
  };
}
