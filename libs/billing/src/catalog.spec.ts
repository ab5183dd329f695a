import { describe, expect, it } from '@jest/globals';
import { catalogView, DEFAULT_CATALOG, lookupKey, parseCatalog, usdPerToken } from './catalog.js';

describe('catalog', () => {
  it('prices the spec defaults per token', () => {
    const v = catalogView(DEFAULT_CATALOG);
    expect(v.packs.map((p) => [p.id, p.tokens, p.usd, p.usd_per_token])).toEqual([
      ['pack_50', '50.000', '5.000', '0.100'],
      ['pack_200', '200.000', '20.000', '0.100'],
      ['pack_1000', '1000.000', '100.000', '0.100'],
    ]);
    expect(v.plans.map((p) => [p.id, p.usd, p.usd_per_token, p.interval])).toEqual([
      ['creator', '19.000', '0.076', 'month'],
      ['studio', '99.000', '0.066', 'month'],
    ]);
  });

  it('rounds a non-exact dollar per token half up', () => {
    expect(usdPerToken({ id: 'x', tokens: 3, usd_cents: 100 })).toBe('0.3333');
    expect(usdPerToken({ id: 'x', tokens: 6, usd_cents: 100 })).toBe('0.1667');
  });

  it('parses an override and refuses bad ones', () => {
    expect(parseCatalog('{"packs":[{"id":"p10","tokens":10,"usd_cents":100}],"plans":[]}').packs[0].id).toBe('p10');
    expect(() => parseCatalog('{"packs":[{"id":"P 1","tokens":10,"usd_cents":100}]}')).toThrow(/id/);
    expect(() => parseCatalog('{"packs":[{"id":"p","tokens":0,"usd_cents":100}]}')).toThrow(/tokens/);
    expect(() => parseCatalog('{"packs":[{"id":"p","tokens":1,"usd_cents":10}]}')).toThrow(/usd_cents/);
    expect(() => parseCatalog('{"packs":[{"id":"p","tokens":1,"usd_cents":100}],"plans":[{"id":"p","tokens":1,"usd_cents":100}]}')).toThrow(
      /unique/,
    );
  });

  it('gives each price a lookup key that changes with its amount', () => {
    expect(lookupKey('pack', DEFAULT_CATALOG.packs[0])).toBe('tw_pack_pack_50_500');
    expect(lookupKey('plan', DEFAULT_CATALOG.plans[0])).toBe('tw_plan_creator_1900');
  });
});
