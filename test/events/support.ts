import { verifySignature } from '@app/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  body: string;
  event: { id: string; seq: number; type: string; created_at: string; owner_id: string; data: unknown };
  signature: string;
  webhookId: string | undefined;
  /** What the receiver answered ('late': a 200 sent after the sender's timeout). */
  answered: number | 'stalled';
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until `done`; the timeout only turns a hang into a failure with the last value seen. */
export async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 2000)}`);
    await sleep(50);
  }
}

/**
 * A webhook receiver on 127.0.0.1. `answer(path, n)` says what the n-th request
 * (from 0) to a path gets: a status, 'stall' (no answer until long after
 * the sender's timeout), or 'late' (a 200, sent `lateMs` later: after the
 * sender's timeout, so the sender never sees it).
 */
export async function startReceiver(answer: (path: string, n: number) => number | 'stall' | 'late', lateMs = 5_000) {
  const received: Received[] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = counts.get(path) ?? 0;
      counts.set(path, n + 1);
      const body = Buffer.concat(chunks).toString('utf8');
      const a = answer(path, n);
      const sig = req.headers['webhook-signature'];
      const id = req.headers['webhook-id'];
      received.push({
        path,
        body,
        event: JSON.parse(body) as Received['event'],
        signature: typeof sig === 'string' ? sig : '',
        webhookId: typeof id === 'string' ? id : undefined,
        answered: a === 'stall' ? 'stalled' : a === 'late' ? 200 : a,
      });
      if (a === 'stall' || a === 'late') {
        setTimeout(() => res.writeHead(200).end('late'), a === 'late' ? lateMs : 5_000).unref();
        return;
      }
      res.writeHead(a, { 'content-type': 'text/plain' }).end(String(a));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    at: (path: string) => received.filter((r) => r.path === path),
    verifies: (r: Received, secret: string) => verifySignature(secret, r.signature, r.body),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The received requests per wallet, in arrival order. */
export function byWallet(rs: Received[]): Map<string, Received[]> {
  const m = new Map<string, Received[]>();
  for (const r of rs) m.set(r.event.owner_id, [...(m.get(r.event.owner_id) ?? []), r]);
  return m;
}
