// The wallet panel: balances, buckets, holds, generations, transactions and
// the statement CSV, and the admin actions (grant, adjust, freeze/unfreeze, refund).
import { api, apiText, guarded, hideError, seg, showNotice } from './api.js';
import { loadControls } from './controls.js';
import { openConfirm } from './dialog.js';
import { $, addDays, amountCell, dayStart, el, fillRows, fmtTime, formatTokens, isoDay, parseTokens, show } from './dom.js';
import { fetchGenerations, generationOf, initGenerations, refundableOf, renderGenerations } from './generations.js';
import { hideSearch, initSearch } from './search.js';

const TX_PAGE = 20;
const state = { owner: null, data: null, txCursor: null, loadSeq: 0 };

export function currentOwner() {
  return state.owner;
}

export function initWallet(navigate) {
  initSearch({ navigate, hideWallet });
  initGenerations(openRefund);
  $('#wallet-refresh').addEventListener('click', () => void refreshWallet());
  $('#transactions-older').addEventListener('click', () => void loadTransactions(true));
  $('#grant-open').addEventListener('click', openGrant);
  $('#adjust-open').addEventListener('click', openAdjust);
  $('#freeze-open').addEventListener('click', () => openFreeze(true));
  $('#unfreeze-open').addEventListener('click', () => openFreeze(false));
  const today = isoDay(new Date());
  $('#statement-from').value = addDays(today, -29);
  $('#statement-to').value = today;
  $('#statement-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void guarded(downloadStatement);
  });
}

/** Hides the panel (a search list takes its place) and forgets which wallet it showed. */
function hideWallet() {
  state.owner = null;
  state.data = null;
  state.loadSeq++;
  show($('#wallet-panel'), false);
}

export function resetWallet() {
  hideWallet();
  hideSearch();
  $('#owner-search').value = '';
}

/** Loads (or reloads) a wallet's panel. */
export async function loadWallet(owner) {
  hideSearch();
  const seq = ++state.loadSeq;
  state.owner = owner;
  $('#owner-search').value = owner;
  $('#wallet-panel').setAttribute('aria-busy', 'true');
  const ok = await guarded(async () => {
    const [data, tx, generations, renderControls] = await Promise.all([
      api('GET', `/v1/admin/wallets/${seg(owner)}`),
      api('GET', `/v1/wallets/${seg(owner)}/transactions`, { query: { limit: TX_PAGE } }),
      fetchGenerations(owner),
      loadControls(owner),
    ]);
    if (seq !== state.loadSeq) return true; // another search superseded this one
    state.data = data;
    renderWallet(data);
    renderGenerations(owner, generations, false);
    renderTransactions(tx, false);
    renderControls();
    return true;
  });
  if (seq !== state.loadSeq) return;
  $('#wallet-panel').removeAttribute('aria-busy');
  if (!ok) {
    state.data = null;
    show($('#wallet-panel'), false);
  }
}

export const refreshWallet = () => (state.owner ? loadWallet(state.owner) : Promise.resolve());

function renderWallet({ wallet, reservations = [] }) {
  $('#wallet-owner').textContent = wallet.owner_id;
  const status = $('#wallet-status');
  status.textContent = wallet.status;
  status.className = `badge status-${wallet.status}`;
  show($('#wallet-flagged'), Boolean(wallet.flagged));
  $('#wallet-plan').textContent = planText(wallet.plan);
  $('#wallet-created').replaceChildren(fmtTime(wallet.created_at));
  $('#wallet-available').textContent = wallet.balance.available;
  $('#wallet-held').textContent = wallet.balance.held;
  show($('#freeze-open'), wallet.status !== 'frozen');
  show($('#unfreeze-open'), wallet.status === 'frozen');

  fillRows(
    $('#buckets-body'),
    wallet.buckets.map((b) =>
      el(
        'tr',
        { dataset: { testid: 'bucket-row' } },
        el('td', { title: b.id }, el('span', { class: `tag src-${b.source}` }, b.source)),
        el('td', { class: 'num' }, b.granted),
        el('td', { class: 'num' }, b.remaining),
        el('td', {}, b.expires_at ? fmtTime(b.expires_at) : el('span', { class: 'muted' }, 'never')),
      ),
    ),
    'No spendable buckets',
  );

  fillRows(
    $('#reservations-body'),
    reservations.map((r) =>
      el(
        'tr',
        { dataset: { testid: 'reservation-row' } },
        el('td', { class: 'mono' }, r.id),
        el('td', {}, r.status),
        el('td', { class: 'num' }, r.reserved),
        el('td', {}, fmtTime(r.expires_at)),
        el('td', {}, fmtTime(r.created_at)),
        el('td', { class: 'mono' }, r.ref ?? ''),
      ),
    ),
    'No pending reservations',
  );

  show($('#wallet-panel'));
}

