/**
 * The natural program of an integrator, type-checked against the generated
 * types by test/ops/typescript-client.e2e-spec.ts and run against a live
 * service there: create a wallet, read its balance, hold tokens for one
 * image, settle, and branch on an error's typed `code`.
 */
import { createTokenWalletClient } from './index.js';

export interface ExampleResult {
  available: string;
  reservationId: string;
  settled: string;
  missingWalletCode: string;
}

export async function example(baseUrl: string, apiKey: string, ownerId: string): Promise<ExampleResult> {
  const api = createTokenWalletClient({ baseUrl, apiKey });

  const w = await api.PUT('/v1/wallets/{owner_id}', { params: { path: { owner_id: ownerId } } });
  if (!w.data) throw new Error(`PUT wallet failed: ${w.error?.code ?? w.response.status}`);
  const available: string = w.data.balance.available;

  const r = await api.POST('/v1/wallets/{owner_id}/reservations', {
    params: { path: { owner_id: ownerId }, header: { 'Idempotency-Key': `example-${ownerId}` } },
    body: { variant: 'gpt-image-1-min', quantity: 1 },
  });
  if (r.error) {
    // `code` is a union of this route's codes: a typo here would not compile.
    if (r.error.code === 'insufficient_funds') throw new Error(`too few tokens: ${r.error.detail}`);
    throw new Error(`reserve failed: ${r.error.code}`);
  }
  const reservation = r.data;

  const s = await api.POST('/v1/reservations/{id}/settle', {
    params: { path: { id: reservation.id }, header: { 'Idempotency-Key': `example-settle-${ownerId}` } },
    body: { amount: '3.540' },
  });
  if (!s.data) throw new Error(`settle failed: ${s.error?.code ?? s.response.status}`);
  const status: 'pending' | 'settled' | 'released' | 'expired' = s.data.status;
  if (status !== 'settled') throw new Error(`unexpected status ${status}`);

  const missing = await api.GET('/v1/wallets/{owner_id}', { params: { path: { owner_id: `${ownerId}-nobody` } } });
  const missingWalletCode = missing.error?.code ?? 'none';

  return { available, reservationId: reservation.id, settled: s.data.settled, missingWalletCode };
}
