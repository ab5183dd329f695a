import { randomBytes } from 'node:crypto';
import { HttpClient, HttpError } from './http-client.js';
import { type Progress, runTimed, type TimedResult } from './stats.js';

/** What the HTTP load generator needs (plain data: it is the worker_thread's workerData). */
export interface HttpLoadSpec {
  baseUrl: string;
  apiKey: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** Pick a random `${ownerPrefix}${i}`, i < walletCount, per pair; or always `hotOwner`. */
  ownerPrefix: string;
  walletCount: number;
  hotOwner: string | null;
  /** Tokens per reservation, as the API takes them ("0.010"). */
  amount: string;
  /** Sent as every reservation's spender_id (scenario g), or none. */
  spenderId?: string | null;
  label: string;
}

/**
 * The HTTP scenario: each client loops reserve (POST /v1/wallets/{owner}/reservations)
 * then settle-all (POST /v1/reservations/{id}/settle), each with a fresh Idempotency-Key.
 */
export async function runHttpLoad(spec: HttpLoadSpec, progress?: (p: Progress) => void): Promise<TimedResult> {
  const client = new HttpClient(spec.baseUrl, spec.apiKey, spec.clients);
  const run = `${spec.label}-${randomBytes(4).toString('hex')}`;
  const seq = new Array<number>(spec.clients).fill(0);
  const reserveBody = spec.spenderId ? { amount: spec.amount, spender_id: spec.spenderId } : { amount: spec.amount };
  try {
    return await runTimed({
      clients: spec.clients,
      warmupMs: spec.warmupMs,
      durationMs: spec.durationMs,
      progress,
      pair: async (c) => {
        const n = seq[c]++;
        const owner = spec.hotOwner ?? `${spec.ownerPrefix}${Math.floor(Math.random() * spec.walletCount)}`;
        const r = await client.request('POST', `/v1/wallets/${owner}/reservations`, reserveBody, `${run}-${c}-${n}-r`);
        if (r.status !== 201) throw new HttpError(`reserve on ${owner}`, r);
        const id = (JSON.parse(r.text) as { id: string }).id;
        const s = await client.request('POST', `/v1/reservations/${id}/settle`, {}, `${run}-${c}-${n}-s`);
        if (s.status !== 200) throw new HttpError(`settle ${id}`, s);
      },
    });
  } finally {
    client.close();
  }
}
