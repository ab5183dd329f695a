import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database, ERROR_CODES } from '@app/common';
import { fakePng } from '@app/generation';
import fc from 'fast-check';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { startBillingApp } from '../billing/support.js';
import { call, expectLedgerConsistent, grantTokens, idemKey, TestApp } from '../support/app.js';
import { rawRequest } from '../support/raw-http.js';

/*
 * Spec section 8, "No 500 for any input", as a property over every
 * value-moving route: random bodies (valid ones, valid ones with a field
 * spoiled, garbage), content types, header values (control characters and
 * repeated headers included) and path parameters (percent-encoded NULs too).
 * Every answer is a 2xx JSON or a 4xx problem+json with a known code, and a
 * refused request changes nothing in the ledger.
 */

type Json = unknown;
type Body = Record<string, Json>;

interface Route {
  method: 'POST' | 'PUT';
  path: (param: string) => string;
  /** A good path parameter (a fresh pending hold for settle and release). */
  param: () => Promise<string> | string;
  /** Bodies the route accepts. */
  valid: fc.Arbitrary<Body | undefined>;
  /** Its fields, for spoiling. */
  fields: string[];
}

/** An input image for edits, inline (no URL, so the fuzz makes no outgoing requests). */
const INPUT_PNG = fakePng('fuzz-input').toString('base64');
const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
const owner = fc.constantFrom('fz_a', 'fz_b');
const reason = fc.constantFrom('fuzz', 'ticket 1\nticket 2');
const metadata = fc.option(fc.constant({ k: 'v', n: null }), { nil: undefined });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** Drops the keys whose value is undefined, so that a record's optional fields are left out. */
const defined = (b: Record<string, unknown>): Body => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined));

let t: TestApp;
let generationId: string;
const pendingHold = async () => {
  const r = await call(t, 'POST', '/v1/wallets/fz_a/reservations', { amount: '0.5' }, { idem: idemKey('hold') });
  return String(r.body.id);
};
const meteredHold = async () => {
  const r = await call(
    t,
    'POST',
    '/v1/wallets/fz_a/reservations',
    { variant: 'gpt-4o-mini', estimate: { input_tokens: 1000, output_tokens: 1000 }, max_overage: '0.01' },
    { idem: idemKey('mhold') },
  );
  return String(r.body.id);
};
const llmUsage = fc
  .record({ input_tokens: opt(fc.constantFrom(0, 1, 2500, 1_000_000)), output_tokens: opt(fc.constantFrom(0, 7, 5000)) })
  .map((u) => defined(u));

