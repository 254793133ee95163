// UI text in English and Chinese. The language follows the browser (navigator.languages,
// which is what it sends as Accept-Language) until the user picks one with the switch.
const CHOICE = 'draft-renderer.lang';

const TEXT = {
  en: {
    title: 'Draft renderer', tab_jobs: 'Jobs', tab_check: 'Check a draft', tab_queue: 'Queue',
    key_button: 'API key', key_title: 'API key', key_help: 'This service needs an API key. It is kept in this browser tab only (session storage).',
    key_placeholder: 'your key', key_save: 'Use this key', key_forget: 'Forget key', key_rejected: 'The key was not accepted.',
    cancel: 'Cancel', close: 'Close',
    state: 'State', all_states: 'All states', progress: 'Progress', phase: 'Phase', created: 'Created', started: 'Started',
    finished: 'Finished', duration: 'Duration', size: 'Size', warnings: 'Warnings', actions: 'Actions', job: 'Job',
    newer: '← Newer', older: 'Older →', no_jobs: 'No jobs yet. Check a draft to render one.', refresh: 'Refresh',
    cancel_job: 'Cancel', resubmit: 'Re-submit', resubmitted: 'Submitted again as {id}.', cancelled_ok: 'Cancel requested.',
    frames: '{done} / {total} frames', eta: 'ETA {t}', live: 'live',
    'state.queued': 'queued', 'state.running': 'running', 'state.completed': 'completed', 'state.failed': 'failed',
    'state.cancelled': 'cancelled',
    'phase.queued': 'waiting', 'phase.starting': 'starting', 'phase.downloading': 'downloading', 'phase.probing': 'probing',
    'phase.rendering': 'rendering', 'phase.finalizing': 'finishing', 'phase.completed': 'done', 'phase.failed': 'failed',
    'phase.cancelled': 'cancelled',
    back: '← All jobs', video: 'Video', poster: 'Poster', output: 'Output settings', result: 'Result', error: 'Error',
    draft: 'Draft', inline_draft: 'inline draft', as_draft: 'as the draft says', attempts: 'Attempts',
    width: 'Width', height: 'Height', fps: 'Frame rate', crf: 'Quality (CRF)', preset: 'Preset', start_s: 'From (s)',
    end_s: 'To (s)', frames_label: 'Frames', elapsed: 'Render time', speed: 'Speed', realtime: '{x}× real time',
    download: 'Download MP4', no_warnings: 'No warnings: everything in the draft is rendered.',
    no_warnings_yet: 'No warnings so far (they are known once the draft has been probed).',
    from_start: 'start of the draft', to_end: 'end of the draft', output_length: 'Rendered length',
    'status.skipped': 'Skipped', 'status.approximated': 'Approximated', 'status.note': 'Notes',
    'status_help.skipped': 'not drawn at all', 'status_help.approximated': 'drawn with a close substitute',
    'status_help.note': 'for information',
    segment: 'segment', timeline: 'Where on the timeline', hint: 'What to do',
    check_title: 'Check a draft before rendering it', draft_url: 'draft_url',
    draft_url_placeholder: 'https://…/get_draft?draft_id=…', drop_here: 'or drop a draft_content.json here',
    choose_file: 'choose a file', loaded_file: 'Loaded {name} ({n} bytes): its material paths must be http(s) URLs.',
    check: 'Check', render_full: 'Render', render_preview: 'Render low-res preview', render_range: 'Render this range',
    options: 'Output options (optional)', preview_hint: 'Preview: 480 px wide, fast encode.', probing: 'Checking…',
    canvas: 'Canvas', output_size: 'Output', tracks: 'Tracks', draft_duration: 'Draft length',
    'track.visual': 'visual', 'track.adjustment': 'filter / effect', 'track.audio': 'audio', items: '{n} item(s)',
    submitting: 'Submitting…', bad_json: 'This file is not JSON: {msg}', need_source: 'Paste a draft_url or drop a draft_content.json first.',
    queue_title: 'Queue and workers', jobs_by_state: 'Jobs by state', queue_depth: 'Waiting', workers: 'Workers',
    workers_line: '{alive} alive, {busy} busy, {n} slot(s)', running_now: 'Rendering now', nothing_running: 'Nothing is rendering.',
    last_hour: 'Last hour', completed_n: 'completed', failed_n: 'failed', cancelled_n: 'cancelled',
    frames_rendered: 'frames rendered', video_rendered: 'of video', throughput: 'frames/s while rendering',
    language: 'Language', network_error: 'The service cannot be reached ({msg}).',
    'hint.VALIDATION_ERROR': 'The request is malformed: look at the field named in the details.',
    'hint.INVALID_API_KEY': 'Enter a valid API key (button at the top right).',
    'hint.INVALID_DRAFT_URL': 'The draft host says this draft does not exist. Check the draft_id in the URL and that the draft was saved.',
    'hint.DRAFT_NOT_FOUND': 'The draft could not be found at that URL. Check the draft_id and that the draft host is running.',
    'hint.DRAFT_INVALID': 'draft_content.json is not a draft this renderer can read. The details name the JSON path of the bad value.',
    'hint.DRAFT_EMPTY': 'The draft has no clips, captions or audio: add something to the timeline first.',
    'hint.ASSET_UNREACHABLE': 'A video, picture or audio file of the draft could not be downloaded. Check that its URL still works, and that it is listed by get_draft.',
    'hint.ASSET_DECODE_FAILED': 'A media file of the draft is damaged or in a format that cannot be decoded. Re-export or replace it.',
    'hint.RENDER_FAILED': 'The renderer stopped on an unexpected problem. Re-submit once; if it fails again, report the details.',
    'hint.AUDIO_FAILED': 'The sound of the draft could not be mixed. Check the audio files of the draft.',
    'hint.ENCODE_FAILED': 'The video could not be written. The server may be out of disk space.',
    'hint.RENDER_TIMEOUT': 'The render took longer than the server allows. Render a shorter range or a preview.',
    'hint.CANCELLED': 'Someone cancelled this job. Re-submit it to render again.',
    'hint.BUSY': 'The queue is full. Try again in a minute.',
    'hint.NOT_FOUND': 'This job does not exist (any more): finished jobs are deleted after the retention period.',
    'hint.INTERNAL_ERROR': 'A bug in the service. The server log has the details.',
  },
  zh: {
    title: '草稿渲染', tab_jobs: '任务', tab_check: '检查草稿', tab_queue: '队列',
    key_button: 'API 密钥', key_title: 'API 密钥', key_help: '此服务需要 API 密钥。密钥只保存在当前浏览器标签页（会话存储）中。',
    key_placeholder: '你的密钥', key_save: '使用此密钥', key_forget: '清除密钥', key_rejected: '密钥未被接受。',
    cancel: '取消', close: '关闭',
    state: '状态', all_states: '全部状态', progress: '进度', phase: '阶段', created: '创建', started: '开始',
    finished: '结束', duration: '时长', size: '大小', warnings: '警告', actions: '操作', job: '任务',
    newer: '← 较新', older: '较早 →', no_jobs: '还没有任务。先检查一个草稿再渲染。', refresh: '刷新',
    cancel_job: '取消', resubmit: '重新提交', resubmitted: '已重新提交为 {id}。', cancelled_ok: '已请求取消。',
    frames: '{done} / {total} 帧', eta: '预计还需 {t}', live: '实时',
    'state.queued': '排队中', 'state.running': '渲染中', 'state.completed': '已完成', 'state.failed': '失败',
    'state.cancelled': '已取消',
    'phase.queued': '等待中', 'phase.starting': '启动中', 'phase.downloading': '下载中', 'phase.probing': '解析中',
    'phase.rendering': '渲染中', 'phase.finalizing': '收尾中', 'phase.completed': '完成', 'phase.failed': '失败',
    'phase.cancelled': '已取消',
    back: '← 全部任务', video: '视频', poster: '封面', output: '输出设置', result: '结果', error: '错误',
    draft: '草稿', inline_draft: '内联草稿', as_draft: '与草稿相同', attempts: '尝试次数',
    width: '宽度', height: '高度', fps: '帧率', crf: '质量 (CRF)', preset: '预设', start_s: '起点（秒）',
    end_s: '终点（秒）', frames_label: '帧数', elapsed: '渲染用时', speed: '速度', realtime: '{x} 倍实时',
    download: '下载 MP4', no_warnings: '没有警告：草稿中的所有内容都会被渲染。',
    no_warnings_yet: '暂无警告（草稿解析后才能得知）。',
    from_start: '草稿开头', to_end: '草稿结尾', output_length: '渲染时长',
    'status.skipped': '已跳过', 'status.approximated': '近似效果', 'status.note': '提示',
    'status_help.skipped': '完全没有绘制', 'status_help.approximated': '用相近的效果代替',
    'status_help.note': '仅供参考',
    segment: '片段', timeline: '在时间线上的位置', hint: '建议',
    check_title: '渲染前先检查草稿', draft_url: 'draft_url',
    draft_url_placeholder: 'https://…/get_draft?draft_id=…', drop_here: '或将 draft_content.json 拖到这里',
    choose_file: '选择文件', loaded_file: '已载入 {name}（{n} 字节）：其中的素材路径必须是 http(s) 链接。',
    check: '检查', render_full: '渲染', render_preview: '渲染低分辨率预览', render_range: '渲染此时间段',
    options: '输出选项（可选）', preview_hint: '预览：宽 480 像素，快速编码。', probing: '检查中…',
    canvas: '画布', output_size: '输出', tracks: '轨道', draft_duration: '草稿时长',
    'track.visual': '画面', 'track.adjustment': '滤镜 / 特效', 'track.audio': '音频', items: '{n} 项',
    submitting: '提交中…', bad_json: '此文件不是 JSON：{msg}', need_source: '请先粘贴 draft_url 或拖入 draft_content.json。',
    queue_title: '队列与工作进程', jobs_by_state: '各状态任务数', queue_depth: '等待中', workers: '工作进程',
    workers_line: '{alive} 个存活，{busy} 个忙碌，共 {n} 个槽位', running_now: '正在渲染', nothing_running: '当前没有渲染任务。',
    last_hour: '最近一小时', completed_n: '完成', failed_n: '失败', cancelled_n: '取消',
    frames_rendered: '帧已渲染', video_rendered: '视频', throughput: '帧/秒（渲染时）',
    language: '语言', network_error: '无法连接服务（{msg}）。',
    'hint.VALIDATION_ERROR': '请求格式有误：请查看详情中指出的字段。',
    'hint.INVALID_API_KEY': '请输入有效的 API 密钥（右上角按钮）。',
    'hint.INVALID_DRAFT_URL': '草稿服务表示该草稿不存在。请检查链接中的 draft_id，并确认草稿已保存。',
    'hint.DRAFT_NOT_FOUND': '在该链接下找不到草稿。请检查 draft_id，并确认草稿服务正在运行。',
    'hint.DRAFT_INVALID': 'draft_content.json 不是可读取的草稿。详情中给出了出错值的 JSON 路径。',
    'hint.DRAFT_EMPTY': '草稿中没有视频、文字或音频：请先在时间线上添加内容。',
    'hint.ASSET_UNREACHABLE': '草稿中的某个视频、图片或音频无法下载。请确认其链接仍然有效，并且 get_draft 列出了它。',
    'hint.ASSET_DECODE_FAILED': '草稿中的某个媒体文件已损坏或格式无法解码。请重新导出或替换它。',
    'hint.RENDER_FAILED': '渲染器遇到意外问题而停止。请重新提交一次；如果仍然失败，请报告详情。',
    'hint.AUDIO_FAILED': '草稿的声音无法混音。请检查草稿中的音频文件。',
    'hint.ENCODE_FAILED': '无法写出视频。服务器的磁盘空间可能已满。',
    'hint.RENDER_TIMEOUT': '渲染时间超过了服务器的上限。请渲染较短的时间段或预览。',
    'hint.CANCELLED': '此任务已被取消。重新提交即可再次渲染。',
    'hint.BUSY': '队列已满。请一分钟后再试。',
    'hint.NOT_FOUND': '此任务不存在（或已删除）：完成的任务在保留期后会被删除。',
    'hint.INTERNAL_ERROR': '服务内部错误。详情请查看服务器日志。',
  },
};

