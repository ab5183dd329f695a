import { ValidationError, ValidationPipe } from '@nestjs/common';
import { Errors, FieldError } from './errors.js';

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return own.concat(flatten(e.children ?? [], field));
  });
}

/** The global pipe: unknown fields are errors, every failure is a 400 validation_error. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: true,
    exceptionFactory: (errors) => {
      const list = flatten(errors);
      return Errors.validation(list.map((e) => e.message).join('; ') || 'Invalid request', list);
    },
  });
}
