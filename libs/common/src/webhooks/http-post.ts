import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export class WebhookTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(readonly timeoutMs: number) {
    super(`no response within ${timeoutMs} ms`);
  }
}

export interface PostOptions {
  timeoutMs: number;
  /** Replaces DNS resolution for the connection; see guardedLookup. */
  lookup?: LookupFunction;
  /** The body is read only to free the connection, and abandoned past this size. */
  maxResponseBytes?: number;
}

/**
 * POSTs `body` and resolves with the response status. node:http rather than
 * fetch, because Node's fetch takes no `lookup`, and the connection's own DNS
 * answer is what must be checked. Redirects are never followed: a 3xx comes
 * back as its status.
 */
export function postWebhook(url: URL, body: string, headers: Record<string, string>, opts: PostOptions): Promise<number> {
  const maxBytes = opts.maxResponseBytes ?? 64 * 1024;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  return new Promise<number>((resolve, reject) => {
    const request = url.protocol === 'https:' ? https.request : http.request;
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' },
        // A fresh agent per request: no pooled socket outlives the delivery or skips the address check.
        agent: false,
        signal,
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let seen = 0;
        const done = () => resolve(status);
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > maxBytes) res.destroy();
        });
        res.on('end', done);
        res.on('close', done);
        // The status is already known; a body cut short changes nothing.
        res.on('error', done);
      },
    );
    req.on('error', (e) => reject(signal.aborted ? new WebhookTimeoutError(opts.timeoutMs) : e));
    req.end(body);
  });
}