export const LANGUAGES = [['en', 'English'], ['zh', '中文']];

/** The UI language: the user's choice, else the first of navigator.languages we have. */
export function lang() {
  const chosen = localStorage.getItem(CHOICE);
  if (chosen && TEXT[chosen]) return chosen;
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (TEXT[base]) return base;
  }
  return 'en';
}

export function setLang(code) {
  if (TEXT[code]) localStorage.setItem(CHOICE, code);
}

/** The text of `key` with `{name}` placeholders filled in; the key itself when unknown. */
export function t(key, vars = {}) {
  const table = TEXT[lang()];
  const text = table[key] ?? TEXT.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** A job phase in words (an unknown phase as the service wrote it). */
export function phaseText(phase) {
  const key = `phase.${phase}`;
  return key in TEXT.en ? t(key) : String(phase ?? '');
}

/** Numbers, sizes, times and dates in the UI language. */
export function fmtSeconds(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return `${m}:${String(rest).padStart(2, '0')}`;
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${String(rest).padStart(2, '0')}`;
}

/** "30/1" → "30", "30000/1001" → "29.97". */
export function fmtFps(text) {
  if (!text) return '—';
  const [n, d] = String(text).split('/').map(Number);
  if (!d || d === 1) return String(n);
  return String(Math.round((100 * n) / d) / 100);
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v < 10 && i ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const locale = lang() === 'zh' ? 'zh-CN' : 'en-GB';
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString(locale) : d.toLocaleString(locale);
}
