// Talking to the service. Every URL is computed from the page's own base, so the page never
// contacts another origin:
//   * loaded at "/" (or under a reverse-proxy prefix): API calls go next to the page and carry
//     the key (if one was entered) as the X-API-Key header;
//   * loaded under "/k/<key>/": that base carries the key for every call.
// EventSource cannot send headers, so its URL uses the "/k/<key>/" form when a key is set.
import { lang } from './i18n.js';

const KEY_STORE = 'draft-renderer.api-key';
const KEYED_BASE = /^(.*?\/k\/[^/]+\/)/;

export class ApiError extends Error {
  constructor(status, body, fallback) {
    const err = (body && body.error) || {};
    super(err.message || fallback || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || (status ? `HTTP_${status}` : 'NETWORK');
    this.details = err.details || '';
    this.path = err.path || null;
  }
}

export class Api {
  constructor() {
    const keyed = location.pathname.match(KEYED_BASE);
    this.keyInPath = Boolean(keyed);
    this.base = new URL(keyed ? keyed[1] : '.', location.href);
    this.onUnauthorized = () => {};
  }

  get key() { return sessionStorage.getItem(KEY_STORE) || ''; }

  setKey(key) {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
  }

  url(path) { return new URL(path, this.base); }

  headers(json) {
    const h = { Accept: 'application/json', 'Accept-Language': lang() === 'zh' ? 'zh-CN' : 'en' };
    if (!this.keyInPath && this.key) h['X-API-Key'] = this.key;
    if (json) h['Content-Type'] = 'application/json';
    return h;
  }

  async request(method, path, body) {
    let resp;
    try {
      resp = await fetch(this.url(path), {
        method, headers: this.headers(body !== undefined), cache: 'no-store', credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (exc) {
      throw new ApiError(0, null, exc.message);
    }
    let data = null;
    try { data = await resp.json(); } catch { data = null; }
    if (resp.status === 401) this.onUnauthorized();
    if (!resp.ok) throw new ApiError(resp.status, data);
    return { status: resp.status, data };
  }

  get(path) { return this.request('GET', path).then((r) => r.data); }

  post(path, body) { return this.request('POST', path, body).then((r) => r.data); }

  del(path) { return this.request('DELETE', path).then((r) => r.data); }

  /** Server-Sent Events of one job. */
  events(jobId) {
    const rel = `v1/renders/${encodeURIComponent(jobId)}/events`;
    const key = this.key;
    const url = this.keyInPath || !key ? this.url(rel) : this.url(`k/${encodeURIComponent(key)}/${rel}`);
    return new EventSource(url);
  }

  /** A link the API handed out (video_url, poster_url), made same-origin with the page:
   * the service may name itself differently (public_base_url, localhost vs 127.0.0.1). */
  sameOrigin(link) {
    if (!link) return null;
    const u = new URL(link, this.base);
    return u.origin === location.origin ? u.href : `${location.origin}${u.pathname}${u.search}`;
  }
}