const ROUTES: Record<string, Route> = {
  putWallet: {
    method: 'PUT',
    path: (p) => `/v1/wallets/${p}`,
    param: () => `fz_${idemKey('w').slice(-6)}`,
    valid: fc.constant(undefined),
    fields: [],
  },
  reserve: {
    method: 'POST',
    path: (p) => `/v1/wallets/${p}/reservations`,
    param: () => 'fz_a',
    valid: fc
      .record({
        base: fc.oneof(
          fc.record({ amount: fc.constantFrom('0.1', '1', 0.5, '0.001') }),
          fc.constant({ variant: 'gpt-image-1-min', quantity: 1 }),
          fc
            .record({ variant: fc.constant('gpt-4o-mini'), estimate: llmUsage, max_overage: opt(fc.constantFrom('0', '1.5', 2)) })
            .map(defined),
          fc.record({ variant: fc.constant('sora-2'), estimate: fc.record({ seconds: fc.constantFrom('0.5', 4.25, '10.000001') }) }),
        ),
        expires_in: opt(fc.constant(60)),
        ref: opt(fc.constant('fuzz')),
        metadata,
      })
      .map(({ base, ...rest }) => defined({ ...base, ...rest })),
    fields: ['amount', 'variant', 'quantity', 'estimate', 'max_overage', 'expires_in', 'ref', 'metadata', 'spender_id'],
  },
  settle: {
    method: 'POST',
    path: (p) => `/v1/reservations/${p}/settle`,
    param: pendingHold,
    valid: fc.oneof(fc.constant(undefined), fc.constant({}), fc.record({ amount: fc.constantFrom('0.1', 0, '0.500') })),
    fields: ['amount', 'usage'],
  },
  settleMetered: {
    method: 'POST',
    path: (p) => `/v1/reservations/${p}/settle`,
    param: meteredHold,
    valid: fc.record({ usage: llmUsage }),
    fields: ['usage', 'amount'],
  },
  release: {
    method: 'POST',
    path: (p) => `/v1/reservations/${p}/release`,
    param: pendingHold,
    valid: fc.constantFrom(undefined, {}),
    fields: ['amount'],
  },
  extend: {
    method: 'POST',
    path: (p) => `/v1/reservations/${p}/extend`,
    param: pendingHold,
    valid: fc.record({ expires_in: fc.constantFrom(60, 3600, 172_800) }),
    fields: ['expires_in'],
  },
  generate: {
    method: 'POST',
    path: () => '/v1/image/generate',
    param: () => '',
    valid: fc
      .record({
        owner_id: owner,
        model: fc.constant('models/openai/gpt-image'),
        prompt: fc.constantFrom('a fox', 'a fox\n\tin snow'),
        variant: opt(fc.constant('gpt-image-1-min')),
        n: opt(fc.constant(2)),
        size: opt(fc.constant('1024x1024')),
        quality: opt(fc.constant('low')),
        seed: opt(fc.constant(7)),
        metadata,
      })
      .map(defined),
    fields: ['owner_id', 'model', 'prompt', 'variant', 'n', 'size', 'quality', 'seed', 'webhook_url', 'metadata', 'spender_id'],
  },
  edit: {
    method: 'POST',
    path: () => '/v1/image/edits',
    param: () => '',
    valid: fc
      .record({
        owner_id: owner,
        model: fc.constant('models/openai/gpt-image'),
        prompt: fc.constantFrom('add a hat', 'add a hat\n\tand a scarf'),
        images: fc.constantFrom([{ b64_json: INPUT_PNG }], [{ b64_json: INPUT_PNG }, { b64_json: `data:image/png;base64,${INPUT_PNG}` }]),
        variant: opt(fc.constant('gpt-image-1')),
        n: opt(fc.constant(2)),
        size: opt(fc.constantFrom('1024x1024', '1536x1024')),
        quality: opt(fc.constantFrom('low', 'high')),
        metadata,
      })
      .map(defined),
    fields: ['owner_id', 'model', 'prompt', 'images', 'variant', 'n', 'size', 'quality', 'webhook_url', 'metadata', 'spender_id'],
  },
  batch: {
    method: 'POST',
    path: () => '/v1/batches',
    param: () => '',
    valid: fc.record({
      owner_id: owner,
      variant: fc.constant('gpt-image-1-min'),
      items: fc.constant([{ prompt: 'a' }, { prompt: 'b', n: 1, seed: 3 }]),
    }),
    fields: ['owner_id', 'variant', 'items', 'webhook_url', 'spender_id'],
  },
  checkout: {
    method: 'POST',
    path: () => '/v1/billing/checkout-sessions',
    param: () => '',
    valid: fc
      .record({
        owner_id: owner,
        item: fc.oneof(fc.constant({ pack_id: 'pack_50' }), fc.constant({ plan_id: 'creator' })),
        success_url: fc.constant('https://example.com/ok'),
        cancel_url: fc.constant('https://example.com/no'),
      })
      .map(({ item, ...rest }) => ({ ...rest, ...item })),
    fields: ['owner_id', 'pack_id', 'plan_id', 'success_url', 'cancel_url'],
  },
  portal: {
    method: 'POST',
    path: () => '/v1/billing/portal-sessions',
    param: () => '',
    valid: fc.record({ owner_id: owner, return_url: fc.constant('https://example.com/back') }),
    fields: ['owner_id', 'return_url'],
  },
  grant: {
    method: 'POST',
    path: (p) => `/v1/admin/wallets/${p}/grants`,
    param: () => 'fz_a',
    valid: fc.record({ amount: fc.constantFrom('1', '0.5'), reason, expires_at: opt(fc.constant(future)) }).map(defined),
    fields: ['amount', 'reason', 'expires_at'],
  },
  adjust: {
    method: 'POST',
    path: (p) => `/v1/admin/wallets/${p}/adjustments`,
    param: () => 'fz_a',
    valid: fc.record({ amount: fc.constantFrom('1', '-0.001'), reason }),
    fields: ['amount', 'reason'],
  },
  freeze: {
    method: 'POST',
    path: (p) => `/v1/admin/wallets/${p}/freeze`,
    param: () => 'fz_b',
    valid: fc.record({ reason }),
    fields: ['reason'],
  },
  unfreeze: {
    method: 'POST',
    path: (p) => `/v1/admin/wallets/${p}/unfreeze`,
    param: () => 'fz_b',
    valid: fc.record({ reason }),
    fields: ['reason'],
  },
  refund: {
    method: 'POST',
    path: (p) => `/v1/admin/generations/${p}/refund`,
    param: () => generationId,
    valid: fc.record({ reason, amount: opt(fc.constant('0.001')) }).map(defined),
    fields: ['reason', 'amount'],
  },
  budget: {
    method: 'PUT',
    path: (p) => `/v1/wallets/fz_b/budgets/${p}`,
    param: () => 'fz-budget',
    valid: fc.oneof(
      fc.record({
        limit: fc.constantFrom('1000', 1000, '999.5'),
        period: fc.constantFrom('day', 'week', 'month', 'total'),
        scope: fc.constant('wallet'),
      }),
      fc.record({
        limit: fc.constant('1000'),
        period: fc.constant('day'),
        scope: fc.constant('spender'),
        subject: fc.constantFrom('ann', 'b.o:b@x'),
      }),
    ),
    fields: ['limit', 'period', 'scope', 'subject'],
  },
  alert: {
    method: 'PUT',
    path: (p) => `/v1/wallets/fz_b/alerts/${p}`,
    param: () => 'fz-alert',
    valid: fc.record({ type: fc.constant('balance_below'), threshold: fc.constantFrom('0', '1.5', 2) }),
    fields: ['type', 'threshold', 'budget', 'percent'],
  },
  price: {
    method: 'PUT',
    path: (p) => `/v1/admin/prices/${p}`,
    param: () => 'gpt-image-1-min',
    valid: fc
      .record({ tokens: fc.constantFrom('3.540', '3.541'), reason, active: opt(fc.constant(true)), effective_at: opt(fc.constant(future)) })
      .map(defined),
    fields: ['tokens', 'reason', 'active', 'effective_at'],
  },
};

