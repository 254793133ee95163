// The jobs table: the caller's jobs, newest first, paged (#/jobs?limit=N, default 20) and
// filterable by state (#/jobs?state=running). Rows of
// active jobs follow their Server-Sent Events stream (a few at a time: a browser keeps only
// about six connections per server); the page reloads every few seconds for new jobs.
import { h, clear, stateBadge, progressBar, toast, reportError } from './dom.js';
import { t, fmtDate, fmtSeconds, fmtBytes, phaseText } from './i18n.js';

const PAGE_SIZE = 20;
const MAX_STREAMS = 4;
const RELOAD_MS = 5000;
const STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'];

/** The output options of a job as a request body (nulls dropped). */
export function outputBody(output) {
  return Object.fromEntries(Object.entries(output || {}).filter(([, v]) => v !== null && v !== undefined));
}

/** Cancel / re-submit buttons of a job; `done(job)` gets the changed or new job. */
export function jobActions(api, job, done) {
  const out = [];
  if (job.state === 'queued' || job.state === 'running') {
    out.push(h('button.small.danger', { type: 'button', dataset: { testid: 'cancel' }, onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        const j = await api.del(`v1/renders/${encodeURIComponent(job.id)}`);
        toast(t('cancelled_ok'));
        done(j);
      } catch (err) {
        reportError(err);
        ev.target.disabled = false;
      }
    } }, t('cancel_job')));
  } else if (job.draft_url) {
    out.push(h('button.small', { type: 'button', dataset: { testid: 'resubmit' }, onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        const j = await api.post('v1/renders', { draft_url: job.draft_url, output: outputBody(job.output) });
        toast(t('resubmitted', { id: j.id }));
        done(j);
      } catch (err) {
        reportError(err);
      } finally {
        ev.target.disabled = false;
      }
    } }, t('resubmit')));
  }
  return out;
}

export function jobsView(root, { api, params }) {
  let filter = params.get('state') || '';
  const pageSize = Math.max(1, Math.min(100, parseInt(params.get('limit'), 10) || PAGE_SIZE));
  const stack = [];            // `before` values of the pages above this one
  let before = null;
  let nextBefore = null;
  const rows = new Map();      // job id -> row.update(job)
  const streams = new Map();   // job id -> EventSource
  let stopped = false;

  const select = h('select', { dataset: { testid: 'state-filter' }, 'aria-label': t('state'), onchange: () => {
    filter = select.value;
    stack.length = 0;
    before = null;
    load();
  } }, h('option', { value: '' }, t('all_states')), STATES.map((s) => h('option', { value: s }, t(`state.${s}`))));
  select.value = filter;
  const newer = h('button.small', { type: 'button', onclick: () => { before = stack.pop() ?? null; load(); } }, t('newer'));
  const older = h('button.small', { type: 'button', onclick: () => { stack.push(before); before = nextBefore; load(); } }, t('older'));
  const tbody = h('tbody');
  const table = h('table.jobs', { dataset: { testid: 'jobs-table' } },
    h('thead', {}, h('tr', {}, ['job', 'state', 'progress', 'phase', 'created', 'started', 'finished', 'duration',
      'size', 'warnings', 'actions'].map((k) => h('th', {}, t(k))))),
    tbody);
  const empty = h('p.muted.empty', { hidden: true }, t('no_jobs'));
  clear(root).append(
    h('div.toolbar', {}, select, h('button.small', { type: 'button', onclick: () => load() }, t('refresh')),
      h('span.spacer'), newer, older),
    h('div.table-wrap', {}, table), empty);

  function row(job) {
    // cells are made once and updated in place: a button under the mouse is only replaced
    // when the job changes state, never by a progress event
    const bar = progressBar(job);
    const c = {
      state: h('td'), phase: h('td'), created: h('td.time'), started: h('td.time'), finished: h('td.time'),
      duration: h('td.num'), size: h('td.num'), warnings: h('td.num', { dataset: { testid: 'warning-count' } }),
      actions: h('td.actions'),
    };
    const tr = h('tr', { dataset: { id: job.id } },
      h('td.id', {}, h('a', { href: `#/job/${encodeURIComponent(job.id)}` }, job.id.slice(0, 12)),
        h('div.muted.small', {}, job.draft_id || t('inline_draft'))),
      c.state, h('td.progress-cell', {}, bar), c.phase, c.created, c.started, c.finished, c.duration, c.size,
      c.warnings, c.actions);
    let shown = null;
    const update = (j) => {
      bar.update(j);
      c.phase.textContent = phaseText(j.phase);
      c.created.textContent = fmtDate(j.created_at);
      c.started.textContent = fmtDate(j.started_at);
      c.finished.textContent = fmtDate(j.completed_at);
      const took = j.started_at && j.completed_at ? (Date.parse(j.completed_at) - Date.parse(j.started_at)) / 1000 : null;
      c.finished.title = took !== null ? `${t('elapsed')}: ${fmtSeconds(took)}` : '';
      c.duration.textContent = j.result ? fmtSeconds(j.result.duration_s) : '—';
      c.size.textContent = j.result ? fmtBytes(j.result.size_bytes) : '—';
      c.warnings.textContent = String(j.warnings.length);
      if (j.state !== shown) {
        shown = j.state;
        clear(c.state).append(stateBadge(j.state));
        clear(c.actions).append(...jobActions(api, j, () => load()));
      }
    };
    update(job);
    rows.set(job.id, update);
    return tr;
  }

  function follow(job) {
    if (streams.has(job.id) || streams.size >= MAX_STREAMS) return;
    const es = api.events(job.id);
    streams.set(job.id, es);
    const onJob = (ev) => {
      const j = JSON.parse(ev.data);
      rows.get(j.id)?.(j);
      if (ev.type !== 'progress') { es.close(); streams.delete(j.id); load(); }
    };
    for (const name of ['progress', 'completed', 'failed', 'cancelled']) es.addEventListener(name, onJob);
    es.onerror = () => { es.close(); streams.delete(job.id); };
  }

  let loading = null;
  async function load() {
    if (loading) return loading;
    loading = (async () => {
      const q = new URLSearchParams({ limit: String(pageSize) });
      if (filter) q.set('state', filter);
      if (before !== null) q.set('before', String(before));
      try {
        const page = await api.get(`v1/renders?${q}`);
        if (stopped) return;
        nextBefore = page.next_before;
        const ids = page.items.map((j) => j.id);
        const same = ids.length === tbody.children.length && ids.every((id, i) => tbody.children[i].dataset.id === id);
        if (same) {
          for (const j of page.items) rows.get(j.id)(j);     // rows (and their buttons) stay in place
        } else {
          rows.clear();
          clear(tbody).append(...page.items.map(row));
        }
        empty.hidden = page.items.length > 0;
        newer.disabled = stack.length === 0;
        older.disabled = nextBefore === null;
        const live = new Set();
        for (const j of page.items) if (j.state === 'queued' || j.state === 'running') { follow(j); live.add(j.id); }
        for (const [id, es] of streams) if (!live.has(id)) { es.close(); streams.delete(id); }
      } catch (err) {
        if (!stopped) reportError(err);
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  load();
  const timer = setInterval(() => { if (!document.hidden) load(); }, RELOAD_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
    for (const es of streams.values()) es.close();
  };
}
