import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import type { FakeStripe } from '../../libs/billing/src/fake-stripe/fake-stripe.server.js';
import { checkout, startBillingApp } from '../billing/support.js';
import { generationEnv, waitFinished } from '../generation/support.js';
import { call, expectLedgerConsistent, idemKey, TestApp } from '../support/app.js';
import { allPages, expectNewestFirst, numericOrder } from '../support/paging.js';

interface Match {
  owner_id: string;
  status: string;
  available: string;
}
interface Entry {
  id: string;
  action: string;
  target_type: string;
  target_id: string;
  created_at: string;
}

/** GET /v1/admin/wallets?owner_prefix, GET /v1/admin/lookup?id and the audit log of one wallet. */
describe('admin: finding a wallet, and a wallet’s audit log', () => {
  let t: TestApp;
  let stripe: FakeStripe;
  let generationId: string;
  let reservationId: string;
  let paymentIntent: string;
  let customer: string;
  const admin = (path: string) => call(t, 'GET', path, undefined, { key: t.adminKey });
  const act = (path: string, body: unknown) => call(t, 'POST', path, body, { key: t.adminKey, idem: idemKey('adm') });
  // In byte order, as the search returns them: '.' < digits < '_' < lower case.
  const family = [
    'srch_p',
    'srch_p.x',
    'srch_p0',
    'srch_p1',
    'srch_p10',
    'srch_p2',
    'srch_pA',
    'srch_p_z',
    'srch_pa',
    'srch_pb',
    'srch_pz',
  ];

  beforeAll(async () => {
    ({ t, stripe } = await startBillingApp(generationEnv()));
    // Near misses: another character where the prefix has '_' (not a LIKE wildcard here), another case, a shorter id.
    for (const o of [...family].reverse().concat(['srchXp1', 'SRCH_P1', 'srch_', 'srch_q']))
      expect((await call(t, 'PUT', `/v1/wallets/${encodeURIComponent(o)}`)).status).toBe(201);

    const g = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'srch_p1', model: 'models/openai/gpt-image', prompt: 'a red kite' },
      { idem: idemKey() },
    );
    expect(g.status).toBe(202);
    generationId = g.body.id;
    expect((await waitFinished(t, `/v1/generations/${generationId}`)).status).toBe('succeeded');
    const r = await call(t, 'POST', '/v1/wallets/srch_p2/reservations', { amount: '1' }, { idem: idemKey() });
    expect(r.status).toBe(201);
    reservationId = r.body.id;

    const session = await checkout(t, 'srch_pa', { pack_id: 'pack_50' });
    expect((await stripe.completeCheckout(session)).statuses).toEqual([200]);
    const db = t.app.get(Database);
    [{ payment_intent: paymentIntent }] = await db.query<{ payment_intent: string }>(
      `SELECT p.payment_intent FROM stripe_payments p JOIN wallets w ON w.id = p.wallet_id WHERE w.owner_id = 'srch_pa'`,
    );
    [{ stripe_customer_id: customer }] = await db.query<{ stripe_customer_id: string }>(
      `SELECT stripe_customer_id FROM wallets WHERE owner_id = 'srch_pa'`,
    );
    expect([paymentIntent, customer]).toEqual([expect.stringMatching(/^pi_/), expect.stringMatching(/^cus_/)]);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
    await stripe.close();
  });

  it('finds wallets by owner id prefix in byte order, every one exactly once whatever the page size', async () => {
    for (const limit of [1, 2, 4, 11, 12, 200]) {
      const seen = await allPages<Match>(t, '/v1/admin/wallets?owner_prefix=srch_p', limit, t.adminKey);
      expect([limit, seen.map((m) => m.owner_id)]).toEqual([limit, family]);
    }
    const first = await admin('/v1/admin/wallets?owner_prefix=srch_p1&limit=1');
    expect(first.body).toEqual({
      data: [{ owner_id: 'srch_p1', status: 'active', flagged: false, available: '11.460', held: '0.000', created_at: expect.any(String) }],
      next_cursor: 'srch_p1',
    });
    expect((await admin('/v1/admin/wallets?owner_prefix=srch_p2')).body.data).toEqual([
      expect.objectContaining({ owner_id: 'srch_p2', available: '14.000', held: '1.000' }),
    ]);
    expect((await admin('/v1/admin/wallets?owner_prefix=srch_pa')).body.data.map((m: Match) => m.owner_id)).toEqual(['srch_pa']);
  });

  it('answers an empty page for a prefix nothing has, and for a cursor past the last', async () => {
    expect((await admin('/v1/admin/wallets?owner_prefix=nobody_here')).body).toEqual({ data: [], next_cursor: null });
    expect((await admin('/v1/admin/wallets?owner_prefix=srch_p&cursor=srch_pz')).body).toEqual({ data: [], next_cursor: null });
  });

  it('refuses a bad prefix, limit or cursor with a problem naming the field, and a gateway key', async () => {
    const cases: Array<[string, string]> = [
      ['', 'owner_prefix'],
      ['owner_prefix=', 'owner_prefix'],
      ['owner_prefix=a%20b', 'owner_prefix'],
      ['owner_prefix=%25', 'owner_prefix'],
      ['owner_prefix=' + 'a'.repeat(129), 'owner_prefix'],
      ['owner_prefix=srch&limit=0', 'limit'],
      ['owner_prefix=srch&limit=201', 'limit'],
      ['owner_prefix=srch&cursor=a%2Fb', 'cursor'],
    ];
    for (const [q, field] of cases) {
      const r = await admin(`/v1/admin/wallets?${q}`);
      expect([q, r.status, r.headers.get('content-type'), r.body.code]).toEqual([
        q,
        400,
        'application/problem+json; charset=utf-8',
        'validation_error',
      ]);
      expect([q, r.body.errors.map((e: { field: string }) => e.field)]).toEqual([q, expect.arrayContaining([field])]);
    }
    expect((await call(t, 'GET', '/v1/admin/wallets?owner_prefix=srch')).status).toBe(403);
  });

  it('finds the wallet of a generation, a reservation, a payment intent and a Stripe customer', async () => {
    const found = async (id: string) => (await admin(`/v1/admin/lookup?id=${id}`)).body;
    expect(await found(generationId)).toEqual({ kind: 'generation', id: generationId, owner_id: 'srch_p1' });
    expect(await found(reservationId)).toEqual({ kind: 'reservation', id: reservationId, owner_id: 'srch_p2' });
    expect(await found(paymentIntent)).toEqual({ kind: 'payment_intent', id: paymentIntent, owner_id: 'srch_pa' });
    expect(await found(customer)).toEqual({ kind: 'customer', id: customer, owner_id: 'srch_pa' });
  });

  it('answers 404 with the kind’s code for an id of nothing, and 400 for what is no id', async () => {
    const zeros = '0'.repeat(32);
    for (const [id, code] of [
      [`gen_${zeros}`, 'generation_not_found'],
      [`res_${zeros}`, 'reservation_not_found'],
      ['pi_NoSuchIntent', 'payment_not_found'],
      ['cus_NoSuchCustomer', 'customer_not_found'],
    ]) {
      const r = await admin(`/v1/admin/lookup?id=${id}`);
      expect([id, r.status, r.headers.get('content-type'), r.body.code]).toEqual([
        id,
        404,
        'application/problem+json; charset=utf-8',
        code,
      ]);
    }
    for (const id of [
      '',
      'srch_p1',
      `gen_${'0'.repeat(31)}`,
      `res_${zeros}0`,
      'gen_ABCDEF',
      'pi_',
      'cus_a%20b',
      'pi_a-b',
      `gen_${zeros}%00`,
    ]) {
      const r = await admin(`/v1/admin/lookup?id=${id}`);
      expect([id, r.status, r.body.code, r.body.errors?.[0]?.field]).toEqual([id, 400, 'validation_error', 'id']);
    }
    expect((await admin('/v1/admin/lookup')).status).toBe(400);
    expect((await call(t, 'GET', `/v1/admin/lookup?id=${generationId}`)).status).toBe(403);
  });

  it('shows a wallet’s audit log with the actions on its generations, in (created_at, id) order, paged', async () => {
    expect((await act('/v1/admin/wallets/srch_p1/grants', { amount: '1', reason: 'first grant' })).status).toBe(201);
    expect((await act(`/v1/admin/generations/${generationId}/refund`, { amount: '1', reason: 'part refund' })).status).toBe(201);
    expect((await act('/v1/admin/wallets/srch_p1/freeze', { reason: 'looked odd' })).status).toBe(200);
    expect((await act(`/v1/admin/generations/${generationId}/refund`, { reason: 'the rest' })).status).toBe(201);
    expect((await act('/v1/admin/wallets/srch_p10/grants', { amount: '1', reason: 'another wallet' })).status).toBe(201);

    const all = await allPages<Entry>(t, '/v1/admin/audit-log?owner_id=srch_p1', 200, t.adminKey);
    expect(all.map((e) => [e.action, e.target_type, e.target_id])).toEqual([
      ['refund', 'generation', generationId],
      ['freeze', 'wallet', 'srch_p1'],
      ['refund', 'generation', generationId],
      ['grant', 'wallet', 'srch_p1'],
    ]);
    expectNewestFirst(all, numericOrder);
    for (const limit of [1, 3]) {
      expect((await allPages<Entry>(t, '/v1/admin/audit-log?owner_id=srch_p1', limit, t.adminKey)).map((e) => e.id)).toEqual(
        all.map((e) => e.id),
      );
    }
    // The other filters still narrow it; target_id alone still means the target.
    expect((await allPages<Entry>(t, '/v1/admin/audit-log?owner_id=srch_p1&action=refund', 1, t.adminKey)).length).toBe(2);
    expect((await allPages<Entry>(t, '/v1/admin/audit-log?target_id=srch_p1', 10, t.adminKey)).map((e) => e.action)).toEqual([
      'freeze',
      'grant',
    ]);
    expect((await admin('/v1/admin/audit-log?owner_id=nobody')).body).toEqual({ data: [], next_cursor: null });
    const bad = await admin('/v1/admin/audit-log?owner_id=a%20b');
    expect([bad.status, bad.body.code, bad.body.errors[0].field]).toEqual([400, 'validation_error', 'owner_id']);
  });
});