const nested = (depth: number): Json => (depth === 0 ? 1 : { a: nested(depth - 1) });
const encode = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return 'lone-surrogate'; // encodeURIComponent throws on a lone surrogate
  }
};

/** Field values that are wrong in every way we could think of (short enough for a query string). */
const shortJunk: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom('', ' ', '0', '-1', '1e3', '1.2345', '999999999999999999999', 'NaN', '2030-W01-1', '2030-02-31T00:00:00Z', 'gen_x'),
  fc.constantFrom('http://127.0.0.1:1/hook', 'javascript:alert(1)', 'https://[::1]/', 'a\u0000b', 'a\u001bb'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary-ascii', maxLength: 12 }), // control characters included
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.integer({ min: 30, max: 36 }).map(nested),
);
/** And in a body, strings over every length limit (a prompt takes 32,000 characters). */
const junk: fc.Arbitrary<Json> = fc.oneof({ weight: 12, arbitrary: shortJunk }, { weight: 1, arbitrary: fc.constant('x'.repeat(33_000)) });

const weirdParam = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 16 }).map(encode),
  fc.string({ unit: 'binary-ascii', maxLength: 16 }).map(encode),
  fc.constantFrom(
    'a%00b',
    '%00',
    '%zz',
    '%E0%A4%A',
    'x%0A',
    'x%7F',
    '%C0%80',
    'a%2Fb',
    '%20',
    'a'.repeat(300),
    'fz_missing',
    'res_0',
    'gen_0',
  ),
  fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,140}$/),
);

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant<string | undefined>('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom<string | undefined>('application/json; charset=utf-8', 'Application/JSON;Charset=UTF-8', undefined),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom<string | undefined>(
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/merge-patch+json',
      'application/json; charset=latin1',
      'application/jsonx',
      '',
    ),
  },
);

/** Any byte but CR and LF (they would end the header line): NUL and other control characters included. */
const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')),
);

type BodyCase = { kind: 'json'; value: Body | undefined; spoiled: boolean } | { kind: 'raw'; text: string };
interface Case {
  route: string;
  /** null: the route's good parameter. */
  param: string | null;
  body: BodyCase;
  type: string | undefined;
  idem: string | null; // null: a fresh key
  auth: 'admin' | 'gateway' | 'none' | 'garbage';
  extra: string | null;
  /** A header sent twice. */
  duplicate: [string, string] | null;
}

