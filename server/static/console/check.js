// Check a draft: paste a draft_url or drop a draft_content.json, see what the renderer sees
// (POST /v1/probe: tracks, length, canvas, warnings), then render it — whole, as a
// low-resolution preview, or a time range (the native API's output options).
import { h, clear, warningsView, errorBox, toast } from './dom.js';
import { t, fmtSeconds, fmtFps } from './i18n.js';

function numberField(name, label, attrs = {}) {
  return h('label.field', {}, h('span', {}, label),
    h('input', { type: 'number', name, min: '0', step: 'any', inputmode: 'decimal', dataset: { testid: `opt-${name}` }, ...attrs }));
}

function tracksView(result) {
  const total = Math.max(result.duration_s, 0.001);
  return h('div.tracks', {}, result.tracks.map((tr) => {
    const strip = h('div.strip.track-strip');
    for (const it of tr.items) {
      const mark = h(`div.mark.item-${it.kind}`, { title: `${it.kind} ${it.name} ${it.start_s.toFixed(2)}–${it.end_s.toFixed(2)} s` });
      mark.style.left = `${(100 * it.start_s) / total}%`;
      mark.style.width = `${Math.max(0.6, (100 * (it.end_s - it.start_s)) / total)}%`;
      strip.append(mark);
    }
    return h('div.track', { dataset: { testid: 'probe-track', kind: tr.kind } },
      h('div.track-name', {}, t(`track.${tr.kind}`), tr.z !== null ? h('span.muted', {}, ` z=${tr.z}`) : null,
        h('span.muted', {}, ` · ${t('items', { n: tr.items.length })}`)),
      strip,
      h('div.track-items.muted.small', {}, tr.items.slice(0, 6).map((it) => `${it.kind} ${it.name}`).join(' · ')
        + (tr.items.length > 6 ? ' …' : '')));
  }));
}

export function checkView(root, { api, navigate }) {
  let inline = null;            // a dropped draft_content.json (parsed)
  const url = h('input.url', { type: 'url', name: 'draft_url', placeholder: t('draft_url_placeholder'), spellcheck: false,
    autocomplete: 'off', dataset: { testid: 'draft-url' }, oninput: () => { if (url.value.trim()) setInline(null); } });
  const fileInput = h('input', { type: 'file', accept: '.json,application/json', hidden: true, dataset: { testid: 'draft-file' },
    onchange: () => fileInput.files[0] && readFile(fileInput.files[0]) });
  const fileNote = h('p.muted.small', { hidden: true, dataset: { testid: 'file-note' } });
  const drop = h('div.drop', { dataset: { testid: 'drop' } }, t('drop_here'), ' · ',
    h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); fileInput.click(); } }, t('choose_file')), fileInput);
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const f = ev.dataTransfer.files[0];
    if (f) readFile(f);
  });
  const opts = { start_s: numberField('start_s', t('start_s')), end_s: numberField('end_s', t('end_s')),
    width: numberField('width', t('width'), { min: '16', step: '2' }), height: numberField('height', t('height'), { min: '16', step: '2' }),
    fps: numberField('fps', t('fps'), { min: '1', max: '120' }) };
  const out = h('div.probe-result', { dataset: { testid: 'probe-result' } });
  const buttons = {
    check: h('button.primary', { type: 'submit', dataset: { testid: 'check' } }, t('check')),
    render: h('button', { type: 'button', dataset: { testid: 'render' }, onclick: () => submit(false) }, t('render_full')),
    preview: h('button', { type: 'button', dataset: { testid: 'render-preview' }, onclick: () => submit(true) }, t('render_preview')),
  };
  const form = h('form.check-form', { onsubmit: (ev) => { ev.preventDefault(); probe(); } },
    h('label.field.wide', {}, h('span', {}, t('draft_url')), url), drop, fileNote,
    h('details', {}, h('summary', {}, t('options')), h('div.opts', {}, Object.values(opts)), h('p.muted.small', {}, t('preview_hint'))),
    h('div.buttons', {}, buttons.check, buttons.render, buttons.preview));
  clear(root).append(h('h2', {}, t('check_title')), h('div.card', {}, form), out);

  function setInline(obj, name = '', size = 0) {
    inline = obj;
    fileNote.textContent = obj ? t('loaded_file', { name, n: size }) : '';
    fileNote.hidden = !obj;
  }

  async function readFile(file) {
    const text = await file.text();
    try {
      const obj = JSON.parse(text);
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('not a JSON object');
      setInline(obj, file.name, file.size);
      url.value = '';
    } catch (exc) {
      setInline(null);
      toast(t('bad_json', { msg: exc.message }), 'bad');
    }
  }

  function output(preview) {
    const o = {};
    for (const [name, field] of Object.entries(opts)) {
      const v = field.querySelector('input').value.trim();
      if (v !== '') o[name] = name === 'width' || name === 'height' ? parseInt(v, 10) : Number(v);
    }
    if (preview) o.preview = true;
    return o;
  }

  function body(preview) {
    const src = inline ? { draft: inline } : { draft_url: url.value.trim() };
    if (!inline && !src.draft_url) { toast(t('need_source'), 'bad'); return null; }
    return { ...src, output: output(preview) };
  }

  function busy(on) { for (const b of Object.values(buttons)) b.disabled = on; }

  async function probe() {
    const req = body(false);
    if (!req) return;
    busy(true);
    clear(out).append(h('p.muted', {}, t('probing')));
    try {
      const r = await api.post('v1/probe', req);
      clear(out).append(h('section.card', {},
        h('div.facts', {},
          fact(t('canvas'), `${r.canvas_width}×${r.canvas_height}`),
          fact(t('output_size'), `${r.width}×${r.height}`),
          fact(t('fps'), fmtFps(r.fps)),
          fact(t('frames_label'), String(r.frames)),
          fact(t('draft_duration'), fmtSeconds(r.duration_s)),
          fact(t('output_length'), fmtSeconds(r.output_duration_s))),
        h('h3', {}, t('tracks')), tracksView(r),
        h('h3', {}, `${t('warnings')} (${r.warnings.length})`), warningsView(r.warnings, r.duration_s)));
    } catch (err) {
      clear(out).append(errorBox({ code: err.code, message: err.message, details: err.details, path: err.path }));
    } finally {
      busy(false);
    }
  }

  async function submit(preview) {
    const req = body(preview);
    if (!req) return;
    busy(true);
    try {
      const job = await api.post('v1/renders', req);
      navigate(`#/job/${encodeURIComponent(job.id)}`);
    } catch (err) {
      clear(out).append(errorBox({ code: err.code, message: err.message, details: err.details, path: err.path }));
    } finally {
      busy(false);
    }
  }

  return () => {};
}

function fact(label, value) {
  return h('div.fact', {}, h('div.label', {}, label), h('div.value', {}, value));
}
