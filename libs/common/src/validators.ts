import 'reflect-metadata';
import { IsString, Matches, registerDecorator, ValidationOptions } from 'class-validator';
import { Errors } from './errors.js';
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
const OWNER_ID_MESSAGE = 'owner_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -';

/** The owner_id of a path: checked before any lookup, so a malformed one is a 400, never a 404 or a 500. */
export function checkOwnerId(value: unknown): void {
  if (typeof value !== 'string' || !OWNER_ID.test(value)) {
    throw Errors.validation(OWNER_ID_MESSAGE, [{ field: 'owner_id', message: OWNER_ID_MESSAGE }]);
  }
}

/** An owner_id in a body (spec section 6). */
export function IsOwnerId(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    IsString({ message: OWNER_ID_MESSAGE })(target, propertyName);
    Matches(OWNER_ID, { message: OWNER_ID_MESSAGE })(target, propertyName);
  };
}

const FREE_TEXT = Symbol('tw:free-text');

/**
 * Marks a string field as free text (a prompt, a reason): it may hold tabs and
 * line breaks. Every other string field refuses all control characters.
 */
export function FreeText(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => Reflect.defineMetadata(FREE_TEXT, true, target, propertyName);
}

export function isFreeText(instance: object, propertyName: string): boolean {
  return Reflect.getMetadata(FREE_TEXT, instance, propertyName) === true;
}

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d))?$/;

/** The date-time forms both JavaScript and PostgreSQL read alike: YYYY-MM-DD, or that with THH:MM[:SS[.ffffff]] and Z or an offset. */
export function isIsoDateTime(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  // The calendar check JavaScript skips: 2026-02-31 would roll over to March 3rd.
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0-99 as 1900-1999
  return (
    year >= 1 &&
    at.getUTCFullYear() === year &&
    at.getUTCMonth() === month - 1 &&
    at.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    !Number.isNaN(Date.parse(value))
  );
}

/** An ISO 8601 date or date-time, in one of the forms of {@link isIsoDateTime}. */
export function IsIsoDateTime(options?: ValidationOptions) {
  return (target: object, propertyName: string) => {
    registerDecorator({
      name: 'isIsoDateTime',
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate: isIsoDateTime,
        defaultMessage: (args) => `${args?.property} must be an ISO 8601 date-time such as 2030-01-01T00:00:00Z`,
      },
    });
  };
}

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
