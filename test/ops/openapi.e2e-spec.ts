import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { call, expectLedgerConsistent, startApp, TestApp } from '../support/app.js';

const ROOT = new URL('../../', import.meta.url);
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Every value-moving route: its handler takes the Idempotency-Key (README, "The API at a glance"). */
const VALUE_MOVING = [
  'post /v1/wallets/{owner_id}/reservations',
  'post /v1/reservations/{id}/settle',
  'post /v1/reservations/{id}/release',
  'post /v1/reservations/{id}/extend',
  'post /v1/image/generate',
  'post /v1/image/edits',
  'post /v1/batches',
  'post /v1/admin/wallets/{owner_id}/grants',
  'post /v1/admin/wallets/{owner_id}/adjustments',
  'post /v1/admin/wallets/{owner_id}/freeze',
  'post /v1/admin/wallets/{owner_id}/unfreeze',
  'post /v1/admin/generations/{id}/refund',
  'put /v1/admin/prices/{variant}',
];

function operations(doc: any): { key: string; method: string; path: string; op: any }[] {
  return Object.entries(doc.paths as Record<string, any>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ key: `${method} ${path}`, method, path, op: item[method] })),
  );
}

const idempotencyHeader = (op: any) => (op.parameters ?? []).find((p: any) => p.in === 'header' && p.name === 'Idempotency-Key');

/** Every `code` the source throws: Errors.notFound('x', ...) and friends, new DomainError(status, 'x', ...). */
async function thrownCodes(): Promise<Set<string>> {
  const codes = new Set<string>();
  const walk = async (dir: URL): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) {
        const text = await readFile(new URL(e.name, dir), 'utf8');
        for (const m of text.matchAll(/Errors\.(?:notFound|conflict|unprocessable|unavailable)\(\s*'([a-z_]+)'/g)) codes.add(m[1]);
        for (const m of text.matchAll(/new DomainError\(\s*\d+,\s*'([a-z_]+)'/g)) codes.add(m[1]);
        for (const m of text.matchAll(/\b(\d{3}): '([a-z_]+)'/g)) codes.add(m[2]); // the filter's status -> code table
      }
    }
  };
  await walk(new URL('libs/', ROOT));
  return codes;
}

