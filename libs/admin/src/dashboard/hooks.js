// The webhook endpoints of the event feed: each with its queue and recent failures.
import { api } from './api.js';
import { $, el, fillRows, fmtTime } from './dom.js';

export async function loadHooks() {
  const { data } = await api('GET', '/v1/admin/webhook-endpoints');
  fillRows(
    $('#hooks-body'),
    data.map((e) =>
      el(
        'tr',
        { dataset: { testid: 'hook-row', name: e.name } },
        el('td', { class: 'mono' }, e.name),
        el('td', { class: 'mono' }, e.url),
        el('td', {}, e.types.length ? e.types.join(', ') : el('span', { class: 'muted' }, 'all')),
        el('td', {}, el('span', { class: `tag ${e.disabled ? 'hook-paused' : 'hook-on'}` }, e.disabled ? 'paused' : 'on')),
        el('td', { class: 'num', dataset: { testid: 'hook-pending' } }, String(e.pending)),
        el('td', { class: 'num', dataset: { testid: 'hook-given-up' } }, String(e.given_up)),
      ),
    ),
    'No webhook endpoints',
  );
  const failures = data.flatMap((e) => e.recent_failures.map((f) => ({ endpoint: e.name, ...f })));
  failures.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  fillRows(
    $('#hook-failures-body'),
    failures.map((f) =>
      el(
        'tr',
        { dataset: { testid: 'hook-failure-row' } },
        el('td', {}, fmtTime(f.at)),
        el('td', { class: 'mono' }, f.endpoint),
        el('td', { class: 'mono' }, f.event_id),
        el('td', { class: 'mono' }, f.owner_id),
        el('td', {}, f.type),
        el('td', { class: 'num' }, String(f.attempt)),
        el('td', { dataset: { testid: 'hook-failure-why' } }, f.status_code !== null ? `HTTP ${f.status_code}` : (f.error ?? '')),
        el('td', {}, f.state),
      ),
    ),
    'No recent failures',
  );
}
