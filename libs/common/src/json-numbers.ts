/**
 * JSON.parse turns `1e3` into 1000, after which no one can tell it was written
 * with an exponent. Spec section 2 refuses exponents in amounts, so the body
 * parser scans the raw text for number tokens that use one.
 */
export function findExponentNumber(text: string): string | null {
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
      const token = text.slice(i, j);
      if (/[eE]/.test(token)) return token;
      i = j - 1;
    }
  }
  return null;
}

/** The refusal's wording, for a validation_error. */
export function exponentMessage(token: string): string {
  return `numbers must not use an exponent (found ${token.slice(0, 32)}); send amounts as decimal strings`;
}
