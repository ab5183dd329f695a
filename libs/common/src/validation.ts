import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage, type ValidatorOptions } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata.js';
import { Errors, FieldError } from './errors.js';
import { CONTROL_CHARACTERS, CONTROL_CHARACTERS_BUT_WHITESPACE } from './strict-input.js';
import { checkOwnerId, isFreeText } from './validators.js';

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return own.concat(flatten(e.children ?? [], field));
  });
}

function problem(property: string, rule: string, message: string): ValidationError {
  return { property, constraints: { [rule]: message }, children: [] };
}

const isPlain = (v: object) => {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** Free-form JSON (metadata): nulls are data there, but no string or key holds a control character other than whitespace. */
function freeFormProblems(value: unknown, field: string, out: ValidationError[]): void {
  if (typeof value === 'string') {
    if (CONTROL_CHARACTERS_BUT_WHITESPACE.test(value))
      out.push(problem(field, 'noControlCharacters', `${field} must not contain control characters`));
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => freeFormProblems(v, `${field}.${i}`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (CONTROL_CHARACTERS.test(k))
        out.push(problem(field, 'noControlCharacters', `${field} must not have keys with control characters`));
      else freeFormProblems(v, `${field}.${k}`, out);
    }
  }
}

function valueProblems(value: unknown, field: string, freeText: boolean, out: ValidationError[]): void {
  if (value === null) out.push(problem(field, 'isNotNull', `${field} must not be null (leave the field out instead)`));
  else if (typeof value === 'string') {
    if ((freeText ? CONTROL_CHARACTERS_BUT_WHITESPACE : CONTROL_CHARACTERS).test(value)) {
      out.push(
        problem(
          field,
          'noControlCharacters',
          freeText
            ? `${field} must not contain control characters other than tab, line feed and carriage return`
            : `${field} must not contain control characters`,
        ),
      );
    }
  } else if (Array.isArray(value)) value.forEach((v, i) => valueProblems(v, `${field}.${i}`, freeText, out));
  else if (typeof value === 'object') {
    if (isPlain(value)) freeFormProblems(value, field, out);
    else dtoProblems(value, `${field}.`, out); // a nested DTO (class-transformer built it)
  }
}

/**
 * Spec section 8 over a DTO as class-transformer built it: `null` is never
 * "absent" (class-validator's @IsOptional would let it through to a service),
 * and a string field holds no control character (free text: tabs and line breaks only).
 */
function dtoProblems(dto: object, prefix: string, out: ValidationError[]): void {
  for (const [key, value] of Object.entries(dto)) {
    if (typeof value === 'function') continue; // the pipe's `constructor` stand-in
    valueProblems(value, `${prefix}${key}`, isFreeText(dto, key), out);
  }
}

/**
 * class-validator looks a DTO's rules up again on every validation: it
 * filters the class's metadata, then tests the class against every other
 * registered class for inherited rules, then groups the result by property.
 * Under the bench that was a quarter of what validating a reservation's body
 * cost (the service has dozens of DTO classes). The rules only change when a
 * decorator registers one, so both lookups are kept per class and option set
 * here, and dropped whenever a rule or a constraint is registered. Same
 * arrays, same order: what is validated does not change.
 */
function cacheRuleLookups(): void {
  type Lookup = (target: object, schema: string, always: boolean, strictGroups: boolean, groups?: string[]) => ValidationMetadata[];
  type Grouping = (metadata: ValidationMetadata[]) => Record<string, ValidationMetadata[]>;
  const storage = getMetadataStorage() as unknown as {
    getTargetValidationMetadatas: Lookup;
    groupByPropertyName: Grouping;
    addValidationMetadata: (m: unknown) => void;
    addConstraintMetadata: (m: unknown) => void;
  };
  const lookup = storage.getTargetValidationMetadatas.bind(storage);
  const grouping = storage.groupByPropertyName.bind(storage);
  let lookups = new Map<object, Map<string, ValidationMetadata[]>>();
  let groupings = new WeakMap<ValidationMetadata[], Record<string, ValidationMetadata[]>>();
  const forget = () => {
    lookups = new Map<object, Map<string, ValidationMetadata[]>>();
    groupings = new WeakMap();
  };
  for (const add of ['addValidationMetadata', 'addConstraintMetadata'] as const) {
    const original = storage[add].bind(storage);
    storage[add] = (m: unknown) => {
      forget();
      original(m);
    };
  }
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    const key = `${schema}\u0000${always}\u0000${strictGroups}\u0000${groups?.join('\u0000') ?? ''}\u0000${groups?.length ?? -1}`;
    let byOptions = lookups.get(target);
    if (!byOptions) lookups.set(target, (byOptions = new Map<string, ValidationMetadata[]>()));
    let found = byOptions.get(key);
    if (!found) byOptions.set(key, (found = lookup(target, schema, always, strictGroups, groups)));
    return found;
  };
  storage.groupByPropertyName = (metadata) => {
    let found = groupings.get(metadata);
    if (!found) groupings.set(metadata, (found = grouping(metadata)));
    return found;
  };
}
cacheRuleLookups();

/** The global pipe: unknown fields are errors, every failure is a 400 validation_error. */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // Every route's :owner_id, present and future, before any lookup.
    if (metadata.type === 'param' && metadata.data === 'owner_id') checkOwnerId(value);
    return super.transform(value, metadata);
  }

  protected override async validate(object: object, options?: ValidatorOptions): Promise<ValidationError[]> {
    const own: ValidationError[] = [];
    dtoProblems(object, '', own);
    const rest = await super.validate(object, options);
    if (!own.length) return rest;
    const top = (property: string) => property.split('.', 1)[0];
    const unknown = new Set(rest.filter((e) => e.constraints?.whitelistValidation).map((e) => e.property));
    const flagged = new Set(own.map((e) => top(e.property)));
    return [
      ...rest.filter((e) => unknown.has(e.property) || !flagged.has(e.property)),
      ...own.filter((e) => !unknown.has(top(e.property))),
    ];
  }
}

export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
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
