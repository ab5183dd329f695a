// The confirmation dialog every admin action goes through: fields, a live
// "what will happen" summary, a required reason, then one API call. A refusal
// is shown inside the dialog, next to the fields it names, and the dialog
// stays open for a second try.
import { ApiError } from './api.js';
import { $, clear, el, newIdempotencyKey, show } from './dom.js';

let current = null; // { spec, busy, attempt: { body, key } }

/**
 * spec: {
 *   id: 'grant:owner',          // identifies the action and its target
 *   title, confirmLabel, danger?,
 *   fields: [{ name, label, type?, placeholder?, hint?, required?, inputmode? }],  // 'reason' is added
 *   describe(values) -> string[]   // the summary lines
 *   submit(values, idempotencyKey) -> Promise  // the API call; a rejection is shown in the dialog
 *   done?(result)                 // after success, once the dialog is closed (e.g. refresh the panel)
 * }
 */
export function openConfirm(spec) {
  const dialog = $('#confirm-dialog');
  const fields = [
    ...spec.fields,
    { name: 'reason', label: 'Reason (required, kept in the audit log)', type: 'textarea', required: true, placeholder: 'Why?' },
  ];
  $('#confirm-title').textContent = spec.title;
  const box = clear($('#confirm-fields'));
  for (const f of fields) {
    const id = `confirm-${f.name.replace(/_/g, '-')}`;
    const errorId = `${id}-error`;
    const common = { id, name: f.name, placeholder: f.placeholder, 'aria-describedby': f.hint ? `${id}-hint ${errorId}` : errorId };
    const input =
      f.type === 'textarea'
        ? el('textarea', { ...common, rows: 2, maxlength: 1000 })
        : el('input', { ...common, type: f.type ?? 'text', inputmode: f.inputmode, autocomplete: 'off', spellcheck: 'false' });
    input.value = f.value ?? '';
    input.addEventListener('input', () => {
      setFieldError(f.name, '');
      renderSummary();
    });
    box.append(
      el(
        'label',
        { class: 'field', for: id },
        el('span', { class: 'label' }, f.label, f.required ? el('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
        input,
        f.hint ? el('span', { class: 'hint', id: `${id}-hint` }, f.hint) : null,
        el('span', { class: 'field-error', id: errorId, dataset: { testid: 'field-error', field: f.name }, hidden: true }),
      ),
    );
  }
  $('#confirm-ok').textContent = spec.confirmLabel;
  $('#confirm-ok').classList.toggle('danger', Boolean(spec.danger));
  setError('');
  setBusy(false);
  current = { spec: { ...spec, fields }, attempt: null };
  renderSummary();
  dialog.showModal();
  const first = box.querySelector('input, textarea');
  (fields.length > 1 && !first.value ? first : $('#confirm-reason'))?.focus();
}

function values() {
  const out = {};
  for (const f of current.spec.fields) out[f.name] = $(`#confirm-fields [name="${f.name}"]`).value;
  return out;
}

function renderSummary() {
  if (!current) return;
  const lines = current.spec.describe(values());
  clear($('#confirm-summary')).append(...lines.map((l) => el('li', {}, l)));
}

function setError(text) {
  const e = $('#confirm-error');
  e.textContent = text;
  show(e, Boolean(text));
}

function fieldInput(name) {
  return $(`#confirm-fields [name="${name}"]`);
}

function setFieldError(name, text) {
  const input = fieldInput(name);
  const box = $(`#confirm-fields [data-testid=field-error][data-field="${name}"]`);
  if (!input || !box) return;
  box.textContent = text;
  show(box, Boolean(text));
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function clearErrors() {
  setError('');
  for (const f of current?.spec.fields ?? []) setFieldError(f.name, '');
}

/**
 * The API's refusal, in the dialog: each field error under its field; what
 * names no field here (or a refusal without field errors) in the dialog's
 * own line, as the problem's title and detail, once.
 */
function showProblem(err) {
  const problem = err instanceof ApiError ? err.problem : { title: 'Error', detail: String(err?.message ?? err) };
  const byField = new Map();
  const rest = [];
  for (const fe of Array.isArray(problem.errors) ? problem.errors : []) {
    if (fieldInput(fe.field)) byField.set(fe.field, [...(byField.get(fe.field) ?? []), fe.message]);
    else rest.push(`${fe.field}: ${fe.message}`);
  }
  for (const [name, messages] of byField) setFieldError(name, messages.join('; '));
  const general = byField.size > 0 ? rest : rest.length ? rest : [problem.detail].filter(Boolean);
  const code = problem.code ? ` (${problem.code})` : '';
  setError(`${problem.title || 'Error'}${code}${general.length ? `: ${general.join('; ')}` : ''}`);
  const first = byField.keys().next();
  (first.done ? $('#confirm-ok') : fieldInput(first.value)).focus();
}

function setBusy(busy) {
  if (current) current.busy = busy;
  $('#confirm-ok').disabled = busy;
  $('#confirm-cancel').disabled = busy;
  $('#confirm-dialog').classList.toggle('busy', busy);
}

async function confirm(ev) {
  ev.preventDefault();
  if (!current || current.busy) return;
  const v = values();
  clearErrors();
  const missing = current.spec.fields.filter((f) => f.required && !String(v[f.name] ?? '').trim());
  if (missing.length) {
    for (const f of missing) setFieldError(f.name, 'Required');
    setError(`${missing.map((f) => f.label.replace(/ \(.*\)$/, '')).join(', ')}: required`);
    fieldInput(missing[0].name).focus();
    return;
  }
  setBusy(true);
  const { spec } = current;
  const body = { ...v, reason: v.reason.trim() };
  // The same values again (after a timeout, say) reuse the key: the API answers the stored
  // result instead of acting twice. Changed values are a new request with a new key.
  const fingerprint = JSON.stringify(body);
  if (current.attempt?.body !== fingerprint) current.attempt = { body: fingerprint, key: newIdempotencyKey() };
  let result;
  try {
    result = await spec.submit(body, current.attempt.key);
  } catch (e) {
    if (!current) return; // signed out meanwhile (a 401 or 403)
    setBusy(false);
    showProblem(e);
    return;
  }
  close();
  spec.done?.(result);
}

/** Closes the dialog without acting (signing out does). */
export function closeConfirm() {
  close();
}

function close() {
  setBusy(false);
  current = null;
  const d = $('#confirm-dialog');
  if (d.open) d.close();
}

export function initDialog() {
  $('#confirm-form').addEventListener('submit', (ev) => void confirm(ev));
  $('#confirm-cancel').addEventListener('click', () => close());
  // Escape closes, except while the call is in flight.
  $('#confirm-dialog').addEventListener('cancel', (ev) => {
    if (current?.busy) ev.preventDefault();
    else current = null;
  });
}
