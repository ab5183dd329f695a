import { describe, expect, it } from '@jest/globals';
import { IsInt, IsOptional, IsString, MaxLength } from 'class-validator';
import { DomainError } from './errors.js';
import { createValidationPipe } from './validation.js';

class Parent {
  @IsString()
  @MaxLength(5)
  name!: string;
}

class Child extends Parent {
  @IsOptional()
  @IsInt()
  count?: number;
}

/** The field errors of a rejected body, or 'ok' for an accepted one. */
async function verdict(metatype: new () => object, body: Record<string, unknown>): Promise<unknown> {
  try {
    await createValidationPipe().transform(body, { type: 'body', metatype });
    return 'ok';
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    return [...new Set((e.errors ?? []).map((f) => f.field))].sort();
  }
}

/**
 * The pipe keeps class-validator's rule lookups per class (validation.ts,
 * cacheRuleLookups): the same verdicts on every call, inherited rules
 * included, and a rule registered after the first validation counts from the
 * next one on.
 */
describe('the validation pipe with its rule lookups kept', () => {
  it('gives the same verdicts on repeated calls, own and inherited rules alike', async () => {
    for (let round = 0; round < 3; round++) {
      expect(await verdict(Child, { name: 'abc', count: 2 })).toBe('ok');
      expect(await verdict(Child, { name: 'abcdef' })).toEqual(['name']);
      expect(await verdict(Child, { name: 'abc', count: 'x' })).toEqual(['count']);
      expect(await verdict(Child, { name: 'abc', other: 1 })).toEqual(['other']);
      expect(await verdict(Parent, { name: 'abc', count: 2 })).toEqual(['count']);
    }
  });

  it('applies a rule registered after the first validation, on the class and on the classes that inherit it', async () => {
    class Later {
      @IsString()
      name!: string;
      tag?: string;
    }
    class LaterChild extends Later {}
    expect(await verdict(Later, { name: 'a' })).toBe('ok');
    expect(await verdict(LaterChild, { name: 'a' })).toBe('ok');
    expect(await verdict(Later, { name: 'a', tag: 'b' })).toEqual(['tag']);

    IsOptional()(Later.prototype, 'tag');
    MaxLength(2)(Later.prototype, 'tag');
    expect(await verdict(Later, { name: 'a', tag: 'b' })).toBe('ok');
    expect(await verdict(Later, { name: 'a', tag: 'bcd' })).toEqual(['tag']);
    expect(await verdict(LaterChild, { name: 'a', tag: 'bcd' })).toEqual(['tag']);
  });
});
