// The wallet's spend controls and event feed (spec section 9): budgets with what
// they have used, alerts and their state, and the latest events. Gateway routes,
// which an admin key may call.
import { api, seg } from './api.js';
import { $, el, fillRows, fmtTime } from './dom.js';

const EVENTS_SHOWN = 50;
/** How far back the feed is read for one wallet's latest events (pages of 1000). */
const EVENT_PAGES = 20;

export async function loadControls(owner) {
  const [budgets, alerts, events, autoTopUp] = await Promise.all([
    api('GET', `/v1/wallets/${seg(owner)}/budgets`),
    api('GET', `/v1/wallets/${seg(owner)}/alerts`),
    latestEvents(owner),
    api('GET', `/v1/wallets/${seg(owner)}/auto-top-up`),
  ]);
  return () => {
    renderControls(budgets.data, alerts.data, events);
    renderAutoTopUp(autoTopUp);
  };
}

/** The feed is oldest first with a forward cursor: follow it and keep the tail. */
async function latestEvents(owner) {
  let kept = [];
  let after;
  for (let page = 0; page < EVENT_PAGES; page++) {
    const r = await api('GET', '/v1/events', { query: { owner_id: owner, limit: 1000, after } });
    kept = kept.concat(r.data).slice(-EVENTS_SHOWN);
    if (r.data.length < 1000) break;
    after = r.next_cursor;
  }
  return kept.reverse();
}

function renderControls(budgets, alerts, events) {
  fillRows(
    $('#budgets-body'),
    budgets.map((b) =>
      el(
        'tr',
        { dataset: { testid: 'budget-row' } },
        el('td', { class: 'mono' }, b.name),
        el('td', {}, b.scope, b.subject ? el('span', { class: 'muted mono' }, ` ${b.subject}`) : null),
        el('td', {}, b.period),
        el('td', { class: 'num' }, b.limit),
        el('td', { class: 'num', dataset: { testid: 'budget-used' } }, b.used),
        el('td', { class: 'num', dataset: { testid: 'budget-remaining' } }, b.remaining),
        el('td', {}, b.resets_at ? fmtTime(b.resets_at) : el('span', { class: 'muted' }, 'never')),
      ),
    ),
    'No budgets',
  );
  fillRows(
    $('#alerts-body'),
    alerts.map((a) =>
      el(
        'tr',
        { dataset: { testid: 'alert-row' } },
        el('td', { class: 'mono' }, a.name),
        el('td', {}, a.type),
        el('td', {}, a.type === 'balance_below' ? `below ${a.threshold}` : `${a.percent}% of ${a.budget}`),
        el('td', {}, el('span', { class: `tag alert-${a.state}`, dataset: { testid: 'alert-state' } }, a.state)),
        el('td', {}, fmtTime(a.changed_at)),
      ),
    ),
    'No alerts',
  );
  fillRows(
    $('#events-body'),
    events.map((e) =>
      el(
        'tr',
        { dataset: { testid: 'event-row' } },
        el('td', { class: 'num' }, String(e.seq)),
        el('td', { class: 'mono' }, e.type),
        el('td', {}, fmtTime(e.created_at)),
        el('td', { class: 'mono small-text' }, JSON.stringify(e.data)),
      ),
    ),
    'No events',
  );
}

/** Auto top-up (spec section 10): its settings, the saved card, and the latest attempts. */
function renderAutoTopUp(a) {
  const card = a.payment_method ? `${a.payment_method.brand ?? 'card'} ${a.payment_method.last4 ?? a.payment_method.id}` : 'no saved card';
  $('#atu-summary').textContent = a.threshold
    ? `${a.enabled ? 'On' : 'Off'}: below ${a.threshold} buy ${a.pack_id}, ${a.this_month} of ${a.max_per_month} this month; ${card}; failures in a row: ${a.failures}`
    : `Not set up; ${card}`;
  $('#atu-disabled').textContent = a.disabled_reason ? `Turned off: ${a.disabled_reason}` : '';
  fillRows(
    $('#atu-body'),
    a.attempts.map((x) =>
      el(
        'tr',
        { dataset: { testid: 'atu-attempt' } },
        el('td', { class: 'num' }, String(x.crossing)),
        el('td', {}, el('span', { class: `tag atu-${x.status}`, dataset: { testid: 'atu-status' } }, x.status)),
        el('td', { class: 'mono' }, x.payment_intent ?? '-'),
        el('td', { class: 'num' }, x.tokens === null ? '-' : String(x.tokens)),
        el('td', {}, x.error ?? ''),
        el('td', {}, fmtTime(x.updated_at)),
      ),
    ),
    'No attempts',
  );
}
