/** What one attempt came to: delivered on a 2xx, else the error to record. */
export function attemptOutcome(status: number | null, error: string | null): { delivered: boolean; error: string | null } {
  if (status !== null && status >= 200 && status < 300) return { delivered: true, error: null };
  if (error) return { delivered: false, error };
  if (status !== null && status >= 300 && status < 400) return { delivered: false, error: 'redirects are not followed' };
  return { delivered: false, error: status === null ? 'no response' : `answered ${status}` };
}

/** A short text of a thrown error, its code first (ECONNREFUSED, ETIMEDOUT), for the attempt record. */
export function errorText(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? `${err.code}: ` : '';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return `${code}${message}`.slice(0, 1000);
}
