// The admin API client: the key lives in sessionStorage (gone when the tab closes).
import { $, clear, el, newIdempotencyKey, show } from './dom.js';

const KEY_STORAGE = 'tw.admin.key';

export const session = {
  get key() {
    return sessionStorage.getItem(KEY_STORAGE);
  },
  set(key) {
    sessionStorage.setItem(KEY_STORAGE, key);
  },
  clear() {
    sessionStorage.removeItem(KEY_STORAGE);
  },
};

/** A failed call, carrying the problem+json body (or one made up for network errors). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

let onAuthFailure = () => {};
/** Called with the ApiError on any 401/403: the app goes back to sign-in. */
export function setAuthFailureHandler(fn) {
  onAuthFailure = fn;
}

/**
 * One call to the API. `idempotencyKey` is sent as the Idempotency-Key
 * (`idempotent: true` sends a fresh one). Resolves with the parsed JSON body;
 * rejects with an ApiError.
 */
export async function api(method, path, { body, query, idempotent = false, idempotencyKey, key = session.key } = {}) {
  const headers = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  else if (idempotent) headers['idempotency-key'] = newIdempotencyKey();
  const text = await request(method, path, { headers, query, key, body: body === undefined ? undefined : JSON.stringify(body) });
  return parseJson(text);
}

function parseJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** A GET of a non-JSON body (the statement CSV): resolves with its text; rejects with an ApiError. */
export function apiText(path, { query, accept } = {}) {
  return request('GET', path, { headers: { accept: `${accept}, application/problem+json` }, query, key: session.key });
}

async function request(method, path, { headers, query, key, body }) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  if (key) headers.authorization = `Bearer ${key}`;
  let res;
  try {
    res = await fetch(url, { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { title: 'Network error', detail: `Could not reach the server: ${e.message}`, code: 'network_error' });
  }
  const text = await res.text();
  if (res.ok) return text;
  const json = parseJson(text);
  const problem =
    json && typeof json === 'object'
      ? json
      : { title: res.statusText || 'Error', detail: text.slice(0, 500) || `HTTP ${res.status}`, code: 'http_error' };
  const err = new ApiError(res.status, { status: res.status, ...problem });
  if (res.status === 401 || res.status === 403) onAuthFailure(err);
  throw err;
}

/** Path segment encoding for ids typed by the user. */
export const seg = (s) => encodeURIComponent(String(s));

// ---- the alert area: every failure is shown here, never swallowed ----

export function showError(err) {
  const problem = err instanceof ApiError ? err.problem : { title: 'Error', detail: String(err?.message ?? err) };
  const box = $('#alert');
  $('#alert-title').textContent = problem.title || 'Error';
  $('#alert-detail').textContent = problem.detail || '';
  const meta = [problem.status ? `HTTP ${problem.status}` : null, problem.code].filter(Boolean).join(' · ');
  $('#alert-code').textContent = meta;
  const list = clear($('#alert-errors'));
  for (const fe of Array.isArray(problem.errors) ? problem.errors : []) {
    list.append(el('li', { dataset: { testid: 'alert-field-error' } }, el('code', {}, fe.field ?? '?'), ` ${fe.message ?? ''}`));
  }
  show(list, list.children.length > 0);
  show(box);
  box.scrollIntoView({ block: 'nearest' });
  hideNotice();
}

export function hideError() {
  show($('#alert'), false);
}

let noticeTimer;
export function showNotice(text) {
  const n = $('#notice');
  n.textContent = text;
  show(n);
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(hideNotice, 8000);
}

export function hideNotice() {
  show($('#notice'), false);
}

/** Runs an async UI action, routing any failure to the alert area. Returns undefined on failure. */
export async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  }
}
