import { Database } from '@app/common';
import { EVENT_TYPES } from '@app/ledger';
import { describe, expect, it } from '@jest/globals';
import { call, useApp } from '../support/app.js';

const PROBLEM = 'application/problem+json; charset=utf-8';

describe('webhook endpoints: the admin routes', () => {
  const app = useApp({ ALLOW_PRIVATE_WEBHOOK_URLS: 'false' });
  const admin = (method: string, path: string, body?: unknown) => call(app(), method, path, body, { key: app().adminKey });
  const rows = () => app().app.get(Database).query(`SELECT name, url, types, secret, disabled_at FROM webhook_endpoints ORDER BY name`);

  it('creates with a generated secret shown once, replaces keeping it, lists, pauses and deletes', async () => {
    const created = await admin('PUT', '/v1/admin/webhook-endpoints/billing', { url: 'https://93.184.216.34/hooks' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'billing', url: 'https://93.184.216.34/hooks', types: [], disabled: false, pending: 0 });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);

    const replaced = await admin('PUT', '/v1/admin/webhook-endpoints/billing', {
      url: 'https://93.184.216.34/v2',
      types: ['alert.triggered', 'reservation.settled'],
      disabled: true,
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      url: 'https://93.184.216.34/v2',
      types: ['alert.triggered', 'reservation.settled'],
      disabled: true,
    });
    expect(replaced.body.secret).toBeUndefined();
    expect((await rows())[0]).toMatchObject({ secret: created.body.secret });

    const own = await admin('PUT', '/v1/admin/webhook-endpoints/ops.2', { url: 'https://93.184.216.34/x', secret: 'a-secret-of-my-own!' });
    expect([own.status, own.body.secret]).toEqual([201, 'a-secret-of-my-own!']);

    const list = await admin('GET', '/v1/admin/webhook-endpoints');
    expect(list.body.data.map((e: { name: string }) => e.name)).toEqual(['billing', 'ops.2']);
    expect(
      list.body.data.every(
        (e: { secret?: string; recent_failures: unknown[] }) => e.secret === undefined && e.recent_failures.length === 0,
      ),
    ).toBe(true);
    expect((await admin('GET', '/v1/admin/webhook-endpoints/ops.2/deliveries')).body).toEqual({ data: [], next_cursor: null });

    expect((await admin('DELETE', '/v1/admin/webhook-endpoints/ops.2')).status).toBe(204);
    const gone = await admin('GET', '/v1/admin/webhook-endpoints/ops.2');
    expect([gone.status, gone.body.code, gone.headers.get('content-type')]).toEqual([404, 'webhook_endpoint_not_found', PROBLEM]);
    expect((await admin('DELETE', '/v1/admin/webhook-endpoints/ops.2')).body.code).toBe('webhook_endpoint_not_found');
    expect((await admin('GET', '/v1/admin/webhook-endpoints/ops.2/deliveries')).status).toBe(404);
  });

  it.each([
    ['a private address', { url: 'http://127.0.0.1:9/hook' }, 'url'],
    ['a link-local address', { url: 'http://169.254.169.254/latest' }, 'url'],
    ['no URL', { types: ['wallet.created'] }, 'url'],
    ['not http', { url: 'ftp://93.184.216.34/x' }, 'url'],
    ['credentials in the URL', { url: 'https://u:p@93.184.216.34/x' }, 'url'],
    ['an unknown type', { url: 'https://93.184.216.34/x', types: ['wallet.exploded'] }, 'types'],
    ['a repeated type', { url: 'https://93.184.216.34/x', types: ['wallet.created', 'wallet.created'] }, 'types'],
    ['types not a list', { url: 'https://93.184.216.34/x', types: 'wallet.created' }, 'types'],
    ['a short secret', { url: 'https://93.184.216.34/x', secret: 'short' }, 'secret'],
    ['a secret with a space', { url: 'https://93.184.216.34/x', secret: 'sixteen chars and more' }, 'secret'],
    ['a null secret', { url: 'https://93.184.216.34/x', secret: null }, 'secret'],
    ['an unknown field', { url: 'https://93.184.216.34/x', retries: 3 }, 'retries'],
  ])('refuses %s with a problem and changes nothing', async (_why, body, field) => {
    const before = await rows();
    for (const name of ['fresh', 'billing']) {
      const r = await admin('PUT', `/v1/admin/webhook-endpoints/${name}`, body);
      expect([r.status, r.body.code, r.headers.get('content-type')]).toEqual([400, 'validation_error', PROBLEM]);
      expect((r.body.errors as Array<{ field: string }>).map((e) => e.field)).toContain(field);
    }
    expect(await rows()).toEqual(before);
  });

  it('refuses a bad name or cursor, another content type, and a gateway key', async () => {
    const before = await rows();
    const badName = await admin('PUT', '/v1/admin/webhook-endpoints/no%20spaces', { url: 'https://93.184.216.34/x' });
    expect([badName.status, badName.body.code]).toEqual([400, 'validation_error']);
    expect((await admin('GET', `/v1/admin/webhook-endpoints/${'x'.repeat(65)}`)).status).toBe(400);
    expect((await admin('GET', '/v1/admin/webhook-endpoints/billing/deliveries?cursor=abc')).body.code).toBe('validation_error');
    expect((await admin('GET', '/v1/admin/webhook-endpoints/billing/deliveries?limit=0')).body.code).toBe('validation_error');
    const text = await call(app(), 'PUT', '/v1/admin/webhook-endpoints/billing', 'url=x', {
      key: app().adminKey,
      headers: { 'content-type': 'text/plain' },
    });
    expect([text.status, text.body.code]).toEqual([415, 'unsupported_media_type']);
    const gw = await call(app(), 'PUT', '/v1/admin/webhook-endpoints/billing', { url: 'https://93.184.216.34/x' });
    expect([gw.status, gw.body.code]).toEqual([403, 'forbidden']);
    expect((await call(app(), 'GET', '/v1/admin/webhook-endpoints')).status).toBe(403);
    expect(await rows()).toEqual(before);
  });

  it('takes every event type', async () => {
    const r = await admin('PUT', '/v1/admin/webhook-endpoints/all-types', { url: 'https://93.184.216.34/x', types: [...EVENT_TYPES] });
    expect([r.status, r.body.types]).toEqual([201, [...EVENT_TYPES]]);
  });
});
