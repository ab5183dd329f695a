// Small DOM helpers: every value from the API goes through textContent, never innerHTML.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** el('td', { class: 'num', dataset: { testid: 'x' } }, 'text', child) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function show(node, visible = true) {
  node.hidden = !visible;
}

/** Fills a tbody with rows, or one "nothing here" row spanning the table. */
export function fillRows(tbody, rows, emptyText) {
  clear(tbody);
  if (rows.length) {
    tbody.append(...rows);
    return;
  }
  const cols = tbody.closest('table')?.querySelectorAll('thead th').length ?? 1;
  tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: cols }, emptyText)));
}

/** "2025-01-31T12:00:00.000Z" -> "2025-01-31 12:00 UTC" (the full value in a tooltip). */
export function fmtTime(iso) {
  if (!iso) return el('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const text = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return el('time', { datetime: iso, title: iso }, text);
}

/** Token strings have exactly three decimals; arithmetic is done in thousandths with BigInt. */
const TOKENS = /^([+-]?)(\d+)(?:\.(\d{1,3}))?$/;

export function parseTokens(s) {
  const m = TOKENS.exec(String(s ?? '').trim());
  if (!m) return null;
  const milli = BigInt(m[2]) * 1000n + BigInt((m[3] ?? '').padEnd(3, '0'));
  return m[1] === '-' ? -milli : milli;
}

export function formatTokens(milli) {
  const neg = milli < 0n;
  const abs = neg ? -milli : milli;
  return `${neg ? '-' : ''}${abs / 1000n}.${String(abs % 1000n).padStart(3, '0')}`;
}

/** A signed amount cell, coloured by direction. */
export function amountCell(amount) {
  const milli = parseTokens(amount);
  const cls = milli === null || milli === 0n ? 'num' : milli > 0n ? 'num pos' : 'num neg';
  return el('td', { class: cls }, amount ?? '—');
}

/** A fresh Idempotency-Key: crypto.randomUUID where available (secure contexts), else a v4 UUID from getRandomValues. */
export function newIdempotencyKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** YYYY-MM-DD of a Date in UTC. */
export const isoDay = (d) => d.toISOString().slice(0, 10);

export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00.000Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

/** A UTC day (YYYY-MM-DD) as the ISO instant it starts at; `end` gives the start of the next day (an exclusive bound). */
export const dayStart = (day, end = false) => (day ? `${end ? addDays(day, 1) : day}T00:00:00.000Z` : undefined);
