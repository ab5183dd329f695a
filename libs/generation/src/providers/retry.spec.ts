import { describe, expect, it } from '@jest/globals';
import { ProviderError, type ProviderErrorKind } from './provider.js';
import { backoffDelay, callWithRetry } from './retry.js';

const fast = { timeoutMs: 200, baseDelayMs: 1, maxDelayMs: 5 };

/** An fn that fails with the given kinds, in order, then answers 'ok'. */
function script(...kinds: ProviderErrorKind[]) {
  const calls: AbortSignal[] = [];
  const fn = (signal: AbortSignal) => {
    calls.push(signal);
    const kind = kinds[calls.length - 1];
    return kind ? Promise.reject(new ProviderError(`scripted ${kind}`, kind)) : Promise.resolve('ok');
  };
  return { fn, calls };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('callWithRetry', () => {
  it('returns the first success without retrying', async () => {
    const { fn, calls } = script();
    await expect(callWithRetry(fn, { ...fast, attempts: 3 })).resolves.toEqual({ result: 'ok', attempts: 1 });
    expect(calls).toHaveLength(1);
  });

  it('retries retryable kinds and reports every attempt', async () => {
    const { fn } = script('rate_limited', 'server_error', 'network');
    const seen: [number, ProviderErrorKind | undefined][] = [];
    const out = await callWithRetry(fn, { ...fast, attempts: 4, onAttempt: (n, err) => seen.push([n, err?.kind]) });
    expect(out).toEqual({ result: 'ok', attempts: 4 });
    expect(seen).toEqual([
      [1, 'rate_limited'],
      [2, 'server_error'],
      [3, 'network'],
      [4, undefined],
    ]);
  });

  it.each<ProviderErrorKind>(['content_policy', 'bad_request', 'auth'])('never retries %s', async (kind) => {
    const { fn, calls } = script(kind);
    const err = await rejection(callWithRetry(fn, { ...fast, attempts: 5 }));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe(kind);
    expect(calls).toHaveLength(1);
  });

  it('rethrows the last error once attempts run out', async () => {
    const { fn, calls } = script('server_error', 'server_error', 'rate_limited', 'server_error');
    const err = await rejection(callWithRetry(fn, { ...fast, attempts: 3 }));
    expect((err as ProviderError).kind).toBe('rate_limited');
    expect(calls).toHaveLength(3);
  });

  it('times out an attempt, aborts its signal, and retries the timeout', async () => {
    const signals: AbortSignal[] = [];
    const fn = (signal: AbortSignal) => {
      signals.push(signal);
      // The first attempt ignores its signal entirely: the budget must hold anyway.
      return signals.length === 1 ? new Promise<string>(() => {}) : Promise.resolve('second');
    };
    const kinds: (string | undefined)[] = [];
    const started = Date.now();
    const out = await callWithRetry(fn, { ...fast, timeoutMs: 30, attempts: 2, onAttempt: (_, e) => kinds.push(e?.kind) });
    expect(out).toEqual({ result: 'second', attempts: 2 });
    expect(kinds).toEqual(['timeout', undefined]);
    expect(signals[0].aborted).toBe(true);
    expect(signals[1].aborted).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('reports a timeout as timeout even when the adapter rejects with its own abort error', async () => {
    const fn = (signal: AbortSignal) =>
      new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    const err = await rejection(callWithRetry(fn, { ...fast, timeoutMs: 20, attempts: 1 }));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('timeout');
  });

  it('rethrows an unclassified error at once, unwrapped', async () => {
    let calls = 0;
    const bug = new TypeError('cannot read properties of undefined');
    const fn = () => {
      calls++;
      return Promise.reject(bug);
    };
    await expect(callWithRetry(fn, { ...fast, attempts: 3 })).rejects.toBe(bug);
    expect(calls).toBe(1);
  });

  it('stops between attempts when the outer signal aborts', async () => {
    const outer = new AbortController();
    const { fn, calls } = script('server_error', 'server_error');
    // Aborted right after the first failure, i.e. during the backoff sleep.
    const onAttempt = () => outer.abort(new Error('shutting down'));
    const p = callWithRetry(fn, { ...fast, baseDelayMs: 60_000, maxDelayMs: 60_000, attempts: 3, signal: outer.signal, onAttempt });
    await expect(p).rejects.toThrow('shutting down');
    expect(calls).toHaveLength(1);
  });

  it('aborts the running attempt when the outer signal aborts', async () => {
    const outer = new AbortController();
    let inner: AbortSignal | undefined;
    const fn = (signal: AbortSignal) => {
      inner = signal;
      return new Promise<string>(() => {});
    };
    const p = callWithRetry(fn, { ...fast, timeoutMs: 60_000, attempts: 3, signal: outer.signal });
    setTimeout(() => outer.abort(new Error('shutting down')), 20);
    await expect(p).rejects.toThrow('shutting down');
    expect(inner?.aborted).toBe(true);
  });
});

describe('backoffDelay', () => {
  it('draws below an exponential ceiling capped at maxDelayMs', () => {
    const top = () => 0.999999;
    expect(backoffDelay(1, 100, 10_000, top)).toBe(99);
    expect(backoffDelay(3, 100, 10_000, top)).toBe(399);
    expect(backoffDelay(20, 100, 10_000, top)).toBe(9_999);
    expect(backoffDelay(3, 100, 10_000, () => 0)).toBe(0);
  });
});
