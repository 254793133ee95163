// Building the page from data. Text always goes in as text nodes (never as HTML), so names
// from drafts and error details cannot inject markup. No inline styles either: sizes are set
// through the CSSOM, which the page's Content-Security-Policy allows.
import { t, fmtSeconds } from './i18n.js';

/** h('a.cls#id', {href, onclick, dataset: {...}}, child, 'text', [children]) → an Element. */
export function h(spec, attrs = {}, ...children) {
  const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/i);
  const el = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name in el && typeof value !== 'string') el[name] = value;
    else el.setAttribute(name, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function stateBadge(state) {
  return h(`span.badge.state-${state}`, { dataset: { state } }, t(`state.${state}`));
}

/** A progress bar with frames and ETA; `update(job)` changes it in place. */
export function progressBar(job) {
  const fill = h('div.fill');
  const bar = h('div.bar', { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
    dataset: { testid: 'job-progress' } }, fill);
  const label = h('span.progress-label');
  const root = h('div.progress', {}, bar, label);
  root.update = (j) => {
    const pct = Math.max(0, Math.min(100, j.progress || 0));
    fill.style.width = `${pct}%`;
    bar.setAttribute('aria-valuenow', String(pct));
    bar.dataset.state = j.state;
    const parts = [`${pct} %`];
    if (j.frames_total) parts.push(t('frames', { done: j.frames_done, total: j.frames_total }));
    if (j.eta_s !== null && j.eta_s !== undefined && j.state === 'running') parts.push(t('eta', { t: fmtSeconds(j.eta_s) }));
    label.textContent = parts.join(' · ');
  };
  root.update(job);
  return root;
}

const STATUS_ORDER = ['skipped', 'approximated', 'note'];

function rangeText(w) {
  if (w.start_us === undefined || w.start_us === null) return '';
  const end = w.end_us === undefined || w.end_us === null ? '' : (w.end_us / 1e6).toFixed(2);
  return `${(w.start_us / 1e6).toFixed(2)}–${end} s`;
}

/** Warnings grouped by status (skipped / approximated / note), each group with a strip that
 * marks its time ranges on the timeline (0 … `totalS` seconds). */
export function warningsView(warnings, totalS, known = true) {
  if (!warnings.length) return h('p.muted', { dataset: { testid: 'no-warnings' } }, t(known ? 'no_warnings' : 'no_warnings_yet'));
  const ends = warnings.map((w) => (w.end_us || w.start_us || 0) / 1e6);
  const total = Math.max(totalS || 0, ...ends, 0.001);
  const groups = [];
  const statuses = [...STATUS_ORDER, ...new Set(warnings.map((w) => w.status).filter((s) => !STATUS_ORDER.includes(s)))];
  for (const status of statuses) {
    const items = warnings.filter((w) => w.status === status);
    if (!items.length) continue;
    const strip = h('div.strip', { title: t('timeline'), dataset: { testid: 'warning-strip' } });
    for (const w of items) {
      if (w.start_us === undefined || w.start_us === null) continue;
      const mark = h(`div.mark.status-${status}`, { title: `${w.kind} ${w.name || ''} ${rangeText(w)}` });
      const start = w.start_us / 1e6;
      const end = (w.end_us ?? w.start_us) / 1e6;
      mark.style.left = `${(100 * start) / total}%`;
      mark.style.width = `${Math.max(0.6, (100 * (end - start)) / total)}%`;
      strip.append(mark);
    }
    const list = h('ul.warnings', {}, items.map((w) => h('li', { dataset: { testid: 'warning', kind: w.kind, status: w.status } },
      h('span.kind', {}, w.kind), ' ',
      w.name ? h('strong', {}, w.name) : null,
      w.resource_id ? h('span.muted', {}, ` (${w.resource_id})`) : null,
      w.segment_id ? h('span.muted', {}, ` · ${t('segment')} ${w.segment_id}`) : null,
      rangeText(w) ? h('span.range', {}, ` · ${rangeText(w)}`) : null,
      w.message ? h('div.message', {}, w.message) : null)));
    groups.push(h(`section.wgroup.status-${status}`, { dataset: { status } },
      h('h4', {}, `${t(`status.${status}`)} (${items.length})`, h('span.muted', {}, ` — ${t(`status_help.${status}`)}`)),
      strip, h('div.axis', {}, h('span', {}, '0 s'), h('span', {}, `${total.toFixed(1)} s`)), list));
  }
  return h('div.wgroups', {}, groups);
}

/** An error box: code, message, details, JSON path and a plain-language hint. */
export function errorBox(err) {
  const hintKey = `hint.${err.code}`;
  const hint = t(hintKey);
  return h('div.error-box', { role: 'alert', dataset: { testid: 'error', code: err.code } },
    h('div', {}, h('code', {}, err.code), ' ', h('strong', {}, err.message || '')),
    err.details ? h('div.details', {}, err.details) : null,
    err.path ? h('div.details', {}, h('code', {}, err.path)) : null,
    hint !== hintKey ? h('div.hint', {}, h('strong', {}, `${t('hint')}: `), hint) : null);
}

/** An API error as a toast; a 401 is not repeated (the key prompt is open already). */
export function reportError(err) {
  if (err.status !== 401) toast(`${err.code}: ${err.message}`, 'bad');
}

/** A transient message at the bottom of the page. */
export function toast(text, kind = 'info') {
  const box = document.getElementById('toasts');
  const el = h(`div.toast.${kind}`, { role: 'status' }, text);
  box.append(el);
  setTimeout(() => el.remove(), 5000);
}