describe('OpenAPI document (GET /docs)', () => {
  let t: TestApp;
  let doc: any;
  beforeAll(async () => {
    t = await startApp();
    const res = await call(t, 'GET', '/docs-json', undefined, { key: null });
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('serves the JSON without an API key, with bearer auth and the API description', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toMatchObject({ title: 'token-wallet' });
    expect(doc.info.description).toContain('1 token = $0.10');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('serves Swagger UI at /docs without an API key', async () => {
    const res = await call(t, 'GET', '/docs', undefined, { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.text).toContain('swagger');
    // The page's own scripts load too (the UI is usable, not just its HTML), also without a key.
    const page = await fetch(`${t.baseUrl}/docs`);
    const scripts = [...(await page.text()).matchAll(/<script src="([^"]+)"/g)].map((m) => new URL(m[1], page.url).href);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      const js = await fetch(src);
      expect([src, js.status, js.headers.get('content-type')]).toEqual([src, 200, expect.stringContaining('javascript')]);
      await js.arrayBuffer();
    }
  });

  it('documents the reservation route from CreateReservationDto, every property described', () => {
    const post = doc.paths['/v1/wallets/{owner_id}/reservations']?.post;
    expect(post).toBeDefined();
    expect(post.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/CreateReservationDto');
    const schema = doc.components.schemas.CreateReservationDto;
    expect(Object.keys(schema.properties).sort()).toEqual([
      'amount',
      'estimate',
      'expires_in',
      'max_overage',
      'metadata',
      'quantity',
      'ref',
      'spender_id',
      'variant',
    ]);
    // A metered estimate is a Usage: tokens as integers, seconds and quantity as decimal strings.
    const usage = doc.components.schemas.UsageDto;
    expect(Object.keys(usage.properties).sort()).toEqual(['input_tokens', 'output_tokens', 'quantity', 'seconds']);
    for (const [name, p] of Object.entries<any>(schema.properties))
      expect([name, typeof p.description, p.description.length > 0]).toEqual([name, 'string', true]);
    // Token amounts are strings in the document, and say that a number is accepted too.
    expect(schema.properties.amount).toMatchObject({ type: 'string' });
    expect(schema.properties.amount.description).toMatch(/JSON number/);
    expect(post.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(post.responses).sort().join(' ')).toBe('201 400 401 402 404 409 413 415 422 423 429 503');
    expect(post.responses['415'].description).toContain('unsupported_media_type');
    expect(post.responses['402'].description).toContain('insufficient_funds');
    expect(post.responses['423'].description).toContain('wallet_frozen');
    // Each error status is a Problem whose code is narrowed to what this route can answer with it.
    const conflict = post.responses['409'].content['application/problem+json'].schema;
    expect(conflict.allOf).toEqual([{ $ref: '#/components/schemas/Problem' }]);
    expect([...conflict.properties.code.enum].sort()).toEqual(['idempotency_key_in_flight', 'idempotency_key_reused']);
    expect([...post.responses['402'].content['application/problem+json'].schema.properties.code.enum].sort()).toEqual([
      'budget_exceeded',
      'insufficient_funds',
    ]);
    // The success body has its schema (the class the service returns), so a generated client can type it.
    expect(post.responses['201'].content['application/json'].schema.$ref).toBe('#/components/schemas/Reservation');
  });

  it('describes every property of every schema, and every parameter', () => {
    const missing: string[] = [];
    const walk = (where: string, schema: any): void => {
      for (const [name, p] of Object.entries<any>(schema?.properties ?? {})) {
        if (typeof p.description !== 'string' || p.description.trim() === '') missing.push(`${where}.${name}`);
        walk(`${where}.${name}`, p);
        if (p.items) walk(`${where}.${name}[]`, p.items);
      }
    };
    for (const [name, schema] of Object.entries<any>(doc.components.schemas)) walk(name, schema);
    for (const { key, op } of operations(doc)) {
      for (const p of op.parameters ?? []) if (!p.description) missing.push(`${key} ${p.in} ${p.name}`);
      if (!op.summary) missing.push(`${key} summary`);
      if (!op.tags?.length) missing.push(`${key} tags`);
    }
    expect(missing).toEqual([]);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'Problem',
        'GenerateImageDto',
        'CreateBatchDto',
        'CreateCheckoutSessionDto',
        'GrantDto',
        'AdjustmentDto',
        'RefundDto',
        'PriceChangeDto',
      ]),
    );
  });

  it('defines Problem with every stable error code the service throws', async () => {
    const problem = doc.components.schemas.Problem;
    expect(Object.keys(problem.properties).sort()).toEqual(['code', 'detail', 'errors', 'status', 'title', 'type']);
    expect([...problem.required].sort()).toEqual(['code', 'detail', 'status', 'title', 'type']);
    const codes: string[] = problem.properties.code.enum;
    expect(codes).toEqual(
      expect.arrayContaining([
        'insufficient_funds',
        'idempotency_key_reused',
        'wallet_frozen',
        'refund_exceeds_charge',
        'reservation_expired',
        'rate_limited',
      ]),
    );
    const thrown = [...(await thrownCodes())];
    expect(thrown.length).toBeGreaterThan(20);
    expect(thrown.filter((c) => !codes.includes(c))).toEqual([]);
    for (const c of codes) expect(problem.properties.code.description).toContain(`\`${c}\``);
  });

  it('lists each error status with its codes, as problem+json', () => {
    const all = operations(doc);
    const desc = (key: string, status: string) => all.find((o) => o.key === key)?.op.responses[status]?.description ?? '';
    for (const code of ['reservation_not_pending', 'reservation_expired', 'idempotency_key_reused'])
      expect(desc('post /v1/reservations/{id}/settle', '409')).toContain(code);
    expect(desc('post /v1/reservations/{id}/settle', '422')).toContain('amount_exceeds_reservation');
    expect(desc('post /v1/admin/generations/{id}/refund', '422')).toContain('refund_exceeds_charge');
    expect(desc('post /v1/admin/wallets/{owner_id}/adjustments', '422')).toContain('adjustment_exceeds_balance');
    expect(desc('post /v1/admin/wallets/{owner_id}/grants', '403')).toContain('forbidden');
    expect(desc('post /v1/image/generate', '503')).toContain('queue_unavailable');
    expect(desc('post /v1/billing/checkout-sessions', '503')).toContain('stripe_not_configured');
    expect(desc('post /v1/billing/checkout-sessions', '404')).toContain('pack_not_found');
    expect(desc('post /v1/billing/checkout-sessions', '404')).toContain('plan_not_found');
    expect(desc('post /v1/stripe/webhook', '400')).toContain('invalid_signature');
    for (const { key, op } of all) {
      for (const [status, r] of Object.entries<any>(op.responses)) {
        const schema = r.content?.['application/problem+json']?.schema;
        if (Number(status) >= 400 && schema) {
          expect([key, status, schema.allOf]).toEqual([key, status, [{ $ref: '#/components/schemas/Problem' }]]);
          // The narrowed codes are real codes of this very status.
          const codes: string[] = schema.properties.code.enum;
          expect([key, status, codes.length > 0]).toEqual([key, status, true]);
          for (const c of codes) expect([key, c, doc.components.schemas.Problem.properties.code.enum.includes(c)]).toEqual([key, c, true]);
        }
      }
    }
  });

  it('marks public routes as such and keeps the dashboard out', () => {
    const byKey = new Map(operations(doc).map((o) => [o.key, o.op]));
    for (const key of ['post /v1/stripe/webhook', 'get /health/live', 'get /health/ready', 'get /metrics']) {
      expect([key, byKey.get(key)?.security]).toEqual([key, []]);
    }
    for (const { key, op } of operations(doc)) {
      if (key.includes(' /v1/') && key !== 'post /v1/stripe/webhook') expect([key, op.security]).toEqual([key, [{ bearer: [] }]]);
    }
    expect(Object.keys(doc.paths).filter((p) => p === '/admin' || p.startsWith('/admin/'))).toEqual([]);
  });

  it('gives every success body a schema, so a generated client types it', () => {
    const untyped: string[] = [];
    for (const { key, op } of operations(doc)) {
      for (const [status, r] of Object.entries<any>(op.responses)) {
        // A 204 has no body to type.
        if (!/^2/.test(status) || status === '204') continue;
        const content = r.content ?? {};
        const schema = content['application/json']?.schema ?? content['text/plain']?.schema ?? content['text/csv']?.schema;
        if (!schema || (!schema.$ref && !schema.type)) untyped.push(`${key} ${status}`);
      }
    }
    expect(untyped).toEqual([]);
    const wallet = doc.components.schemas.Wallet;
    expect(wallet.properties.balance.allOf).toEqual([{ $ref: '#/components/schemas/Balance' }]);
    expect(doc.components.schemas.Balance.required.sort()).toEqual(['available', 'held']);
  });

  it('names a server and calls the keys opaque (not JWTs)', () => {
    expect(doc.servers.length).toBeGreaterThan(0);
    expect(doc.servers[0].variables.origin.default).toMatch(/^http/);
    expect(doc.components.securitySchemes.bearer.bearerFormat).not.toMatch(/jwt/i);
  });

  it('requires the Idempotency-Key header on exactly the value-moving routes', () => {
    const documented = operations(doc)
      .filter(({ op }) => idempotencyHeader(op))
      .map(({ key }) => key)
      .sort();
    expect(documented).toEqual([...VALUE_MOVING].sort());
    for (const { key, op } of operations(doc).filter(({ op }) => idempotencyHeader(op))) {
      expect([key, idempotencyHeader(op).required]).toEqual([key, true]);
      expect(op.responses['409'].description).toContain('idempotency_key_reused');
    }
  });

  it('documents the header exactly where the API refuses a request without it', async () => {
    const refused: string[] = [];
    for (const { key, method, path } of operations(doc)) {
      if (method !== 'post' && method !== 'put') continue;
      const url = path.replace(/\{[a-z_]+\}/g, 'openapi-probe');
      const res = await call(t, method.toUpperCase(), url, {}, { key: t.adminKey });
      if (res.status === 400 && res.body?.errors?.some((e: any) => e.field === 'Idempotency-Key')) refused.push(key);
    }
    expect(refused.sort()).toEqual([...VALUE_MOVING].sort());
  });

  it('matches docs/openapi.json on disk (regenerate it with npm run openapi)', async () => {
    const onDisk = JSON.parse(await readFile(join(new URL(ROOT).pathname, 'docs/openapi.json'), 'utf8'));
    expect(Object.keys(onDisk.paths).sort()).toEqual(Object.keys(doc.paths).sort());
    for (const path of Object.keys(doc.paths))
      expect([path, Object.keys(onDisk.paths[path]).sort()]).toEqual([path, Object.keys(doc.paths[path]).sort()]);
    expect(onDisk).toEqual(doc);
  });
});
