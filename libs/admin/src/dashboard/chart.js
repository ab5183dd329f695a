// A dependency-free SVG bar chart of tokens sold / spent / expired per UTC day.
import { addDays, clear, el } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const SERIES = [
  { key: 'sold', label: 'Sold' },
  { key: 'spent', label: 'Spent' },
  { key: 'expired', label: 'Expired' },
];
const W = 960;
const H = 320;
const M = { top: 16, right: 16, bottom: 44, left: 64 };
const MAX_DAYS = 400;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** A round upper bound and its tick step (1, 2 or 5 times a power of ten). */
export function niceScale(max, ticks = 5) {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw);
  return { top: Math.ceil(max / step) * step, step };
}

const fmtTick = (v) =>
  Math.abs(v) >= 1000 ? `${(v / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })}k` : String(+v.toFixed(3));

/**
 * Draws into `container` (emptied first): rows are [{day, sold, spent, expired}]
 * with token strings; days missing from the rows are drawn as zero.
 */
export function drawDailyChart(container, rows, fromDay, toDay) {
  clear(container);
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const days = [];
  for (let d = fromDay; d <= toDay && days.length < MAX_DAYS; d = addDays(d, 1)) days.push(d);
  const value = (day, key) => {
    const n = Number(byDay.get(day)?.[key] ?? 0);
    return Number.isFinite(n) ? n : 0;
  };
  const max = Math.max(0, ...days.flatMap((d) => SERIES.map((s) => value(d, s.key))));
  const { top, step } = niceScale(max);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const y = (v) => M.top + ph - (v / top) * ph;
  const band = pw / Math.max(days.length, 1);
  const barW = Math.max(1, (band * 0.8) / SERIES.length);

  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart',
    role: 'img',
    'aria-label': `Tokens sold, spent and expired per day from ${fromDay} to ${toDay}`,
    'data-testid': 'daily-chart',
  });
  chart.append(svg('title', {}, `Tokens per day, ${fromDay} to ${toDay}`));

  const grid = svg('g', { class: 'grid' });
  for (let v = 0; v <= top + step / 2; v += step) {
    grid.append(
      svg('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      svg('text', { x: M.left - 8, y: y(v), class: 'tick y', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, fmtTick(v)),
    );
  }
  chart.append(grid);

  const every = Math.ceil(days.length / 12);
  const bars = svg('g', { class: 'bars' });
  const labels = svg('g', { class: 'x-labels' });
  days.forEach((day, i) => {
    const x0 = M.left + i * band + band * 0.1;
    SERIES.forEach((s, j) => {
      const v = value(day, s.key);
      if (v <= 0) return;
      const yTop = y(v);
      bars.append(
        svg(
          'rect',
          { class: `bar ${s.key}`, x: x0 + j * barW, y: yTop, width: barW, height: Math.max(1, M.top + ph - yTop), 'data-day': day },
          svg('title', {}, `${day} ${s.label.toLowerCase()}: ${byDay.get(day)?.[s.key] ?? v}`),
        ),
      );
    });
    if (i % every === 0) {
      labels.append(
        svg('text', { x: M.left + (i + 0.5) * band, y: H - M.bottom + 18, class: 'tick x', 'text-anchor': 'middle' }, day.slice(5)),
      );
    }
  });
  chart.append(bars, labels);
  chart.append(svg('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: M.top + ph, y2: M.top + ph }));
  chart.append(
    svg(
      'text',
      { x: 14, y: M.top + ph / 2, class: 'axis-title', transform: `rotate(-90 14 ${M.top + ph / 2})`, 'text-anchor': 'middle' },
      'tokens',
    ),
  );
  if (max === 0) {
    chart.append(
      svg('text', { x: M.left + pw / 2, y: M.top + ph / 2, class: 'empty-note', 'text-anchor': 'middle' }, 'No activity in this range'),
    );
  }

  const legend = el(
    'ul',
    { class: 'legend' },
    SERIES.map((s) => el('li', {}, el('span', { class: `swatch ${s.key}`, 'aria-hidden': 'true' }), s.label)),
  );
  const table = el(
    'details',
    { class: 'chart-data' },
    el('summary', {}, 'Show the numbers'),
    el(
      'table',
      {},
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', {}, 'day'),
          SERIES.map((s) => el('th', { class: 'num' }, s.key)),
        ),
      ),
      el(
        'tbody',
        {},
        rows.map((r) =>
          el(
            'tr',
            { dataset: { testid: 'daily-row' } },
            el('td', {}, r.day),
            SERIES.map((s) => el('td', { class: 'num' }, r[s.key] ?? '0.000')),
          ),
        ),
      ),
    ),
  );
  container.append(chart, legend, table);
}
