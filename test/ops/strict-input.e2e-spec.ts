import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { connect } from 'node:net';
import { call, expectLedgerConsistent, grantTokens, idemKey, startApp, TestApp } from '../support/app.js';
import { rawRequest } from '../support/raw-http.js';

/** Spec section 8: body type, nulls, control characters, owner_id, on every route. */
describe('strict input (spec section 8)', () => {
  let t: TestApp;
  const transfers = async () => (await t.app.get(Database).query<{ n: string }>(`SELECT count(*)::text AS n FROM transfers`))[0].n;
  const balance = async (owner: string) => (await call(t, 'GET', `/v1/wallets/${owner}`)).body.balance;
  /** A raw fetch, so the test picks Content-Type (or none: a byte body gets none). */
  const send = async (method: string, path: string, body: string | Uint8Array | undefined, headers: Record<string, string> = {}) => {
    const res = await fetch(`${t.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.gatewayKey}`, 'idempotency-key': idemKey('raw'), ...headers },
      body,
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : null };
  };
  const reserve = async (owner: string, amount = '5') => {
    const r = await call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount }, { idem: idemKey() });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  beforeAll(async () => {
    t = await startApp();
    for (const o of ['si_a', 'si_b']) expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
    await grantTokens(t, 'si_a', 100_000n);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  describe('body type', () => {
    it('refuses a text/plain settle with 415 and leaves the hold pending in full', async () => {
      const id = await reserve('si_a');
      const before = [await balance('si_a'), await transfers()];
      const r = await send('POST', `/v1/reservations/${id}/settle`, '{"amount":"1"}', { 'content-type': 'text/plain' });
      expect([r.status, r.type, r.body.code]).toEqual([415, 'application/problem+json; charset=utf-8', 'unsupported_media_type']);
      const hold = await call(t, 'GET', `/v1/reservations/${id}`);
      expect(hold.body).toMatchObject({ status: 'pending', reserved: '5.000', settled: '0.000' });
      expect([await balance('si_a'), await transfers()]).toEqual(before);
      // The same request as JSON settles what it says.
      const ok = await send('POST', `/v1/reservations/${id}/settle`, '{"amount":"1"}', { 'content-type': 'application/json' });
      expect([ok.status, ok.body.settled]).toEqual([200, '1.000']);
    });

    it('takes application/json with any case and a charset', async () => {
      const id = await reserve('si_a');
      const r = await send('POST', `/v1/reservations/${id}/settle`, '{"amount":"2"}', {
        'content-type': 'Application/JSON; Charset=UTF-8',
      });
      expect([r.status, r.body.settled]).toEqual([200, '2.000']);
    });

    it('refuses other types, a body without a Content-Type, and a JSON body that is not an object', async () => {
      const id = await reserve('si_a');
      const before = await transfers();
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/merge-patch+json', 'multipart/form-data', ''])
        expect([type, (await send('POST', `/v1/reservations/${id}/settle`, 'amount=1', { 'content-type': type })).status]).toEqual([
          type,
          415,
        ]);
      expect((await send('POST', `/v1/reservations/${id}/settle`, new TextEncoder().encode('{"amount":"1"}'))).status).toBe(415);
      const latin1 = await send('POST', `/v1/reservations/${id}/settle`, '{"amount":"1"}', {
        'content-type': 'application/json; charset=latin1',
      });
      expect([latin1.status, latin1.body.code]).toEqual([415, 'unsupported_media_type']);
      for (const body of ['[]', '[{"amount":"1"}]'])
        expect((await send('POST', `/v1/reservations/${id}/settle`, body, { 'content-type': 'application/json' })).body.code).toBe(
          'validation_error',
        );
      expect(await transfers()).toBe(before);
      expect((await call(t, 'GET', `/v1/reservations/${id}`)).body.status).toBe('pending');
    });

    it('allows an empty body where every field is optional, without a Content-Type or with JSON only', async () => {
      const a = await reserve('si_a', '1');
      expect((await send('POST', `/v1/reservations/${a}/settle`, '', { 'content-type': 'text/plain' })).status).toBe(415);
      const all = await send('POST', `/v1/reservations/${a}/settle`, undefined);
      expect([all.status, all.body.settled]).toEqual([200, '1.000']);
      const b = await reserve('si_a', '1');
      expect((await send('POST', `/v1/reservations/${b}/release`, '', { 'content-type': 'application/json' })).status).toBe(200);
      expect((await send('PUT', '/v1/wallets/si_new', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
      expect((await call(t, 'GET', '/v1/wallets/si_new')).status).toBe(404);
      // freeze needs a reason: no body is its DTO's validation error, not a frozen wallet.
      const freeze = await call(t, 'POST', '/v1/admin/wallets/si_b/freeze', undefined, { key: t.adminKey, idem: idemKey() });
      expect([freeze.status, freeze.body.errors?.[0]?.field]).toEqual([400, 'reason']);
      expect((await call(t, 'GET', '/v1/wallets/si_b')).body.status).toBe('active');
    });

    it('refuses fields on a route that takes no body (an empty object is no body)', async () => {
      const id = await reserve('si_a', '1');
      const r = await call(t, 'POST', `/v1/reservations/${id}/release`, { amount: '1' }, { idem: idemKey() });
      expect([r.status, r.body.errors]).toEqual([400, [{ field: 'amount', message: 'property amount should not exist' }]]);
      expect((await call(t, 'GET', `/v1/reservations/${id}`)).body.status).toBe('pending');
      expect((await call(t, 'PUT', '/v1/wallets/si_body', { status: 'frozen' })).status).toBe(400);
      expect((await call(t, 'GET', '/v1/wallets/si_body')).status).toBe(404);
      expect((await call(t, 'POST', `/v1/reservations/${id}/release`, {}, { idem: idemKey() })).body.status).toBe('released');
    });

    it('leaves the Stripe webhook its raw body, and holds it to the body-type rule as every route', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) {
        const r = await send('POST', '/v1/stripe/webhook', '{"id":"evt_1"}', { 'content-type': type });
        expect([type, r.status, r.body.code]).toEqual([type, 415, 'unsupported_media_type']);
      }
      for (const type of ['application/json', 'application/json; charset=utf-8']) {
        const r = await send('POST', '/v1/stripe/webhook', '{"id":"evt_1"}', { 'content-type': type });
        expect([type, r.status, r.body.code]).toEqual([type, 400, 'invalid_signature']);
      }
    });
  });

  describe('nulls', () => {
    it('is a 400 for a null field, never "absent" and never a 500', async () => {
      const id = await reserve('si_a');
      const before = [await balance('si_a'), await transfers()];
      const reserveNull = await call(t, 'POST', '/v1/wallets/si_a/reservations', { amount: null }, { idem: idemKey() });
      expect([reserveNull.status, reserveNull.body.code, reserveNull.body.errors]).toEqual([
        400,
        'validation_error',
        [{ field: 'amount', message: expect.stringContaining('null') }],
      ]);
      const settleNull = await call(t, 'POST', `/v1/reservations/${id}/settle`, { amount: null }, { idem: idemKey() });
      expect([settleNull.status, settleNull.body.code]).toEqual([400, 'validation_error']);
      expect((await call(t, 'GET', `/v1/reservations/${id}`)).body.status).toBe('pending');
      const gen = await call(
        t,
        'POST',
        '/v1/image/generate',
        { owner_id: 'si_a', model: 'models/openai/gpt-image', prompt: 'a fox', n: null },
        { idem: idemKey() },
      );
      expect([gen.status, gen.body.errors?.[0]?.field]).toEqual([400, 'n']);
      const batch = await call(
        t,
        'POST',
        '/v1/batches',
        { owner_id: 'si_a', variant: 'gpt-image-1-min', items: [{ prompt: 'a', seed: null }, null] },
        { idem: idemKey() },
      );
      expect(batch.status).toBe(400);
      expect(batch.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['items.0.seed', 'items.1']);
      const checkout = await call(t, 'POST', '/v1/billing/checkout-sessions', {
        owner_id: 'si_a',
        pack_id: null,
        plan_id: 'creator',
        success_url: 'http://a.example',
        cancel_url: 'http://b.example',
      });
      expect([checkout.status, checkout.body.errors?.[0]?.field]).toEqual([400, 'pack_id']);
      const refund = await call(
        t,
        'POST',
        '/v1/admin/generations/gen_x/refund',
        { reason: 'r', amount: null },
        { key: t.adminKey, idem: idemKey() },
      );
      expect(refund.status).toBe(400);
      expect([await balance('si_a'), await transfers()]).toEqual(before);
    });

    it('keeps null as data inside free-form metadata', async () => {
      const r = await call(t, 'POST', '/v1/wallets/si_a/reservations', { amount: '1', metadata: { coupon: null } }, { idem: idemKey() });
      expect([r.status, r.body.metadata]).toEqual([201, { coupon: null }]);
    });
  });

  describe('control characters', () => {
    it('refuses them in string fields; free text keeps tabs and line breaks', async () => {
      const before = await transfers();
      const cases: [string, unknown][] = [
        ['/v1/wallets/si_a/reservations', { amount: '1', ref: 'a\u0000b' }],
        ['/v1/wallets/si_a/reservations', { amount: '1', ref: 'line\nbreak' }],
        ['/v1/wallets/si_a/reservations', { amount: '1', metadata: { note: 'bell\u0007' } }],
        ['/v1/wallets/si_a/reservations', { amount: '1', metadata: { 'k\u0000': 'v' } }],
        ['/v1/wallets/si_a/reservations', { amount: '1', metadata: { deep: [{ x: '\u007f' }] } }],
        ['/v1/image/generate', { owner_id: 'si_a', model: 'models/openai/gpt-image', prompt: 'a\u0000fox' }],
        ['/v1/batches', { owner_id: 'si_a', variant: 'gpt-image-1-min', items: [{ prompt: 'esc\u001b[31m' }] }],
      ];
      for (const [path, body] of cases) {
        const r = await call(t, 'POST', path, body, { idem: idemKey() });
        expect([path, body, r.status, r.body.code]).toEqual([path, body, 400, 'validation_error']);
      }
      const grant = await call(
        t,
        'POST',
        '/v1/admin/wallets/si_b/grants',
        { amount: '1', reason: 'nul\u0000' },
        { key: t.adminKey, idem: idemKey() },
      );
      expect(grant.status).toBe(400);
      expect(await transfers()).toBe(before);

      const fine = await call(
        t,
        'POST',
        '/v1/wallets/si_a/reservations',
        { amount: '1', metadata: { note: 'line one\nline two\ttabbed\r\n' } },
        { idem: idemKey() },
      );
      expect([fine.status, fine.body.metadata.note]).toEqual([201, 'line one\nline two\ttabbed\r\n']);
      const gen = await call(
        t,
        'POST',
        '/v1/image/generate',
        { owner_id: 'si_a', model: 'models/openai/gpt-image', prompt: 'a fox\n\tin the snow' },
        { idem: idemKey() },
      );
      expect(gen.status).toBe(202);
      const reasoned = await call(
        t,
        'POST',
        '/v1/admin/wallets/si_b/grants',
        { amount: '1', reason: 'ticket 1\nticket 2' },
        { key: t.adminKey, idem: idemKey() },
      );
      expect(reasoned.status).toBe(201);
    });

    it('refuses them in path parameters, query parameters and headers', async () => {
      const before = await transfers();
      const paths: [string, string][] = [
        ['POST', '/v1/wallets/a%00b/reservations'],
        ['GET', '/v1/wallets/a%00b/transactions'],
        ['GET', '/v1/wallets/a%0Ab/statement.csv'],
        ['POST', '/v1/reservations/res_%01/settle'],
        ['GET', '/v1/reservations/res_%00'],
        ['GET', '/v1/generations/gen_%00'],
        ['GET', '/v1/batches/bat_%1F'],
        ['GET', '/v1/prices/x%7F'],
        ['GET', '/v1/wallets/%E0%A4%A'],
        ['GET', '/v1/wallets/si_a/transactions?cursor=a%00'],
      ];
      for (const [method, path] of paths) {
        const r = await call(t, method, path, method === 'POST' ? { amount: '1' } : undefined, { idem: idemKey() });
        expect([method, path, r.status, r.body.code]).toEqual([method, path, 400, 'validation_error']);
      }
      for (const [method, path] of [
        ['POST', '/v1/admin/wallets/a%00/grants'],
        ['POST', '/v1/admin/generations/gen_%00/refund'],
        ['PUT', '/v1/admin/prices/v%00'],
        ['GET', '/v1/admin/audit-log?actor=a%00'],
      ]) {
        const r = await call(t, method, path, method === 'GET' ? undefined : { amount: '1', tokens: '1', reason: 'r' }, {
          key: t.adminKey,
          idem: idemKey(),
        });
        expect([method, path, r.status]).toEqual([method, path, 400]);
      }
      const tab = await call(t, 'GET', '/v1/wallets/si_a', undefined, { headers: { 'x-note': 'a\tb' } });
      expect([tab.status, tab.body.errors]).toEqual([400, [{ field: 'x-note', message: expect.stringContaining('control') }]]);
      expect(await transfers()).toBe(before);
    });

    it('answers a request that Node itself cannot parse as problem+json', async () => {
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
        let data = '';
        socket.on('data', (d) => (data += d.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
        socket.write('GET /v1/prices HTTP/1.1\r\nHost: x\r\nX-Note: a\u0000b\r\n\r\n');
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
      expect(raw).toContain('Content-Type: application/problem+json');
      expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, code: 'bad_request' });
      const expect417 = await rawRequest(t.baseUrl, 'GET', '/v1/prices', [['Expect', 'teapot']]);
      expect([expect417.status, expect417.headers['content-type'], JSON.parse(expect417.text).code]).toEqual([
        417,
        'application/problem+json',
        'expectation_failed',
      ]);
    });
  });

  describe('owner_id, ids, dates and cursors', () => {
    it('validates owner_id before any lookup, in the path and in the body', async () => {
      const bad = ['a!b', 'x'.repeat(129), 'a b', 'ünïcode'];
      for (const owner of bad) {
        const o = encodeURIComponent(owner);
        const results = [
          await call(t, 'PUT', `/v1/wallets/${o}`),
          await call(t, 'GET', `/v1/wallets/${o}`),
          await call(t, 'POST', `/v1/wallets/${o}/reservations`, { amount: '1' }, { idem: idemKey() }),
          await call(t, 'GET', `/v1/wallets/${o}/transactions`),
          await call(t, 'GET', `/v1/wallets/${o}/statement.csv`),
          await call(t, 'GET', `/v1/admin/wallets/${o}`, undefined, { key: t.adminKey }),
          await call(t, 'POST', `/v1/admin/wallets/${o}/grants`, { amount: '1', reason: 'r' }, { key: t.adminKey, idem: idemKey() }),
          await call(t, 'POST', `/v1/admin/wallets/${o}/adjustments`, { amount: '1', reason: 'r' }, { key: t.adminKey, idem: idemKey() }),
          await call(t, 'POST', `/v1/admin/wallets/${o}/freeze`, { reason: 'r' }, { key: t.adminKey, idem: idemKey() }),
          await call(t, 'POST', `/v1/admin/wallets/${o}/unfreeze`, { reason: 'r' }, { key: t.adminKey, idem: idemKey() }),
          await call(
            t,
            'POST',
            '/v1/image/generate',
            { owner_id: owner, model: 'models/openai/gpt-image', prompt: 'p' },
            { idem: idemKey() },
          ),
          await call(
            t,
            'POST',
            '/v1/batches',
            { owner_id: owner, variant: 'gpt-image-1-min', items: [{ prompt: 'p' }] },
            { idem: idemKey() },
          ),
          await call(t, 'POST', '/v1/billing/portal-sessions', { owner_id: owner, return_url: 'http://a.example' }),
        ];
        expect([owner, results.map((r) => `${r.status} ${r.body?.errors?.[0]?.field}`)]).toEqual([
          owner,
          results.map(() => '400 owner_id'),
        ]);
      }
    });

    it('answers malformed reservation, generation and batch ids with a 404', async () => {
      for (const path of ['/v1/reservations/nope', '/v1/generations/gen_' + 'z'.repeat(300), '/v1/batches/bat_' + 'f'.repeat(5000)])
        expect([path, (await call(t, 'GET', path)).status]).toEqual([path, 404]);
    });

    it('refuses dates PostgreSQL would not read, and cursors that are not next_cursor values', async () => {
      for (const expires_at of [
        '2030-02-31T00:00:00Z',
        '2030-W01-1',
        '2030',
        '2030-01-01T00:00:00',
        '2030-01-01T25:00:00Z',
        '2030-01-01T00:00+99:00',
      ])
        expect([
          expires_at,
          (
            await call(
              t,
              'POST',
              '/v1/admin/wallets/si_b/grants',
              { amount: '1', reason: 'r', expires_at },
              { key: t.adminKey, idem: idemKey() },
            )
          ).status,
        ]).toEqual([expires_at, 400]);
      for (const q of ['from=2026-W01-1', 'to=2026', 'cursor=9999999999999999999', 'limit=0', 'limit=abc', 'limit=1&limit=2'])
        expect([q, (await call(t, 'GET', `/v1/admin/audit-log?${q}`, undefined, { key: t.adminKey })).status]).toEqual([q, 400]);
      expect((await call(t, 'GET', '/v1/admin/audit-log?from=2026-01-01', undefined, { key: t.adminKey })).status).toBe(200);
      expect((await call(t, 'GET', '/v1/admin/reports/summary?from=2026-W01-1', undefined, { key: t.adminKey })).status).toBe(400);
      const cursor = (s: string) => Buffer.from(s).toString('base64url');
      for (const c of [
        cursor('-271821-04-20T00:00:00.000Z|00000000-0000-0000-0000-000000000000'),
        cursor('2026-01-01T00:00:00.000Z|------------------------------------'),
        cursor('2026-01-01|00000000-0000-0000-0000-000000000000'),
        'garbage',
      ])
        expect([c, (await call(t, 'GET', `/v1/wallets/si_a/transactions?cursor=${c}`)).status]).toEqual([c, 400]);
    });

    it('refuses JSON nested deeper than 32 levels with a validation_error', async () => {
      const deep = `{"amount":"1","metadata":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`;
      const r = await send('POST', '/v1/wallets/si_a/reservations', deep, { 'content-type': 'application/json' });
      expect([r.status, r.body.code]).toEqual([400, 'validation_error']);
    });
  });
});
