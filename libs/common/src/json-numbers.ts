/**
 * JSON.parse turns `1e3` into 1000, after which no one can tell it was written
 * with an exponent. Spec section 2 refuses exponents in amounts, so the body
 * parser scans the raw text for number tokens that use one.
 */
export function findExponentNumber(text: string): string | null {
  for (const token of numberTokens(text)) if (/[eE]/.test(token)) return token;
  return null;
}

/** The number tokens of JSON text, in order: every run of number characters outside a string. */
function* numberTokens(text: string): Generator<string> {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < text.length && /[0-9.eE+-]/.test(text[j])) j++;
      yield text.slice(i, j);
      i = j - 1;
    }
  }
}

/** The refusal's wording, for a validation_error. */
export function exponentMessage(token: string): string {
  return `numbers must not use an exponent (found ${token.slice(0, 32)}); send amounts as decimal strings`;
}

/** A decimal's digits as written, without a sign's zero or padding zeros: "007.500" -> "7.5", "-0.0" -> "0". */
function canonicalDecimal(token: string): string {
  const negative = token.startsWith('-');
  const [int, frac = ''] = (negative ? token.slice(1) : token).split('.');
  const i = int.replace(/^0+(?=\d)/, '');
  const f = frac.replace(/0+$/, '');
  const digits = f ? `${i}.${f}` : i;
  return negative && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

/** A double as a plain decimal (String() writes 1e-7 and 1e+21 with an exponent). */
function plainDecimal(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, lead, rest = '', exp] = m;
  const digits = lead + rest;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * JSON.parse keeps a number as a double: `0.00099999999999999999` becomes
 * 0.001 and `12345678901234567890` becomes 12345678901234567000, after which
 * an amount "with at most three decimals" passes a check it failed as sent.
 * Spec section 8: a value is read as sent or refused, so the body parser
 * scans the raw text for a number token (no exponent) whose digits do not
 * survive parsing. Up to 15 significant digits always do (the shortest
 * round trip of a double), so only longer tokens are parsed again.
 */
export function findInexactNumber(text: string): string | null {
  if (!/[0-9][0-9.]{15}/.test(text)) return null;
  for (const token of numberTokens(text)) {
    if (/^-?\d+(\.\d+)?$/.test(token) && token.replace(/[-.]/g, '').replace(/^0+/, '').length > 15) {
      if (canonicalDecimal(token) !== canonicalDecimal(plainDecimal(Number(token)))) return token;
    }
  }
  return null;
}

/** The refusal's wording, for a validation_error. */
export function inexactMessage(token: string): string {
  return `numbers must be exactly representable as sent (found ${token.slice(0, 40)}, which would be read as ${plainDecimal(Number(token)).slice(0, 40)}); send amounts as decimal strings`;
}