function planText(plan) {
  if (!plan || typeof plan !== 'object') return 'none';
  const end = plan.current_period_end ? ` until ${String(plan.current_period_end).slice(0, 10)}` : '';
  const cancel = plan.cancel_at_period_end ? ', cancels at period end' : '';
  return `${plan.plan_id ?? 'plan'} (${plan.status ?? 'unknown'}${end}${cancel})`;
}

async function loadTransactions(older) {
  if (!state.owner) return;
  const owner = state.owner;
  const btn = $('#transactions-older');
  btn.disabled = true;
  await guarded(async () => {
    const page = await api('GET', `/v1/wallets/${seg(owner)}/transactions`, {
      query: { limit: TX_PAGE, cursor: older ? state.txCursor : undefined },
    });
    if (owner === state.owner) renderTransactions(page, older);
  });
  btn.disabled = false;
}

function renderTransactions({ data, next_cursor }, append) {
  // A hold's end (settle, release, expire) moves no available tokens when charged in full: what
  // it charged, released and returned to the buckets says what happened.
  const hold = (t, v) => el('td', { class: 'num' }, t.charged === null ? '' : v);
  const rows = data.map((t) =>
    el(
      'tr',
      { dataset: { testid: 'transaction-row', type: t.type } },
      el('td', {}, fmtTime(t.created_at)),
      el('td', {}, el('span', { class: 'tag' }, t.type)),
      amountCell(t.amount),
      hold(t, t.charged),
      hold(t, t.released),
      hold(t, t.amount),
      el('td', { class: 'mono' }, t.ref ?? ''),
      el('td', { class: 'mono small-text' }, t.metadata ? JSON.stringify(t.metadata) : ''),
    ),
  );
  if (append) $('#transactions-body').append(...rows);
  else fillRows($('#transactions-body'), rows, 'No transactions');
  state.txCursor = next_cursor ?? null;
  show($('#transactions-older'), Boolean(state.txCursor));
}

