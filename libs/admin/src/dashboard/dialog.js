// The confirmation dialog every admin action goes through: fields, a live
// "what will happen" summary, a required reason, then one API call.
import { showError } from './api.js';
import { $, clear, el, show } from './dom.js';

let current = null; // { spec, busy }
let draft = null; // values of a failed attempt, offered again when the same action is reopened

/**
 * spec: {
 *   id: 'grant:owner',          // identifies the action and its target
 *   title, confirmLabel, danger?,
 *   fields: [{ name, label, type?, placeholder?, hint?, required?, inputmode? }],  // 'reason' is added
 *   describe(values) -> string[]   // the summary lines
 *   submit(values) -> Promise     // the API call; a rejection is shown in the alert area
 *   done?(result)                 // after success, once the dialog is closed (e.g. refresh the panel)
 * }
 */
export function openConfirm(spec) {
  const dialog = $('#confirm-dialog');
  const fields = [
    ...spec.fields,
    { name: 'reason', label: 'Reason (required, kept in the audit log)', type: 'textarea', required: true, placeholder: 'Why?' },
  ];
  const previous = draft && draft.id === spec.id ? draft.values : {};
  draft = null;
  $('#confirm-title').textContent = spec.title;
  const box = clear($('#confirm-fields'));
  for (const f of fields) {
    const id = `confirm-${f.name.replace(/_/g, '-')}`;
    const input =
      f.type === 'textarea'
        ? el('textarea', { id, name: f.name, rows: 2, maxlength: 1000, placeholder: f.placeholder })
        : el('input', {
            id,
            name: f.name,
            type: f.type ?? 'text',
            placeholder: f.placeholder,
            inputmode: f.inputmode,
            autocomplete: 'off',
            spellcheck: 'false',
          });
    input.value = previous[f.name] ?? f.value ?? '';
    input.addEventListener('input', renderSummary);
    box.append(
      el(
        'label',
        { class: 'field', for: id },
        el('span', { class: 'label' }, f.label, f.required ? el('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
        input,
        f.hint ? el('span', { class: 'hint' }, f.hint) : null,
      ),
    );
  }
  $('#confirm-ok').textContent = spec.confirmLabel;
  $('#confirm-ok').classList.toggle('danger', Boolean(spec.danger));
  setError('');
  setBusy(false);
  current = { spec: { ...spec, fields } };
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
  const missing = current.spec.fields.filter((f) => f.required && !String(v[f.name] ?? '').trim());
  if (missing.length) {
    setError(`${missing.map((f) => f.label.replace(/ \(.*\)$/, '')).join(', ')}: required`);
    $(`#confirm-fields [name="${missing[0].name}"]`).focus();
    return;
  }
  setError('');
  setBusy(true);
  const { spec } = current;
  let result;
  try {
    result = await spec.submit({ ...v, reason: v.reason.trim() });
  } catch (e) {
    // Keep what was typed for a second try, and show the API's answer.
    draft = { id: spec.id, values: v };
    close();
    showError(e);
    return;
  }
  close();
  spec.done?.(result);
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
