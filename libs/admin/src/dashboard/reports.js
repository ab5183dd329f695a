// The audit log and the summary report views.
import { api, guarded } from './api.js';
import { drawDailyChart } from './chart.js';
import { $, addDays, amountCell, clear, dayStart, el, fillRows, fmtTime, isoDay, show } from './dom.js';

const AUDIT_PAGE = 50;
const audit = { filters: {}, cursor: null, actions: new Set(['grant', 'adjustment', 'freeze', 'unfreeze', 'refund', 'price_change']) };

// ---- audit log ----

export function initAudit() {
  $('#audit-filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void loadAudit(false);
  });
  $('#audit-reset').addEventListener('click', () => {
    $('#audit-filters').reset();
    void loadAudit(false);
  });
  $('#audit-older').addEventListener('click', () => void loadAudit(true));
}

/** Shows the audit log for a target (from the wallet panel, say). */
export function presetAudit(filters) {
  for (const [k, v] of Object.entries(filters)) $(`#audit-${k}`).value = v ?? '';
}

export async function loadAudit(older) {
  if (!older) {
    audit.filters = {
      owner_id: $('#audit-owner').value.trim(),
      action: $('#audit-action').value.trim(),
      actor: $('#audit-actor').value.trim(),
      target_id: $('#audit-target').value.trim(),
      from: dayStart($('#audit-from').value),
      to: dayStart($('#audit-to').value, true),
    };
  }
  const btn = $('#audit-older');
  btn.disabled = true;
  await guarded(async () => {
    const page = await api('GET', '/v1/admin/audit-log', {
      query: { ...audit.filters, limit: AUDIT_PAGE, cursor: older ? audit.cursor : undefined },
    });
    renderAudit(page, older);
  });
  btn.disabled = false;
}

function renderAudit({ data, next_cursor }, append) {
  const rows = data.map((a) => {
    audit.actions.add(a.action);
    return el(
      'tr',
      { dataset: { testid: 'audit-row', action: a.action } },
      el('td', {}, fmtTime(a.created_at)),
      el('td', {}, a.actor ?? ''),
      el('td', {}, el('span', { class: `tag act-${a.action}` }, a.action)),
      el('td', { class: 'mono' }, a.target_type ? `${a.target_type}:` : '', a.target_id ?? ''),
      a.amount === null || a.amount === undefined ? el('td', { class: 'num muted' }, '—') : amountCell(a.amount),
      el('td', { class: 'reason' }, a.reason ?? ''),
      el('td', { class: 'mono small-text' }, a.details && Object.keys(a.details).length ? JSON.stringify(a.details) : ''),
    );
  });
  if (append) $('#audit-body').append(...rows);
  else fillRows($('#audit-body'), rows, 'No audit entries match');
  audit.cursor = next_cursor ?? null;
  show($('#audit-older'), Boolean(audit.cursor));
  clear($('#audit-actions')).append(...[...audit.actions].sort().map((a) => el('option', { value: a })));
}

// ---- summary ----

export function initSummary() {
  const today = isoDay(new Date());
  $('#summary-from').value = addDays(today, -29);
  $('#summary-to').value = today;
  $('#summary-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(loadSummary);
  });
}

const TOTALS = ['sold', 'granted', 'spent', 'expired', 'refunded'];

export async function loadSummary() {
  const fromDay = $('#summary-from').value;
  const toDay = $('#summary-to').value;
  if (!fromDay || !toDay || fromDay > toDay) {
    throw new Error('Pick a "from" day on or before the "to" day');
  }
  const query = { from: dayStart(fromDay), to: dayStart(toDay, true) };
  $('#summary-range').textContent = `${fromDay} to ${toDay} (UTC days, inclusive)`;
  $('#view-summary').setAttribute('aria-busy', 'true');
  await Promise.all([
    guarded(async () => {
      const s = await api('GET', '/v1/admin/reports/summary', { query });
      for (const k of TOTALS) $(`#summary-${k}`).textContent = s.tokens?.[k] ?? '—';
      fillRows(
        $('#usd-body'),
        (s.usd_by_variant ?? []).map((v) =>
          el(
            'tr',
            { dataset: { testid: 'variant-row' } },
            el('td', { class: 'mono' }, v.variant),
            el('td', { class: 'num' }, v.tokens),
            el('td', { class: 'num' }, usd(v.usd)),
          ),
        ),
        'No sales in this range',
      );
    }),
    guarded(async () => {
      const d = await api('GET', '/v1/admin/reports/daily', { query });
      drawDailyChart($('#daily-chart'), d.data ?? [], fromDay, toDay);
    }),
  ]);
  $('#view-summary').removeAttribute('aria-busy');
}

function usd(v) {
  if (v === null || v === undefined) return '—';
  const n = Number(v);
  return Number.isFinite(n) ? `$${n.toFixed(2)}` : String(v);
}
