// A wallet's generations, newest first and paged: the prompt (its start), what
// was delivered of what was asked, the image, why one failed, and a refund
// button for what is left to refund.
import { api, guarded, seg } from './api.js';
import { $, el, fillRows, fmtTime, formatTokens, parseTokens, show } from './dom.js';
import { dimensionsText } from './prices.js';

const PAGE = 20;
const PROMPT_SHOWN = 60;
const state = { owner: null, cursor: null, byId: new Map() };

export const fetchGenerations = (owner, cursor) =>
  api('GET', `/v1/admin/wallets/${seg(owner)}/generations`, { query: { limit: PAGE, cursor } });

export function initGenerations(openRefund) {
  $('#generations-older').addEventListener('click', () => void older());
  $('#generations-body').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-generation-id]');
    if (b) openRefund(b.dataset.generationId);
  });
}

/** The generation as last shown, for the refund dialog. */
export const generationOf = (id) => state.byId.get(id);

/** What is left to refund of a settled generation, in thousandths; null when it cannot be refunded. */
export function refundableOf(g) {
  if (g.status !== 'succeeded') return null;
  const used = parseTokens(g.tokens_used);
  const refunded = parseTokens(g.refunded ?? '0') ?? 0n;
  return used === null ? null : used - refunded;
}

async function older() {
  const { owner, cursor } = state;
  if (!owner || !cursor) return;
  const btn = $('#generations-older');
  btn.disabled = true;
  const page = await guarded(() => fetchGenerations(owner, cursor));
  btn.disabled = false;
  if (page && owner === state.owner) renderGenerations(owner, page, true);
}

export function renderGenerations(owner, { data, next_cursor }, append) {
  if (!append || owner !== state.owner) state.byId.clear();
  state.owner = owner;
  for (const g of data) state.byId.set(g.id, g);
  const rows = data.map(row);
  if (append) $('#generations-body').append(...rows);
  else fillRows($('#generations-body'), rows, 'No generations');
  state.cursor = next_cursor ?? null;
  show($('#generations-older'), Boolean(state.cursor));
}

function row(g) {
  const refundable = refundableOf(g);
  const prompt = g.prompt.length > PROMPT_SHOWN || g.prompt_truncated ? `${g.prompt.slice(0, PROMPT_SHOWN)}…` : g.prompt;
  return el(
    'tr',
    { dataset: { testid: 'generation-row', generationId: g.id } },
    el('td', { class: 'mono' }, g.id),
    el(
      'td',
      {},
      el('span', { class: `tag gen-${g.status}` }, g.status),
      g.error
        ? el('div', { class: 'gen-error', dataset: { testid: 'generation-error' } }, el('code', {}, g.error.code), ` ${g.error.message}`)
        : null,
    ),
    el('td', { class: 'prompt', title: g.prompt_truncated ? `${g.prompt}…` : g.prompt, dataset: { testid: 'generation-prompt' } }, prompt),
    el('td', {}, g.variant),
    el('td', { dataset: { testid: 'generation-price' } }, pricedAt(g.price)),
    el('td', { class: 'num', dataset: { testid: 'generation-delivered' } }, `${g.delivered} of ${g.n}`),
    el('td', { class: 'num' }, g.tokens_used),
    el('td', { class: 'num' }, g.refunded),
    el('td', {}, fmtTime(g.created_at)),
    el(
      'td',
      {},
      g.image_url
        ? el('a', { href: g.image_url, target: '_blank', rel: 'noopener noreferrer', dataset: { testid: 'generation-image' } }, 'image')
        : el('span', { class: 'muted' }, '—'),
    ),
    el(
      'td',
      {},
      el(
        'button',
        {
          type: 'button',
          class: 'small',
          dataset: { testid: 'refund-open', generationId: g.id },
          disabled: refundable === null || refundable <= 0n,
          title: refundable !== null && refundable > 0n ? `Up to ${formatTokens(refundable)} tokens` : 'Nothing left to refund',
        },
        'Refund',
      ),
    ),
  );
}

/** "3.540 per image · v1 · quality high, size 1024x1024": the price it was reserved at, and the dimensions that chose it. */
function pricedAt(p) {
  const version = p.version === null ? 'version not recorded' : `v${p.version}`;
  return `${p.unit_price} per image · ${version} · ${dimensionsText(p.dimensions)}`;
}
