// The price list in effect: one row per variant and combination of dimensions.
import { api } from './api.js';
import { $, el, fillRows, fmtTime } from './dom.js';

/** "quality high, size 1024x1024", or "flat" for a price keyed by the variant alone. */
export function dimensionsText(d) {
  const keys = Object.keys(d ?? {}).sort();
  return keys.length ? keys.map((k) => `${k} ${d[k]}`).join(', ') : 'flat';
}

export async function loadPrices() {
  const { data } = await api('GET', '/v1/prices');
  fillRows(
    $('#prices-body'),
    data.map((p) =>
      el(
        'tr',
        { dataset: { testid: 'price-row', variant: p.variant } },
        el('td', { class: 'mono' }, p.variant, p.default ? [' ', el('span', { class: 'tag' }, 'default')] : null),
        el('td', { class: 'mono' }, p.model),
        el('td', { dataset: { testid: 'price-dimensions' } }, dimensionsText(p.dimensions)),
        el('td', {}, p.unit),
        el('td', { class: 'num' }, p.tokens),
        el('td', { class: 'num' }, p.usd),
        el('td', { class: 'num' }, String(p.version)),
        el('td', {}, fmtTime(p.effective_at)),
      ),
    ),
    'No prices',
  );
}
