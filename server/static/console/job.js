// One job: live progress, the player (the video_url the API hands out; seeking works through
// Range requests), the poster, the output settings, the error with a hint, the warnings.
import { h, clear, stateBadge, progressBar, warningsView, errorBox, reportError } from './dom.js';
import { t, fmtDate, fmtSeconds, fmtBytes, fmtFps, phaseText } from './i18n.js';
import { jobActions } from './jobs.js';

function dl(pairs) {
  return h('dl.kv', {}, pairs.filter(([, v]) => v !== undefined).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function outputSettings(output) {
  const v = (x, unset = t('as_draft')) => (x === null || x === undefined ? unset : String(x));
  return dl([[t('width'), v(output.width)], [t('height'), v(output.height)],
    [t('fps'), output.fps ? fmtFps(output.fps) : t('as_draft')],
    [t('crf'), v(output.crf)], [t('preset'), v(output.preset)], [t('start_s'), v(output.start_s, t('from_start'))],
    [t('end_s'), v(output.end_s, t('to_end'))]]);
}

export function jobView(root, { api, id, navigate }) {
  let es = null;
  let stopped = false;
  let bar = null;
  let phase = null;
  let shownState = null;

  function show(job) {
    shownState = job.state;
    bar = progressBar(job);
    phase = h('span.phase', { dataset: { testid: 'phase' } }, phaseText(job.phase));
    const parts = [
      h('div.job-head', {},
        h('a.back', { href: '#/jobs' }, t('back')),
        h('h2', {}, `${t('job')} `, h('code', { dataset: { testid: 'job-id' } }, job.id)),
        stateBadge(job.state),
        h('span.spacer'),
        jobActions(api, job, (j) => (j.id === job.id ? show(j) : navigate(`#/job/${encodeURIComponent(j.id)}`)))),
      h('div.card', {}, h('div.progress-row', {}, bar, phase),
        dl([[t('draft'), job.draft_url ? h('code.wrap', {}, job.draft_url) : t('inline_draft')],
          [t('created'), fmtDate(job.created_at)], [t('started'), fmtDate(job.started_at)],
          [t('finished'), fmtDate(job.completed_at)], [t('attempts'), String(job.attempts)]])),
    ];
    if (job.error) parts.push(h('section.card', {}, h('h3', {}, t('error')), errorBox(job.error)));
    if (job.state === 'completed' && job.video_url) {
      const src = api.sameOrigin(job.video_url);
      const poster = api.sameOrigin(job.poster_url);
      const r = job.result;
      parts.push(h('section.card.media', {},
        h('div.player', {}, h('h3', {}, t('video')),
          h('video', { controls: true, preload: 'auto', muted: true, playsInline: true, src, poster: poster || undefined,
            dataset: { testid: 'player' } }),
          h('a.download', { href: src, download: `${job.id}.mp4` }, t('download'))),
        h('div.side', {},
          poster ? [h('h3', {}, t('poster')), h('img.poster', { src: poster, alt: t('poster'), dataset: { testid: 'poster' } })] : null,
          r ? [h('h3', {}, t('result')), dl([[t('output_size'), `${r.width}×${r.height}`], [t('fps'), fmtFps(r.fps)],
            [t('frames_label'), String(r.frames)], [t('duration'), fmtSeconds(r.duration_s)], [t('size'), fmtBytes(r.size_bytes)],
            [t('elapsed'), fmtSeconds(r.elapsed_s)],
            [t('speed'), r.realtime_factor ? t('realtime', { x: r.realtime_factor.toFixed(2) }) : '—']])] : null)));
    }
    parts.push(h('section.card', {}, h('h3', {}, t('output')), outputSettings(job.output)));
    const total = job.result ? job.result.duration_s : null;
    parts.push(h('section.card', { dataset: { testid: 'warnings' } },
      h('h3', {}, `${t('warnings')} (${job.warnings.length})`),
      warningsView(job.warnings, total, job.state === 'completed' || job.frames_total > 0)));
    clear(root).append(...parts);
  }

  function follow(job) {
    if (es || (job.state !== 'queued' && job.state !== 'running')) return;
    es = api.events(job.id);
    const onJob = (ev) => {
      const j = JSON.parse(ev.data);
      if (stopped) return;
      if (ev.type === 'progress' && j.state === shownState) {
        bar.update(j);
        phase.textContent = phaseText(j.phase);
      } else {
        show(j);
      }
      if (ev.type !== 'progress') { es.close(); es = null; }
    };
    for (const name of ['progress', 'completed', 'failed', 'cancelled']) es.addEventListener(name, onJob);
    es.onerror = () => {             // the stream broke: look again (this also surfaces a 401)
      es.close();
      es = null;
      if (!stopped) setTimeout(() => load(), 1000);
    };
  }

  async function load() {
    try {
      const job = await api.get(`v1/renders/${encodeURIComponent(id)}`);
      if (stopped) return;
      show(job);
      follow(job);
    } catch (err) {
      if (stopped) return;
      clear(root).append(h('a.back', { href: '#/jobs' }, t('back')),
        errorBox({ code: err.code, message: err.message, details: err.details }));
      if (err.status !== 404) reportError(err);
    }
  }

  load();
  return () => { stopped = true; if (es) es.close(); };
}
