import { describe, expect, it } from '@jest/globals';
import { fingerprintOf } from './idempotency.service.js';
import { requestPath } from './request-path.js';

/*
 * The idempotency fingerprint hashes `METHOD path\nbody`. Under Express the
 * path was `req.path`; under Fastify it is requestPath(req.url). These pin
 * both, so that a retry sent across the deploy still replays its stored
 * response instead of being a 409 idempotency_key_reused.
 */
describe('requestPath (Express req.path, byte for byte)', () => {
  it.each([
    ['/v1/wallets/user_1/reservations', '/v1/wallets/user_1/reservations'],
    ['/v1/wallets/user_1/transactions?limit=5&cursor=abc', '/v1/wallets/user_1/transactions'],
    // Percent-encoding stays as sent: no decoding, no case change of the escapes.
    ['/v1/wallets/org%3Aacme%40x/reservations', '/v1/wallets/org%3Aacme%40x/reservations'],
    ['/v1/wallets/org%3aacme/reservations?x=%3A', '/v1/wallets/org%3aacme/reservations'],
    // Nor any normalisation of case, slashes or dot segments.
    ['/V1/Reservations/res_1/settle/', '/V1/Reservations/res_1/settle/'],
    ['/v1//wallets/./a/../b', '/v1//wallets/./a/../b'],
    ['/v1/prices?a=1?b=2', '/v1/prices'],
    ['/', '/'],
    // What parseurl leaves to Node's legacy URL parser.
    ['/v1/prices#frag', '/v1/prices'],
    ['/v1/prices?q=1#frag', '/v1/prices'],
    ['http://example.com/v1/prices?q=1', '/v1/prices'],
  ])('%s -> %s', (url, path) => {
    expect(requestPath(url)).toBe(path);
  });
});

describe('fingerprintOf (unchanged by the switch to Fastify)', () => {
  it('hashes the method, the path without its query and the canonical body', () => {
    expect(fingerprintOf('POST', requestPath('/v1/wallets/user_1/reservations'), { amount: '0.010', metadata: { b: 1, a: null } })).toBe(
      '15044719be22180922c2b6a6da3591ff51d1ca28dbc2963e74b3f94d20451903',
    );
    expect(fingerprintOf('POST', requestPath('/v1/wallets/org%3Aacme%40x/reservations?trace=1'), { amount: '1' })).toBe(
      '0493a8602142725d45befaeb052157b8a446708b28b8b5d9a8c5f2cf436417b2',
    );
  });

  it('tells no body (null) from an empty JSON object, as Express did', () => {
    expect(fingerprintOf('POST', requestPath('/v1/reservations/res_1/settle'), undefined)).toBe(
      '9e639fd431038d91fcbc00038832d276f66dbda78ee2ee5009f4cf945229cd83',
    );
    expect(fingerprintOf('POST', requestPath('/v1/reservations/res_1/settle'), {})).toBe(
      '805961b7ba403039466eebb6962070bf716bb51f3ff4fbb1c367ec6f8d32bee3',
    );
  });
});
