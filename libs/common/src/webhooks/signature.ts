import { createHmac, timingSafeEqual } from 'node:crypto';

/** The name of the header that carries {@link signPayload}'s value. */
export const SIGNATURE_HEADER = 'Webhook-Signature';

function hmacHex(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
}

/**
 * The Webhook-Signature value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * The timestamp is inside the MAC so a captured delivery cannot be replayed later with a fresh `t`.
 */
export function signPayload(secret: string, timestampSeconds: number, body: string): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) throw new RangeError('timestamp must be whole unix seconds');
  return `t=${timestampSeconds},v1=${hmacHex(secret, timestampSeconds, body)}`;
}

/**
 * Checks a Webhook-Signature header against the raw body, as a receiver would.
 * Several `v1` entries are accepted (any one matching), so a sender can sign
 * with an old and a new secret while a rotation is under way.
 */
export function verifySignature(
  secret: string,
  header: string | undefined | null,
  body: string,
  toleranceS = 300,
  now = Date.now(),
): boolean {
  if (!header || header.length > 4096) return false;
  let t: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^[0-9]{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (t === undefined || candidates.length === 0) return false;
  if (Math.abs(now / 1000 - t) > toleranceS) return false;
  const expected = Buffer.from(hmacHex(secret, t, body), 'hex');
  // Every candidate is compared, so the time taken does not reveal which one matched.
  let ok = false;
  for (const c of candidates) ok = timingSafeEqual(expected, Buffer.from(c, 'hex')) || ok;
  return ok;
}