function bodyFor(route: Route): fc.Arbitrary<BodyCase> {
  const field = route.fields.length ? fc.constantFrom(...route.fields, 'unknown', '__proto__') : fc.constantFrom('amount', 'unknown');
  const spoil = fc.tuple(route.valid, field, junk).map(([v, k, j]) => {
    const value: Body = { ...(v ?? {}) };
    Object.defineProperty(value, k, { value: j, enumerable: true, writable: true, configurable: true });
    return { kind: 'json' as const, value, spoiled: true };
  });
  return fc.oneof(
    { weight: 6, arbitrary: route.valid.map((value) => ({ kind: 'json' as const, value, spoiled: false })) },
    { weight: 3, arbitrary: spoil },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 30 }),
          fc.bigInt({ min: 0n, max: 10n ** 40n }).map((n) => `{"amount":${n},"tokens":${n},"n":${n},"quantity":${n}}`),
          fc.constantFrom(
            '{"amount":',
            'null',
            '[]',
            '{"__proto__":{"x":1}}',
            '{"amount":"1","amount":null}',
            '\u0000',
            '{"a":1e400}',
            `${'['.repeat(5000)}`,
          ),
        )
        .map((text) => ({ kind: 'raw' as const, text })),
    },
  );
}

const caseArb: fc.Arbitrary<Case> = fc.constantFrom(...Object.keys(ROUTES)).chain((name) =>
  fc.record({
    route: fc.constant(name),
    param: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: weirdParam }),
    body: bodyFor(ROUTES[name]),
    type: contentType,
    idem: fc.oneof(
      { weight: 12, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.oneof(headerValue, fc.constant('k'.repeat(256))) },
    ),
    auth: fc.oneof(
      { weight: 12, arbitrary: fc.constant('admin' as const) },
      { weight: 1, arbitrary: fc.constantFrom('gateway' as const, 'none' as const, 'garbage' as const) },
    ),
    extra: fc.option(headerValue, { freq: 10 }),
    duplicate: fc.option(fc.tuple(fc.constantFrom('content-type', 'idempotency-key', 'authorization', 'x-request-id'), headerValue), {
      freq: 10,
    }),
  }),
);

