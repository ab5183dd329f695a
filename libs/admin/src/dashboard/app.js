// The admin dashboard: sign-in, hash routing between the views, sign-out.
import { api, ApiError, guarded, hideError, hideNotice, session, setAuthFailureHandler, showError } from './api.js';
import { closeConfirm, initDialog } from './dialog.js';
import { loadHooks } from './hooks.js';
import { loadPrices } from './prices.js';
import { $, $$, clear, show } from './dom.js';
import { initAudit, initSummary, loadAudit, loadSummary, presetAudit } from './reports.js';
import { currentOwner, initWallet, loadWallet, resetWallet } from './wallet.js';

const VIEWS = ['sign-in', 'wallet', 'audit', 'summary', 'hooks', 'prices'];

function showView(name) {
  for (const v of VIEWS) show($(`#view-${v}`), v === name);
  const signedIn = name !== 'sign-in';
  show($('#nav'), signedIn);
  show($('#sign-out'), signedIn);
  for (const a of $$('#nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${name === 'sign-in' ? 'Sign in' : name[0].toUpperCase() + name.slice(1)} · Token Wallet admin`;
}

export function navigate(hash) {
  if (location.hash === hash) void route();
  else location.hash = hash;
}

async function route() {
  if (!session.key) {
    showView('sign-in');
    $('#api-key').focus();
    return;
  }
  const [, view = 'wallet', arg] = /^#\/([a-z]+)(?:\/(.*))?$/.exec(location.hash) ?? [];
  switch (view) {
    case 'audit':
      showView('audit');
      await loadAudit(false);
      break;
    case 'summary':
      showView('summary');
      await guarded(loadSummary);
      break;
    case 'hooks':
      showView('hooks');
      await guarded(loadHooks);
      break;
    case 'prices':
      showView('prices');
      await guarded(loadPrices);
      break;
    default: {
      showView('wallet');
      const owner = arg ? safeDecode(arg) : null;
      if (owner) await loadWallet(owner);
      else {
        resetWallet();
        $('#owner-search').focus();
      }
    }
  }
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

async function signIn(ev) {
  ev.preventDefault();
  const key = $('#api-key').value.trim();
  if (!key) {
    showError(new ApiError(0, { title: 'API key required', detail: 'Paste an admin API key to sign in' }));
    return;
  }
  const btn = $('#sign-in');
  btn.disabled = true;
  hideError();
  try {
    // Any admin-only read proves the key: 401 unknown key, 403 not an admin key.
    await api('GET', '/v1/admin/audit-log', { key, query: { limit: 1 } });
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      showError(e);
      btn.disabled = false;
      $('#api-key').select();
      return;
    }
    showError(e); // the key may be fine; the page still opens and shows the failure
  }
  btn.disabled = false;
  session.set(key);
  $('#api-key').value = '';
  await route();
}

/** Forgets the key and every piece of data shown, back to the sign-in form. */
function signOut() {
  session.clear();
  resetWallet();
  for (const id of ['#audit-body', '#usd-body', '#daily-chart', '#hooks-body', '#hook-failures-body']) clear($(id));
  closeConfirm();
  hideNotice();
  showView('sign-in');
  $('#api-key').focus();
}

function init() {
  initDialog();
  initWallet(navigate);
  initAudit();
  initSummary();
  setAuthFailureHandler(() => signOut());
  $('#sign-in-form').addEventListener('submit', (ev) => void signIn(ev));
  $('#sign-out').addEventListener('click', () => {
    hideError();
    signOut();
  });
  $('#alert-close').addEventListener('click', hideError);
  $('#hooks-refresh').addEventListener('click', () => void guarded(loadHooks));
  $('#wallet-audit').addEventListener('click', () => {
    // The wallet's own actions and those on its generations (a refund's target is the generation).
    presetAudit({ owner: currentOwner() ?? '', action: '', actor: '', target: '', from: '', to: '' });
    navigate('#/audit');
  });
  window.addEventListener('hashchange', () => {
    closeConfirm(); // a dialog acts on the view it was opened from
    hideError();
    hideNotice();
    void route();
  });
  window.addEventListener('unhandledrejection', (ev) => showError(ev.reason));
  void route();
}

init();
