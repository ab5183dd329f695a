/**
 * Money at the HTTP edge. The ledger stores integer millitokens (1 token =
 * 1000 mt, 1 US cent = 100 mt) as bigint; this is the one place that turns
 * the API's decimal strings into millitokens and back.
 */
export const MT_PER_TOKEN = 1000n;
/** 1 token = $0.10, so 1 mt = $0.0001. */
export const MT_PER_USD = 10_000n;
/** The largest amount the API accepts: one billion tokens ($100M). */
export const MAX_TOKENS_MT = 1_000_000_000n * MT_PER_TOKEN;

const DECIMAL = /^(-)?(0|[1-9][0-9]*)(?:\.([0-9]{1,3}))?$/;

export class MoneyFormatError extends Error {}

export interface ParseOptions {
  /** Accept negative amounts (signed adjustments). */
  signed?: boolean;
  /** Accept zero. */
  allowZero?: boolean;
}

/**
 * Parses a token amount given as a decimal string or a JSON number.
 * Rejects exponents, more than 3 decimals, NaN/Infinity, leading zeros,
 * signs other than a leading minus, and amounts over {@link MAX_TOKENS_MT}.
 */
export function parseTokens(input: unknown, opts: ParseOptions = {}): bigint {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new MoneyFormatError('must be a finite number');
    // String() gives the shortest round-trip form: 3.54 -> "3.54", 1e21 -> "1e+21",
    // 0.1 + 0.2 -> "0.30000000000000004" (rejected below for its precision).
    text = String(input);
  } else {
    throw new MoneyFormatError('must be a decimal string or a number of tokens');
  }
  const m = DECIMAL.exec(text);
  if (!m) {
    if (/[eE]/.test(text)) throw new MoneyFormatError('must not use an exponent');
    if (/\.[0-9]{4,}$/.test(text)) throw new MoneyFormatError('must have at most 3 decimal places');
    throw new MoneyFormatError('must be a decimal number of tokens with at most 3 decimal places');
  }
  const [, minus, whole, frac = ''] = m;
  let mt = BigInt(whole) * MT_PER_TOKEN + BigInt(frac.padEnd(3, '0'));
  if (minus) mt = -mt;
  if (mt < 0n && !opts.signed) throw new MoneyFormatError('must not be negative');
  if (mt === 0n && !opts.allowZero) throw new MoneyFormatError('must be greater than zero');
  if (mt > MAX_TOKENS_MT || mt < -MAX_TOKENS_MT) throw new MoneyFormatError('is out of range');
  return mt;
}

/** The parse result or the reason it failed, for validators. */
export function checkTokens(input: unknown, opts: ParseOptions = {}): string | null {
  try {
    parseTokens(input, opts);
    return null;
  } catch (e) {
    if (e instanceof MoneyFormatError) return e.message;
    throw e;
  }
}

function fixed(value: bigint, scale: bigint, digits: number): string {
  const neg = value < 0n;
  const abs = neg ? -value : value;
  const whole = abs / scale;
  const frac = (abs % scale).toString().padStart(digits, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

/** Millitokens as a token string with exactly 3 decimals: 3540n -> "3.540". */
export function formatTokens(mt: bigint): string {
  return fixed(mt, MT_PER_TOKEN, 3);
}

/**
 * Millitokens as US dollars: 3540n -> "0.354". Dollars carry 4 decimals of
 * precision (1 mt = $0.0001); the fourth is written only when it is not zero.
 */
export function formatUsd(mt: bigint): string {
  const s = fixed(mt, MT_PER_USD, 4);
  return s.endsWith('0') ? s.slice(0, -1) : s;
}

/** Cents (Stripe's unit) to millitokens at the fixed 1 token = 10 cents rate. */
export function centsToMt(cents: bigint): bigint {
  return cents * 100n;
}