describe('fuzz: every value-moving route (spec section 8)', () => {
  let stripe: FakeStripe;

  /** What a refused request must leave as it was. */
  const snapshot = async () =>
    (
      await t.app.get(Database).query<Record<string, string>>(
        `SELECT (SELECT count(*) FROM transfers)::text AS transfers,
                (SELECT count(*) FROM entries)::text AS entries,
                (SELECT coalesce(sum(remaining), 0) FROM buckets)::text AS remaining,
                (SELECT string_agg(id || ':' || status || ':' || settled, ',' ORDER BY id) FROM reservations) AS reservations,
                (SELECT string_agg(owner_id || ':' || status || ':' || coalesce(stripe_customer_id, '-'), ',' ORDER BY owner_id) FROM wallets) AS wallets,
                (SELECT count(*) FROM prices)::text AS prices,
                (SELECT count(*) FROM generations)::text AS generations,
                (SELECT count(*) FROM batches)::text AS batches,
                (SELECT count(*) FROM audit_log)::text AS audit,
                (SELECT count(*) FROM idempotency_keys)::text AS idempotency_keys,
                (SELECT string_agg(name || ':' || limit_mt || ':' || period, ',' ORDER BY name) FROM budgets) AS budgets,
                (SELECT string_agg(name || ':' || type || ':' || coalesce(threshold::text, '-'), ',' ORDER BY name) FROM alerts) AS alerts,
                (SELECT count(*) FROM events)::text AS events`,
      )
    )[0];

  beforeAll(async () => {
    ({ t, stripe } = await startBillingApp());
    for (const o of ['fz_a', 'fz_b']) expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
    await grantTokens(t, 'fz_a', 1_000_000_000n);
    await grantTokens(t, 'fz_b', 1_000_000_000n);
    const g = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'fz_a', model: 'models/openai/gpt-image', prompt: 'p' },
      { idem: idemKey() },
    );
    expect(g.status).toBe(202);
    generationId = g.body.id;
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
    await stripe.close();
  });

  it('answers every request 2xx or 4xx problem+json, and a refused one changes nothing', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const route = ROUTES[c.route];
        const path = route.path(c.param ?? (await route.param()));
        const headers: [string, string][] = [];
        if (c.auth === 'admin') headers.push(['Authorization', `Bearer ${t.adminKey}`]);
        if (c.auth === 'gateway') headers.push(['Authorization', `Bearer ${t.gatewayKey}`]);
        if (c.auth === 'garbage') headers.push(['Authorization', `Bearer ${'x'.repeat(20)}`]);
        headers.push(['Idempotency-Key', c.idem ?? idemKey('fz')]);
        if (c.type !== undefined) headers.push(['Content-Type', c.type]);
        if (c.extra !== null) headers.push(['X-Fuzz', c.extra]);
        if (c.duplicate !== null) headers.push(c.duplicate);
        const body = c.body.kind === 'raw' ? c.body.text : c.body.value === undefined ? undefined : JSON.stringify(c.body.value);

        const before = await snapshot();
        const res = await rawRequest(t.baseUrl, route.method, path, headers, body);
        const type = res.headers['content-type'] ?? '';
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        const what = `${route.method} ${path} [${headers.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')}] ${body?.slice(0, 300) ?? '(no body)'} -> ${res.status} ${res.text.slice(0, 300)}`;

        if (res.status < 200 || (res.status >= 300 && res.status < 400) || res.status >= 500) throw new Error(what);
        if (res.status >= 400) {
          if (!type.startsWith('application/problem+json')) throw new Error(`not problem+json: ${what}`);
          const code = (JSON.parse(res.text) as { code?: string }).code;
          const known = code ? (ERROR_CODES as Record<string, { status: number }>)[code] : undefined;
          if (known?.status !== res.status) throw new Error(`code ${code} for status ${res.status}: ${what}`);
          expect([what, await snapshot()]).toEqual([what, before]);
        } else {
          if (!type.startsWith('application/json')) throw new Error(`2xx not JSON: ${what}`);
          // A 2xx never came from a body that should have been refused.
          if (body && (c.type === undefined || !JSON_TYPE.test(c.type) || /latin1/i.test(c.type)))
            throw new Error(`2xx for a ${c.type} body: ${what}`);
          const value = c.body.kind === 'json' ? c.body.value : undefined;
          if (value && Object.values(value).some((v) => v === null)) throw new Error(`2xx with a null field: ${what}`);
        }
        // A body of another type is a 415, unless the path or a header was refused first.
        const clean = c.param === null && c.extra === null && c.duplicate === null && c.idem === null;
        if (clean && body && c.type !== undefined && !JSON_TYPE.test(c.type) && res.status !== 415)
          throw new Error(`expected 415: ${what}`);
      }),
      { numRuns: 300 },
    );
    // The run reached the handlers and the front door alike.
    expect([...seen.entries()].filter(([s]) => s < 300).reduce((n, [, k]) => n + k, 0)).toBeGreaterThan(30);
    console.log([...seen.entries()].sort());
    expect(seen.get(415)).toBeGreaterThan(0);
    const verify = await call(t, 'GET', '/v1/admin/ledger/verify', undefined, { key: t.adminKey });
    expect([verify.status, verify.body.ok]).toEqual([200, true]);
  });

  it('answers list queries with garbage parameters 200 or 400, never 500', async () => {
    const query = fc
      .dictionary(
        fc.constantFrom('limit', 'cursor', 'from', 'to', 'action', 'actor', 'target_id', 'x', 'after', 'types', 'spender_id', 'api_key_id'),
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.string({ unit: 'binary-ascii', maxLength: 8 }),
          fc.integer().map(String),
          shortJunk.map((v) => JSON.stringify(v) ?? ''),
        ),
        { maxKeys: 3 },
      )
      .map((q) => new URLSearchParams(q).toString());
    const path = fc.constantFrom(
      '/v1/wallets/fz_a/transactions',
      '/v1/admin/audit-log',
      '/v1/admin/wallets/fz_a/generations',
      '/v1/admin/reports/summary',
      '/v1/admin/reports/daily',
      '/v1/wallets/fz_a/statement.csv',
      '/v1/events',
      '/v1/wallets/fz_a/budgets',
      '/v1/wallets/fz_a/alerts',
    );
    await fc.assert(
      fc.asyncProperty(path, query, async (p, q) => {
        const res = await call(t, 'GET', `${p}?${q}`, undefined, { key: t.adminKey });
        if (![200, 400].includes(res.status)) throw new Error(`GET ${p}?${q} -> ${res.status} ${res.text.slice(0, 300)}`);
        if (res.status === 400) expect(res.body.code).toBe('validation_error');
      }),
      { numRuns: 150 },
    );
  });
});
