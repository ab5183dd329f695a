// Finding a wallet: by its owner id or the start of one (a list, paged), or by
// the id of something it has (a generation, reservation, payment intent or
// Stripe customer), which opens its wallet.
import { api, guarded, showNotice } from './api.js';
import { $, el, fillRows, fmtTime, show } from './dom.js';

const PAGE = 20;
/** The forms GET /v1/admin/lookup takes; anything else is an owner id or its start. */
const LOOKUP_ID = /^(gen_[0-9a-f]{32}|res_[0-9a-f]{32}|pi_[A-Za-z0-9]{1,250}|cus_[A-Za-z0-9]{1,250})$/;
const KIND = { generation: 'Generation', reservation: 'Reservation', payment_intent: 'Payment intent', customer: 'Stripe customer' };
const state = { prefix: null, cursor: null, seq: 0 };

/** `hideWallet` hides the wallet panel (a list replaces it); `navigate` opens a wallet. */
export function initSearch({ navigate, hideWallet }) {
  $('#owner-search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = $('#owner-search').value.trim();
    if (q) void find(q, navigate, hideWallet);
  });
  $('#search-more').addEventListener('click', () => void more());
}

export function hideSearch() {
  state.seq++;
  state.prefix = null;
  show($('#search-panel'), false);
}

async function find(q, navigate, hideWallet) {
  const seq = ++state.seq;
  if (LOOKUP_ID.test(q)) {
    const found = await guarded(() => api('GET', '/v1/admin/lookup', { query: { id: q } }));
    if (!found || seq !== state.seq) return;
    open(navigate, found.owner_id, `${KIND[found.kind] ?? found.kind} ${found.id} belongs to wallet ${found.owner_id}`);
    return;
  }
  const page = await guarded(() => api('GET', '/v1/admin/wallets', { query: { owner_prefix: q, limit: PAGE } }));
  if (!page || seq !== state.seq) return;
  // One wallet, and it is the one typed: open it. Otherwise the list, the exact one (if any) first.
  if (page.data.length === 1 && !page.next_cursor && page.data[0].owner_id === q) {
    open(navigate, q);
    return;
  }
  hideWallet();
  if (location.hash !== '#/wallet') history.replaceState(null, '', '#/wallet');
  state.prefix = q;
  render(page, false);
  show($('#search-panel'));
}

/** Opens a wallet; the notice is shown once the route has run (a hash change clears notices). */
function open(navigate, owner, notice) {
  hideSearch();
  const hash = `#/wallet/${encodeURIComponent(owner)}`;
  if (notice && location.hash !== hash) window.addEventListener('hashchange', () => showNotice(notice), { once: true });
  else if (notice) showNotice(notice);
  navigate(hash);
}

async function more() {
  const { prefix, cursor, seq } = state;
  if (!prefix || !cursor) return;
  const btn = $('#search-more');
  btn.disabled = true;
  const page = await guarded(() => api('GET', '/v1/admin/wallets', { query: { owner_prefix: prefix, limit: PAGE, cursor } }));
  btn.disabled = false;
  if (page && seq === state.seq) render(page, true);
}

function render({ data, next_cursor }, append) {
  const rows = data.map((w) =>
    el(
      'tr',
      { dataset: { testid: 'search-row', owner: w.owner_id } },
      el('td', { class: 'mono' }, el('a', { href: `#/wallet/${encodeURIComponent(w.owner_id)}` }, w.owner_id)),
      el(
        'td',
        {},
        el('span', { class: `badge status-${w.status}` }, w.status),
        w.flagged ? el('span', { class: 'badge status-flagged' }, 'flagged') : null,
      ),
      el('td', { class: 'num' }, w.available),
      el('td', { class: 'num' }, w.held),
      el('td', {}, fmtTime(w.created_at)),
    ),
  );
  if (append) $('#search-body').append(...rows);
  else fillRows($('#search-body'), rows, `No wallet's owner id starts with ${state.prefix}`);
  const shown = $('#search-body').querySelectorAll('[data-testid=search-row]').length;
  state.cursor = next_cursor ?? null;
  $('#search-summary').textContent =
    `${shown} wallet${shown === 1 ? '' : 's'} whose owner id starts with ${state.prefix}${state.cursor ? ', more after these' : ''}`;
  show($('#search-more'), Boolean(state.cursor));
}
