import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { signPayload, verifySignature } from './signature.js';

const SECRET = 'whsec_test_secret_123';
const BODY = '{"id":"evt_1","type":"generation.succeeded","created_at":"2025-01-01T00:00:00.000Z","data":{"x":1}}';
const T = 1_700_000_000;
const NOW = T * 1000;

describe('webhook signature', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 in the documented format', () => {
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
    expect(signPayload(SECRET, T, BODY)).toBe(`t=${T},v1=${expected}`);
  });

  it('verifies its own signature', () => {
    expect(verifySignature(SECRET, signPayload(SECRET, T, BODY), BODY, 300, NOW)).toBe(true);
  });

  it('rejects a changed body, another secret, or a bad header', () => {
    const h = signPayload(SECRET, T, BODY);
    expect(verifySignature(SECRET, h, BODY + ' ', 300, NOW)).toBe(false);
    expect(verifySignature('whsec_other_secret_1', h, BODY, 300, NOW)).toBe(false);
    for (const bad of [
      undefined,
      null,
      '',
      'garbage',
      `t=${T}`,
      `v1=${'0'.repeat(64)}`,
      `t=abc,v1=${'0'.repeat(64)}`,
      h.replace(/.$/, 'g'),
    ]) {
      expect(verifySignature(SECRET, bad, BODY, 300, NOW)).toBe(false);
    }
  });

  it('rejects a timestamp outside the tolerance, either way', () => {
    const h = signPayload(SECRET, T, BODY);
    expect(verifySignature(SECRET, h, BODY, 300, NOW + 300_000)).toBe(true);
    expect(verifySignature(SECRET, h, BODY, 300, NOW + 301_000)).toBe(false);
    expect(verifySignature(SECRET, h, BODY, 300, NOW - 301_000)).toBe(false);
  });

  it('rejects a replay that swaps in a fresh timestamp', () => {
    const v1 = signPayload(SECRET, T, BODY).split(',')[1];
    expect(verifySignature(SECRET, `t=${T + 1000},${v1}`, BODY, 300, NOW + 1_000_000)).toBe(false);
  });

  it('accepts any matching v1 entry, for secret rotation', () => {
    const oldSig = signPayload('whsec_old_secret_000', T, BODY).split(',')[1];
    const newSig = signPayload(SECRET, T, BODY);
    expect(verifySignature(SECRET, `${newSig},${oldSig}`, BODY, 300, NOW)).toBe(true);
    expect(verifySignature('whsec_old_secret_000', `${newSig},${oldSig}`, BODY, 300, NOW)).toBe(true);
  });

  it('refuses a timestamp that is not whole unix seconds', () => {
    expect(() => signPayload(SECRET, 1.5, BODY)).toThrow(RangeError);
    expect(() => signPayload(SECRET, -1, BODY)).toThrow(RangeError);
  });
});