/** The statement route answers CSV to a Bearer key, so it is fetched and handed to the browser as a file. */
async function downloadStatement() {
  const owner = state.owner;
  const from = $('#statement-from').value;
  const to = $('#statement-to').value;
  if (!owner) return;
  if (!from || !to || from > to) throw new Error('Pick a statement "from" day on or before the "to" day');
  const csv = await apiText(`/v1/wallets/${seg(owner)}/statement.csv`, {
    accept: 'text/csv',
    query: { from: dayStart(from), to: dayStart(to, true) },
  });
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  const a = el('a', { href: url, download: `statement-${owner}-${from}-${to}.csv`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  showNotice(`Statement of ${owner} for ${from} to ${to} downloaded`);
}

// ---- actions ----

const available = () => parseTokens(state.data?.wallet.balance.available) ?? 0n;

/** Summary line for an amount field: the parsed amount, or why it will be refused. */
function amountLine(raw, signed) {
  const milli = parseTokens(raw);
  if (!String(raw ?? '').trim()) return { milli: null, line: 'Amount: (enter an amount)' };
  if (milli === null || (!signed && String(raw).trim().startsWith('-')))
    return { milli: null, line: `Amount "${raw}" is not a token amount with at most 3 decimals: the server will refuse it` };
  return { milli, line: null };
}

function balanceLine(delta) {
  const before = available();
  return `Available balance: ${formatTokens(before)} → ${formatTokens(before + delta)}`;
}

function localToIso(v) {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

function done(text) {
  return () => {
    hideError();
    showNotice(text);
    void refreshWallet();
  };
}

function openGrant() {
  const owner = state.owner;
  let summary = '';
  openConfirm({
    id: `grant:${owner}`,
    title: `Grant tokens to ${owner}`,
    confirmLabel: 'Grant',
    fields: [
      { name: 'amount', label: 'Amount (tokens)', required: true, placeholder: '10.000', inputmode: 'decimal' },
      { name: 'expires_at', label: 'Expires (optional, your local time)', type: 'datetime-local' },
    ],
    describe(v) {
      const a = amountLine(v.amount, false);
      const exp = localToIso(v.expires_at);
      summary = a.milli !== null ? `Granted ${formatTokens(a.milli)} tokens to ${owner}` : `Granted tokens to ${owner}`;
      return [
        a.line ?? `Credit ${formatTokens(a.milli)} tokens to ${owner} in a new grant bucket`,
        exp ? `The bucket expires at ${exp}` : 'The bucket never expires',
        a.milli !== null ? balanceLine(a.milli) : null,
      ].filter(Boolean);
    },
    submit: (v, idempotencyKey) =>
      api('POST', `/v1/admin/wallets/${seg(owner)}/grants`, {
        idempotencyKey,
        body: { amount: v.amount.trim(), reason: v.reason, ...(v.expires_at ? { expires_at: localToIso(v.expires_at) } : {}) },
      }),
    done: (r) => done(r?.amount ? `Granted ${r.amount} tokens to ${owner}` : summary)(),
  });
}

function openAdjust() {
  const owner = state.owner;
  openConfirm({
    id: `adjust:${owner}`,
    title: `Adjust the balance of ${owner}`,
    confirmLabel: 'Adjust',
    danger: true,
    fields: [
      {
        name: 'amount',
        label: 'Signed amount (tokens)',
        required: true,
        placeholder: '-2.500 or 5',
        hint: 'Positive credits, negative debits; a debit never takes a bucket below 0.',
      },
    ],
    describe(v) {
      const a = amountLine(v.amount, true);
      if (a.line) return [a.line];
      const verb = a.milli < 0n ? `Debit ${formatTokens(-a.milli)} tokens from` : `Credit ${formatTokens(a.milli)} tokens to`;
      const lines = [`${verb} ${owner}`, balanceLine(a.milli)];
      if (available() + a.milli < 0n) lines.push('This is more than the available balance: the server will refuse it');
      return lines;
    },
    submit: (v, idempotencyKey) =>
      api('POST', `/v1/admin/wallets/${seg(owner)}/adjustments`, { idempotencyKey, body: { amount: v.amount.trim(), reason: v.reason } }),
    done: (r) => done(`Adjusted ${owner} by ${r?.amount ?? 'the amount'}`)(),
  });
}

function openFreeze(freeze) {
  const owner = state.owner;
  openConfirm({
    id: `${freeze ? 'freeze' : 'unfreeze'}:${owner}`,
    title: `${freeze ? 'Freeze' : 'Unfreeze'} wallet ${owner}`,
    confirmLabel: freeze ? 'Freeze' : 'Unfreeze',
    danger: freeze,
    fields: [],
    describe: () =>
      freeze
        ? [`Status: active → frozen`, 'New reservations and generations are refused (423 wallet_frozen); the balance is kept']
        : [`Status: frozen → active`, 'The wallet can spend again'],
    submit: (v, idempotencyKey) =>
      api('POST', `/v1/admin/wallets/${seg(owner)}/${freeze ? 'freeze' : 'unfreeze'}`, { idempotencyKey, body: { reason: v.reason } }),
    done: (r) => done(`Wallet ${owner} is now ${r?.status ?? (freeze ? 'frozen' : 'active')}`)(),
  });
}

function openRefund(generationId) {
  const owner = state.owner;
  const g = generationOf(generationId);
  const refundable = g ? refundableOf(g) : null;
  openConfirm({
    id: `refund:${generationId}`,
    title: `Refund generation ${generationId}`,
    confirmLabel: 'Refund',
    fields: [
      {
        name: 'amount',
        label: 'Amount (optional, default: all that is left)',
        placeholder: refundable !== null ? formatTokens(refundable) : '',
        inputmode: 'decimal',
      },
    ],
    describe(v) {
      const lines = [];
      if (g) lines.push(`Charged ${g.tokens_used ?? '?'} tokens, already refunded ${g.refunded ?? '0.000'}`);
      let milli = refundable;
      if (String(v.amount ?? '').trim()) {
        const a = amountLine(v.amount, false);
        if (a.line) return [...lines, a.line];
        milli = a.milli;
      }
      if (milli === null) return [...lines, `Refund to ${owner} (the server computes the amount)`];
      lines.push(
        `Refund ${formatTokens(milli)} tokens to ${owner}, into a refund bucket with the earliest expiry of the buckets that paid`,
      );
      if (refundable !== null && milli > refundable) lines.push('This is more than what is left to refund: the server will refuse it');
      lines.push(balanceLine(milli));
      return lines;
    },
    submit: (v, idempotencyKey) =>
      api('POST', `/v1/admin/generations/${seg(generationId)}/refund`, {
        idempotencyKey,
        body: { ...(v.amount.trim() ? { amount: v.amount.trim() } : {}), reason: v.reason },
      }),
    done: (r) => done(`Refunded ${r?.amount ?? ''} tokens for ${generationId}`.replace('  ', ' '))(),
  });
}
