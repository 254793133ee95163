// The console's entry point: header (tabs, language switch, API key), hash routing between
// the views, and the key prompt shown when the service answers 401.
import { Api } from './api.js';
import { h, clear } from './dom.js';
import { t, lang, setLang, LANGUAGES } from './i18n.js';
import { jobsView } from './jobs.js';
import { jobView } from './job.js';
import { checkView } from './check.js';
import { queueView } from './queue.js';

const api = new Api();
const view = document.getElementById('view');
let stopView = () => {};

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  stopView();
  const [path, query] = (location.hash.replace(/^#/, '') || '/jobs').split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean);
  const ctx = { api, navigate, params };
  let tab = parts[0] || 'jobs';
  if (tab === 'job' && parts[1]) {
    stopView = jobView(view, { ...ctx, id: decodeURIComponent(parts[1]) });
    tab = 'jobs';
  } else if (tab === 'check') {
    stopView = checkView(view, ctx);
  } else if (tab === 'queue') {
    stopView = queueView(view, ctx);
  } else {
    tab = 'jobs';
    stopView = jobsView(view, ctx);
  }
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.tab === tab);
}

// -- static text -------------------------------------------------------------------------------

function applyText() {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}

function languageSwitch() {
  const select = document.getElementById('lang');
  clear(select).append(...LANGUAGES.map(([code, name]) => h('option', { value: code }, name)));
  select.value = lang();
  select.addEventListener('change', () => {
    setLang(select.value);
    applyText();
    route();
  });
}

// -- API key -----------------------------------------------------------------------------------

const dialog = document.getElementById('key-dialog');
const keyInput = document.getElementById('key-input');
const keyNote = document.getElementById('key-note');

function askForKey(rejected) {
  if (dialog.open) return;
  keyNote.textContent = rejected ? t('key_rejected') : '';
  keyInput.value = '';
  dialog.showModal();
  keyInput.focus();
}

function keySetup() {
  const button = document.getElementById('key-button');
  if (api.keyInPath) button.hidden = true;
  button.addEventListener('click', () => askForKey(false));
  api.onUnauthorized = () => askForKey(Boolean(api.key));
  document.getElementById('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    api.setKey(keyInput.value.trim());
    dialog.close();
    route();
  });
  document.getElementById('key-forget').addEventListener('click', () => {
    api.setKey('');
    dialog.close();
    route();
  });
  document.getElementById('key-cancel').addEventListener('click', () => dialog.close());
}

applyText();
languageSwitch();
keySetup();
window.addEventListener('hashchange', route);
route();
