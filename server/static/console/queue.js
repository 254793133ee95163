// Workers and queue (GET /v1/stats): jobs per state, renders running now, the last hour.
import { h, clear, stateBadge, progressBar, reportError } from './dom.js';
import { t, fmtSeconds, phaseText } from './i18n.js';

const REFRESH_MS = 2000;

function fact(label, value, testid) {
  return h('div.fact', { dataset: { testid } }, h('div.label', {}, label), h('div.value', {}, value));
}

export function queueView(root, { api }) {
  let stopped = false;
  const body = h('div');
  clear(root).append(h('h2', {}, t('queue_title')), body);

  async function load() {
    try {
      const s = await api.get('v1/stats');
      if (stopped) return;
      const hr = s.last_hour;
      clear(body).append(
        h('div.cards', {},
          h('section.card', {}, h('h3', {}, t('jobs_by_state')),
            h('div.facts', {}, Object.entries(s.jobs).map(([state, n]) =>
              fact(stateBadge(state), String(n), `count-${state}`)))),
          h('section.card', {}, h('h3', {}, t('workers')), h('div.facts', {},
            fact(t('queue_depth'), String(s.queue_depth), 'queue-depth'),
            fact(t('workers'), t('workers_line', { alive: s.workers_alive, busy: s.workers_busy, n: s.concurrency }), 'workers')))),
        h('section.card', {}, h('h3', {}, t('running_now')),
          s.running.length ? h('table.jobs', {}, h('tbody', {}, s.running.map((j) => h('tr', {},
            h('td.id', {}, h('a', { href: `#/job/${encodeURIComponent(j.id)}` }, j.id.slice(0, 12))),
            h('td.progress-cell', {}, progressBar({ ...j, state: 'running' })),
            h('td', {}, phaseText(j.phase)))))) : h('p.muted', {}, t('nothing_running'))),
        h('section.card', {}, h('h3', {}, t('last_hour')), h('div.facts', {},
          fact(t('completed_n'), String(hr.completed), 'hour-completed'),
          fact(t('failed_n'), String(hr.failed)),
          fact(t('cancelled_n'), String(hr.cancelled)),
          fact(t('frames_rendered'), String(hr.frames)),
          fact(t('video_rendered'), fmtSeconds(hr.video_s)),
          fact(t('throughput'), hr.frames_per_s === null ? '—' : String(hr.frames_per_s)))));
    } catch (err) {
      if (!stopped) reportError(err);
    }
  }

  load();
  const timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
  return () => { stopped = true; clearInterval(timer); };
}
