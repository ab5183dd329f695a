/** No single wait between webhook attempts is longer than this, so a receiver that comes back is reached within the hour. */
export const MAX_BACKOFF_MS = 3_600_000;

/** Each wait is shortened by up to this fraction, so receivers recovering from an outage are not hit in lockstep. */
export const BACKOFF_JITTER = 0.2;

/** The wait before retry number `retry` (1 = after the first failure): doubling from `baseMs`, capped, jittered down. */
export function backoffDelay(retry: number, baseMs: number, random: number = Math.random()): number {
  const full = Math.min(baseMs * 2 ** Math.min(Math.max(retry - 1, 0), 40), MAX_BACKOFF_MS);
  return Math.max(1, Math.floor(full * (1 - BACKOFF_JITTER * random)));
}
