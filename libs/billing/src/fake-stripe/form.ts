/**
 * Stripe's v1 API takes application/x-www-form-urlencoded bodies (and query
 * strings) with bracket keys: `metadata[owner_id]=x`, `line_items[0][price]=p`,
 * `expand[0]=data.product`, `created[gte]=123`. This parses them into nested
 * records without pulling in `qs` (only a transitive dependency here).
 *
 * Arrays stay records keyed '0', '1', …: `list()` reads them in index order, so
 * `metadata[0]=x` is never mistaken for an array.
 */
export type FormValue = string | FormRecord;
export interface FormRecord {
  [key: string]: FormValue;
}

/** A Stripe-shaped API error: rendered as `{ error: { type, message, param?, code? } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param?: string,
    readonly code?: string,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

/**
 * A card error (HTTP 402, `type: 'card_error'`): the request was executed (the PaymentIntent exists, failed),
 * so its answer is kept under the Idempotency-Key and replayed, as Stripe does. `fields` go into the error body
 * beside type/message/code: decline_code, doc_url, payment_intent, payment_method, charge.
 */
export class CardError extends ApiError {
  readonly executed = true;
  constructor(
    message: string,
    code: string,
    readonly fields: Record<string, unknown>,
    param?: string,
  ) {
    super(402, message, param, code, 'card_error');
  }
}

const record = (): FormRecord => Object.create(null) as FormRecord;

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new ApiError(400, `Invalid form encoding: ${s.slice(0, 60)}`);
  }
}

export function parseForm(body: string): FormRecord {
  const root = record();
  for (const pair of body.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!m) throw new ApiError(400, `Invalid parameter name: ${key}`, key);
    const path = [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((g) => g[1])];
    let node = root;
    for (let i = 0; i < path.length - 1; i++) {
      const next = node[path[i]] ?? record();
      if (typeof next === 'string') throw new ApiError(400, `Invalid parameter: ${key} mixes a value and a hash`, path[0]);
      node[path[i]] = next;
      node = next;
    }
    // `a[]=x` appends, as Rack and Stripe read it.
    const last = path[path.length - 1] === '' ? String(Object.keys(node).length) : path[path.length - 1];
    node[last] = value;
  }
  return root;
}

/** Rejects parameters the endpoint does not know, as Stripe does ("Received unknown parameter"). */
export function allowOnly(form: FormRecord, allowed: readonly string[], prefix = ''): void {
  for (const k of Object.keys(form)) {
    if (k !== 'expand' && !allowed.includes(k)) {
      const name = prefix ? `${prefix}[${k}]` : k;
      throw new ApiError(400, `Received unknown parameter: ${name} (not implemented by the fake Stripe)`, name);
    }
  }
}

export function str(form: FormRecord, key: string, opts: { required: true; prefix?: string }): string;
export function str(form: FormRecord, key: string, opts?: { required?: boolean; prefix?: string }): string | undefined;
export function str(form: FormRecord, key: string, opts: { required?: boolean; prefix?: string } = {}): string | undefined {
  const name = opts.prefix ? `${opts.prefix}[${key}]` : key;
  const v = form[key];
  if (v === undefined || v === '') {
    if (opts.required) throw new ApiError(400, `Missing required param: ${name}.`, name);
    return undefined;
  }
  if (typeof v !== 'string') throw new ApiError(400, `Invalid string: ${name} must be a string, not a hash`, name);
  return v;
}

export function int(form: FormRecord, key: string, opts: { required?: boolean; min?: number; max?: number; prefix?: string } = {}) {
  const s = str(form, key, opts);
  if (s === undefined) return undefined;
  const name = opts.prefix ? `${opts.prefix}[${key}]` : key;
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(n)) throw new ApiError(400, `Invalid integer: ${s}`, name);
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    throw new ApiError(400, `Invalid ${name}: must be between ${opts.min ?? '-∞'} and ${opts.max ?? '∞'}`, name);
  }
  return n;
}

export function bool(form: FormRecord, key: string): boolean | undefined {
  const s = str(form, key);
  if (s === undefined) return undefined;
  if (s !== 'true' && s !== 'false') throw new ApiError(400, `Invalid boolean: ${s}`, key);
  return s === 'true';
}

export function hash(form: FormRecord, key: string): FormRecord | undefined {
  const v = form[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'string') throw new ApiError(400, `Invalid ${key}: must be a hash`, key);
  return v;
}

/** An array parameter (`k[0]=a&k[1]=b`), in index order. */
export function list(form: FormRecord, key: string): FormValue[] {
  const v = hash(form, key);
  if (!v) return [];
  const keys = Object.keys(v);
  if (keys.some((k) => !/^\d+$/.test(k))) throw new ApiError(400, `Invalid array: ${key}`, key);
  return keys.sort((a, b) => Number(a) - Number(b)).map((k) => v[k]);
}

export function strList(form: FormRecord, key: string): string[] {
  return list(form, key).map((v) => {
    if (typeof v !== 'string') throw new ApiError(400, `Invalid array: ${key} must hold strings`, key);
    return v;
  });
}

/**
 * Metadata as Stripe validates it (50 keys, keys up to 40 chars, values up to
 * 500). An empty value unsets the key on update, so it is left out here.
 */
export function metadata(form: FormRecord, key = 'metadata', base: Record<string, string> = {}): Record<string, string> {
  const v = hash(form, key);
  const out = { ...base };
  if (!v) return out;
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw new ApiError(400, `Invalid ${key}[${k}]: nested metadata is not allowed`, `${key}[${k}]`);
    if (k.length > 40) throw new ApiError(400, `Metadata keys can be at most 40 characters: ${k}`, `${key}[${k}]`);
    if (value.length > 500) throw new ApiError(400, `Metadata values can be at most 500 characters`, `${key}[${k}]`);
    if (value === '') delete out[k];
    else out[k] = value;
  }
  if (Object.keys(out).length > 50) throw new ApiError(400, 'Metadata can have at most 50 keys', key);
  return out;
}
