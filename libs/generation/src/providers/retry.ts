import { ProviderError } from './provider.js';

export interface RetryOptions {
  /** Total tries, the first included. */
  attempts: number;
  /** Budget of one attempt; past it the attempt's signal aborts and the attempt counts as a 'timeout'. */
  timeoutMs: number;
  baseDelayMs: number;
  /** Cap on one backoff sleep; defaults to 30 s. */
  maxDelayMs?: number;
  /** Called after every attempt: without `err` when it succeeded, with it when it failed. */
  onAttempt?: (n: number, err?: ProviderError) => void;
  /** Cancels the whole call (worker shutdown, job deadline): no further attempts or sleeps. */
  signal?: AbortSignal;
}

const DEFAULT_MAX_DELAY_MS = 30_000;

/**
 * Runs `fn` until it succeeds, fails with a non-retryable ProviderError, or
 * runs out of attempts; the provider SDKs' own retries are off so that this is
 * the only retry loop and the attempt count is ours to record.
 *
 * Errors that are not ProviderErrors are rethrown at once, unretried: adapters
 * classify every provider and transport failure, so anything else is a bug
 * that retrying would only hide (and delay).
 */
export async function callWithRetry<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  opts: RetryOptions,
): Promise<{ result: T; attempts: number }> {
  const attempts = Math.max(1, Math.floor(opts.attempts));
  const maxDelayMs = opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  let lastError: ProviderError | undefined;
  for (let n = 1; n <= attempts; n++) {
    opts.signal?.throwIfAborted();
    try {
      const result = await attempt(fn, opts.timeoutMs, opts.signal);
      opts.onAttempt?.(n, undefined);
      return { result, attempts: n };
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      lastError = err;
      opts.onAttempt?.(n, err);
      if (!err.retryable || n === attempts) break;
      await sleep(backoffDelay(n, opts.baseDelayMs, maxDelayMs), opts.signal);
    }
  }
  throw lastError ?? new ProviderError('no attempt was made', 'network');
}

/**
 * "Full jitter" (AWS architecture blog, Exponential Backoff and Jitter): a
 * uniform draw below the exponential ceiling, so workers that failed together
 * on a provider outage do not come back together.
 */
export function backoffDelay(failedAttempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.floor(random() * ceiling);
}

async function attempt<T>(fn: (signal: AbortSignal) => Promise<T>, timeoutMs: number, outer?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const timeout = new ProviderError(`provider call timed out after ${timeoutMs} ms`, 'timeout');
  const onOuterAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  // The race means an adapter that ignores its signal still cannot hold the worker past the budget.
  let rejectAborted: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => (rejectAborted = reject));
  controller.signal.addEventListener('abort', () => rejectAborted(controller.signal.reason), { once: true });
  const timer = setTimeout(() => controller.abort(timeout), timeoutMs);
  const call = fn(controller.signal);
  // Lost the race: its eventual rejection is expected and must not surface as unhandled.
  call.catch(() => {});
  try {
    return await Promise.race([call, aborted]);
  } catch (err) {
    // Whatever the adapter made of the abort (AbortError, its own 'timeout'), the cause is our budget.
    if (controller.signal.reason === timeout) throw timeout;
    throw err;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
