"""Fetch a capcut-mate draft (or open a local one) and locate its media files (I/O).

Three kinds of ``source`` are accepted by :func:`fetch_draft`:

* a capcut-mate ``draft_url`` — the ``get_draft`` endpoint itself, carrying ``?draft_id=``.
  Its JSON answer ``{"code": 0, "files": [<absolute URLs>]}`` is downloaded file by file into
  ``<cache_dir>/<draft_id>/`` (the part of each URL path after the segment equal to the
  draft id), like capcut-mate's own downloader (``spec/capcut-mate-api.md`` §6);
* a local draft folder (used in place, nothing is copied);
* a path to ``draft_content.json`` (or ``draft_info.json``) inside a draft folder.

The draft JSON is *not* parsed here; :meth:`LocalDraft.resolve_material` maps the media paths
written inside it (``/app/output/draft/<id>/assets/...``, Windows paths, JianYing placeholder
prefixes, ``http(s)`` URLs) onto local files, and :func:`fetch_materials` downloads the
``http(s)`` ones (``spec/draft-format.md`` §5.3).

Downloads: bounded parallelism, retries with capped exponential backoff honouring
``Retry-After``, a per-file size limit, a per-file deadline (all attempts together), a minimum
throughput over a sliding window after a grace period (a slower server fails the file at once),
atomic writes (temp name + rename), a size-based cache (``Last-Modified`` is compared too when
the server sends it) and in-run resumption with ``Range`` after a dropped connection.

Every request goes through :class:`compositor.egress_client.EgressClient` and so through an
:class:`~compositor.egress.EgressPolicy` (the default here is ``EgressPolicy.permissive()``:
the caller chose the draft; the service passes its own). A refused URL is ``URL_FORBIDDEN``; a
URL that does not parse fails at once (never retried). Error messages carry status codes, the
URL without userinfo and our own words, never bytes the server sent.
"""
from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import os
import posixpath
import random
import re
import shutil
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping
from urllib.parse import unquote, urlsplit

import aiohttp

from compositor.errors import AssetUnreachable, DraftNotFound

from .egress import EgressPolicy, public_url
from .egress_client import BadUrl, EgressClient, describe_error

from .draft_folder import (_ASSET_KINDS, _WIN_DRIVE_RE, CONTENT_NAME, INFO_NAME, LocalDraft, _clean, _is_http,
                           _looks_like_draft_id, draft_id_from_url, local_draft)
from .paths import safe_join

__all__ = [
    "FetchLimits",
    "LocalDraft",
    "fetch_draft",
    "fetch_draft_sync",
    "fetch_materials",
    "draft_id_from_url",
    "RETRY_STATUSES",
]

Progress = Callable[[int, int], None]

#: HTTP statuses that are retried (everything else but 200/206 fails at once).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_TIMELINE = frozenset({CONTENT_NAME, INFO_NAME})
_SAFE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CHUNK = 1 << 20
_LISTING_MAX_BYTES = 64 * 1024**2
_STALE_PART_S = 600.0


@dataclass(frozen=True)
class FetchLimits:
    """Network limits. ``retries`` = extra attempts after the first one."""

    max_file_bytes: int = 2 * 1024**3
    connect_timeout_s: float = 10
    read_timeout_s: float = 60
    retries: int = 6
    backoff_s: float = 0.5          # first retry delay; doubles each attempt
    parallel: int = 4
    max_backoff_s: float = 30.0     # cap of the exponential backoff
    max_retry_after_s: float = 120.0  # cap of a server's Retry-After
    deadline_s: float = 1800.0      # per file, all attempts together (0 = none)
    min_bytes_per_s: float = 1024.0  # minimum throughput over rate_window_s (0 = none) ...
    rate_window_s: float = 10.0
    rate_grace_s: float = 10.0      # ... checked once a response has been read this long


# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------

def _safe_rel(rel: str) -> str | None:
    """Normalise a '/'-separated relative path; None if it escapes, is absolute or hostile."""
    if not rel or "\\" in rel or "\x00" in rel or rel.startswith("/") or _WIN_DRIVE_RE.match(rel):
        return None
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _rel_path_for(url: str, draft_id: str) -> str | None:
    """Local path (relative to the draft folder) of a listed file URL, or None if refused.

    The URL path after the segment equal to ``draft_id``; else after the first segment that
    capcut-mate would take for a draft id; else the basename. Segments are URL-decoded one by
    one, and the result must stay inside the folder.
    """
    segments = urlsplit(url).path.split("/")
    decoded = [unquote(s) for s in segments]
    rest: list[str] | None = None
    for i, seg in enumerate(decoded):
        if seg == draft_id:
            rest = segments[i + 1:]
            break
    if rest is None:
        for i, seg in enumerate(decoded):
            if _looks_like_draft_id(seg):
                rest = segments[i + 1:]
                break
    if rest is None:
        rest = segments[-1:]
    pieces = [unquote(s) for s in rest]
    if any("/" in p for p in pieces):          # an encoded %2F inside a segment
        return None
    return _safe_rel("/".join(pieces))


def _retry_after_s(value: str | None, cap: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        secs = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        secs = when.timestamp() - time.time()
    if secs != secs:  # NaN
        return None
    return max(0.0, min(secs, cap))


def _backoff_delay(attempt: int, limits: FetchLimits, retry_after: str | None) -> float:
    """Delay before retry number ``attempt`` (0-based): capped exponential with a little jitter,
    never shorter than the server's ``Retry-After``."""
    base = min(limits.max_backoff_s, limits.backoff_s * (2 ** attempt))
    delay = base * random.uniform(0.8, 1.0)
    ra = _retry_after_s(retry_after, limits.max_retry_after_s)
    if ra is not None:
        delay = max(delay, ra)
    return delay


def _timeout(limits: FetchLimits) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=limits.connect_timeout_s,
                                 sock_read=limits.read_timeout_s)


class RateGuard:
    """Minimum throughput over a sliding window (pure: the caller passes the clock).

    ``too_slow(now)`` is true once ``grace_s`` has passed since ``start`` and the bytes of the
    last ``window_s`` (or of the time since ``start`` when that is shorter) came slower than
    ``min_bytes_per_s``."""

    def __init__(self, min_bytes_per_s: float, window_s: float, grace_s: float, start: float):
        self.min_bytes_per_s = min_bytes_per_s
        self.window_s = max(window_s, 1e-3)
        self.grace_s = grace_s
        self.start = start
        self.samples: deque[tuple[float, int]] = deque()
        self.in_window = 0

    def add(self, now: float, n: int) -> None:
        self.samples.append((now, n))
        self.in_window += n

    def too_slow(self, now: float) -> bool:
        if self.min_bytes_per_s <= 0 or now - self.start < self.grace_s:
            return False
        span = min(self.window_s, now - self.start)
        while self.samples and self.samples[0][0] <= now - span:
            self.in_window -= self.samples.popleft()[1]
        return span > 0 and self.in_window < self.min_bytes_per_s * span


async def _read_body(resp: aiohttp.ClientResponse, limits: FetchLimits, url: str, error=AssetUnreachable):
    """The body in chunks as they come; a server slower than the limits' minimum throughput
    is a fatal error (checked at least every quarter window, also while nothing arrives)."""
    guard = RateGuard(limits.min_bytes_per_s, limits.rate_window_s, limits.rate_grace_s, time.monotonic())
    tick = max(0.02, min(1.0, limits.rate_window_s / 4))
    pending: asyncio.Future | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(resp.content.readany())
            done, _ = await asyncio.wait({pending}, timeout=tick)
            now = time.monotonic()
            if done:
                chunk = pending.result()
                pending = None
                if not chunk:
                    return
                guard.add(now, len(chunk))
                yield chunk
            if guard.too_slow(now):
                raise _Fatal(error(
                    f"the server sent less than {limits.min_bytes_per_s:g} bytes/s "
                    f"over {limits.rate_window_s:g} s", url))
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)


# --------------------------------------------------------------------------------------------
# Download machinery
# --------------------------------------------------------------------------------------------

class _ProgressTracker:
    """Aggregates per-file byte counts into ``progress(done, total)`` calls.

    ``total`` grows as file sizes become known (Content-Length, cache hits); the final call
    has ``done == total``."""

    def __init__(self, cb: Progress | None):
        self.cb = cb
        self.done = 0
        self.total = 0

    def add_total(self, n: int) -> None:
        self.total += n
        self._emit()

    def add_done(self, n: int) -> None:
        self.done += n
        if self.done > self.total:
            self.total = self.done
        self._emit()

    def rewind(self, done: int, total: int) -> None:
        self.done -= done
        self.total -= total
        self._emit()

    def finish(self) -> None:
        self.total = self.done
        self._emit()

    def _emit(self) -> None:
        if self.cb is not None:
            self.cb(self.done, self.total)


class _Fatal(Exception):
    """A non-retryable failure of one download (carries the error to raise)."""

    def __init__(self, err: Exception):
        self.err = err


class _Retryable(Exception):
    def __init__(self, reason: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def _content_length(resp: aiohttp.ClientResponse) -> int | None:
    v = resp.headers.get("Content-Length")
    if v is None or resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity"):
        return None
    try:
        n = int(v)
    except ValueError:
        return None
    return n if n >= 0 else None


def _http_mtime(resp: aiohttp.ClientResponse) -> float | None:
    v = resp.headers.get("Last-Modified")
    if not v:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError, IndexError):
        return None
    return dt.timestamp() if dt is not None else None


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _cleanup_stale_parts(dest: Path) -> None:
    """Remove temp files of ``dest`` left by crashed runs (untouched for 10 minutes)."""
    now = time.time()
    try:
        for p in dest.parent.glob(f".{_glob_escape(dest.name)}.*.part"):
            try:
                if now - p.stat().st_mtime > _STALE_PART_S:
                    p.unlink()
            except OSError:
                pass
    except OSError:
        pass


@dataclass
class _FileState:
    url: str
    dest: Path
    cached: Path | None          # an existing file that may satisfy the request
    part: Path                   # temp file, renamed onto dest when complete
    have: int = 0                # bytes in `part` usable for a Range resume
    total: int | None = None     # size announced by the first full response
    validator: str | None = None  # ETag / Last-Modified of that response (If-Range)
    counted_done: int = 0        # what this file reported to the progress tracker
    counted_total: int = 0


_NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, TimeoutError)


class _Pool:
    """Downloads files with a shared client, a parallelism bound and a progress tracker."""

    def __init__(self, client: EgressClient, limits: FetchLimits,
                 tracker: _ProgressTracker):
        self.client = client
        self.limits = limits
        self.tracker = tracker
        self.sem = asyncio.Semaphore(max(1, int(limits.parallel)))

    async def download(self, url: str, dest: Path, *, cached: Path | None,
                       headers_out: dict | None = None) -> Path:
        """Download ``url`` atomically to ``dest``; returns ``dest`` — or ``cached`` when that
        file exists with the size the server announces (then nothing is transferred).
        ``headers_out`` receives the headers of the response that supplied the file."""
        limits = self.limits
        dest.parent.mkdir(parents=True, exist_ok=True)
        _cleanup_stale_parts(dest)
        st = _FileState(url, dest, cached, dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
        shown = public_url(url)
        try:
            async with asyncio.timeout(None) as deadline:    # armed when the first attempt starts
                return await self._attempts(st, headers_out, shown, deadline)
        except TimeoutError:
            if deadline.expired():
                raise AssetUnreachable(f"download did not finish within {limits.deadline_s:g} s",
                                       shown) from None
            raise
        finally:
            try:
                st.part.unlink()
            except OSError:
                pass

    async def _attempts(self, st: _FileState, headers_out: dict | None, shown: str,
                        deadline: asyncio.Timeout) -> Path:
        limits = self.limits
        last_status: int | None = None
        last_reason = ""
        attempts = max(0, int(limits.retries)) + 1
        for attempt in range(attempts):
            retry_after = None
            try:
                async with self.sem:
                    if limits.deadline_s > 0 and deadline.when() is None:   # waiting for a slot is free
                        deadline.reschedule(asyncio.get_running_loop().time() + limits.deadline_s)
                    return await self._attempt(st, headers_out, shown)
            except _Fatal as f:
                raise f.err from None
            except BadUrl:
                raise AssetUnreachable("not a valid URL", shown) from None
            except _Retryable as r:
                last_status = r.status if r.status is not None else last_status
                last_reason = r.reason
                retry_after = r.retry_after
            except _NETWORK_ERRORS as e:
                last_reason = describe_error(e)
            except OSError as e:              # local disk trouble is not retried
                raise AssetUnreachable(f"cannot write {st.dest}: {e.strerror or type(e).__name__}",
                                       shown) from e
            st.have = st.part.stat().st_size if st.part.exists() else 0
            if attempt + 1 < attempts:
                await asyncio.sleep(_backoff_delay(attempt, limits, retry_after))
        raise AssetUnreachable(
            f"download failed after {attempts} attempts ({last_reason})", shown, last_status)

    async def _attempt(self, st: _FileState, headers_out: dict | None, shown: str) -> Path:
        limits = self.limits
        tracker = self.tracker
        headers = {"Accept-Encoding": "identity"}
        resume = st.total is not None and 0 < st.have < st.total
        if resume:
            headers["Range"] = f"bytes={st.have}-"
            if st.validator:
                headers["If-Range"] = st.validator
        async with self.client.request("GET", st.url, headers=headers, timeout=_timeout(limits)) as resp:
            status = resp.status
            if status in RETRY_STATUSES:
                raise _Retryable(f"HTTP {status}", status, resp.headers.get("Retry-After"))
            if status == 416 and resume:
                st.total = None                   # our partial data is unusable: start over
                raise _Retryable("HTTP 416 on resume", status)
            if status != 200 and not (status == 206 and resume):
                raise _Fatal(AssetUnreachable(
                    "file not found" if status == 404 else "unexpected HTTP status", shown, status))

            clen = _content_length(resp)
            mtime = _http_mtime(resp)
            if status == 200:
                total = clen
                if not resume and total is not None and st.cached is not None and st.cached.is_file():
                    stat = st.cached.stat()   # cache: same size (and Last-Modified if sent)
                    if stat.st_size == total and (mtime is None or abs(stat.st_mtime - mtime) < 1.0):
                        if headers_out is not None:
                            headers_out.update(resp.headers)
                        tracker.add_total(total)
                        tracker.add_done(total)
                        return st.cached
                offset = 0
                st.total = total
                st.validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
            else:                                 # 206: resuming where the last attempt stopped
                cr = resp.headers.get("Content-Range", "")
                m = re.match(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", cr)
                if not m or int(m.group(1)) != st.have or (
                        m.group(3) != "*" and int(m.group(3)) != st.total):
                    st.total = None
                    raise _Retryable("unusable Content-Range on resume", status)
                total = st.total
                offset = st.have

            if total is not None and total > limits.max_file_bytes:
                raise _Fatal(AssetUnreachable(
                    f"file of {total} bytes exceeds the limit of {limits.max_file_bytes} bytes",
                    shown, status))
            if offset == 0 and (st.counted_done or st.counted_total):
                tracker.rewind(st.counted_done, st.counted_total)   # rewritten from scratch
                st.counted_done = st.counted_total = 0
            if total is not None and st.counted_total == 0:
                tracker.add_total(total)
                st.counted_total = total
            if headers_out is not None:
                headers_out.clear()
                headers_out.update(resp.headers)

            written = offset
            with open(st.part, "ab" if offset else "wb") as fh:
                async for chunk in _read_body(resp, limits, shown):
                    written += len(chunk)
                    if written > limits.max_file_bytes:
                        raise _Fatal(AssetUnreachable(
                            f"file exceeds the limit of {limits.max_file_bytes} bytes",
                            shown, status))
                    fh.write(chunk)
                    st.counted_done += len(chunk)
                    tracker.add_done(len(chunk))
            if total is not None and written != total:
                raise _Retryable(f"truncated body ({written} of {total} bytes)", status)
            if mtime is not None:
                try:
                    os.utime(st.part, (time.time(), mtime))
                except OSError:
                    pass
            os.replace(st.part, st.dest)
            return st.dest


async def _gather_all(coros):
    """Run coroutines; on the first failure cancel the rest and re-raise it."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class _ClientScope:
    """The given client, or one of our own under ``policy`` (permissive when None)."""

    def __init__(self, client: EgressClient | None, limits: FetchLimits, policy: EgressPolicy | None):
        self.given = client
        self.limits = limits
        self.policy = policy if policy is not None else EgressPolicy.permissive()
        self.own: EgressClient | None = None

    async def __aenter__(self) -> EgressClient:
        if self.given is not None:
            return self.given
        self.own = EgressClient(self.policy, limit=max(8, 2 * int(self.limits.parallel)),
                                timeout=_timeout(self.limits))
        return self.own

    async def __aexit__(self, *exc) -> None:
        if self.own is not None:
            await self.own.close()


# --------------------------------------------------------------------------------------------
# get_draft listing
# --------------------------------------------------------------------------------------------

async def _get_listing(client: EgressClient, url: str, limits: FetchLimits) -> list[str]:
    shown = public_url(url)
    try:
        async with asyncio.timeout(limits.deadline_s if limits.deadline_s > 0 else None) as deadline:
            return await _get_listing_attempts(client, url, shown, limits)
    except TimeoutError:
        if deadline.expired():
            raise DraftNotFound(f"get_draft did not answer within {limits.deadline_s:g} s", shown) from None
        raise


async def _get_listing_attempts(client: EgressClient, url: str, shown: str, limits: FetchLimits) -> list[str]:
    attempts = limits.retries + 1
    last_status: int | None = None
    last_reason = ""
    for attempt in range(attempts):
        retry_after = None
        try:
            async with client.request("GET", url, timeout=_timeout(limits),
                                      headers={"Accept": "application/json"}) as resp:
                status = resp.status
                if status == 404:
                    raise DraftNotFound("draft not found", shown, 404)
                if status in RETRY_STATUSES:
                    last_status = status
                    last_reason = f"HTTP {status}"
                    retry_after = resp.headers.get("Retry-After")
                else:
                    if status != 200:
                        raise DraftNotFound("get_draft answered an unexpected HTTP status", shown, status)
                    buf = bytearray()
                    try:
                        async for chunk in _read_body(resp, limits, shown, DraftNotFound):
                            buf += chunk
                            if len(buf) > _LISTING_MAX_BYTES:
                                raise DraftNotFound("get_draft answer is too large", shown, status)
                    except _Fatal as f:
                        raise f.err from None
                    return _parse_listing(bytes(buf), shown)
        except DraftNotFound:
            raise
        except BadUrl:
            raise DraftNotFound("draft_url is not a valid URL", shown) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            last_reason = describe_error(e)
        if attempt + 1 < attempts:
            await asyncio.sleep(_backoff_delay(attempt, limits, retry_after))
    raise DraftNotFound(f"get_draft unreachable after {attempts} attempts ({last_reason})",
                        shown, last_status)


def _parse_listing(body: bytes, url: str) -> list[str]:
    """The ``files`` of a get_draft answer. Errors name the URL and our own words only: no
    text of the answer (which may come from an internal page) is ever quoted."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DraftNotFound("get_draft answer is not JSON", url, 200) from None
    if not isinstance(data, dict):
        raise DraftNotFound("get_draft answer is not a JSON object", url, 200)
    code = data.get("code")
    if code != 0:
        shown_code = code if isinstance(code, int) and not isinstance(code, bool) else "(not a number)"
        err = DraftNotFound(f"get_draft answered code {shown_code}", url)
        err.api_code = code if isinstance(code, int) else None   # the business code of capcut-mate
        raise err
    files = data.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise DraftNotFound("malformed get_draft answer: 'files' is not a list of strings", url, 200)
    return files


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

async def fetch_draft(source: str, cache_dir: Path, *, limits: FetchLimits = FetchLimits(),
                      policy: EgressPolicy | None = None, client: EgressClient | None = None,
                      progress: Progress | None = None) -> LocalDraft:
    """Make the draft available locally and say where it is (see the module docstring).

    ``policy``: what the requests may reach (default permissive); ``client``: an
    :class:`EgressClient` to use instead of a new one (its policy applies)."""
    source = str(source)
    src = _clean(source)
    if not _is_http(src):
        return local_draft(src)

    shown = public_url(src)
    draft_id = draft_id_from_url(src)
    if draft_id is None:
        raise DraftNotFound("draft_url has no draft_id query parameter", shown)
    if not _SAFE_ID_RE.match(draft_id) or len(draft_id) > 128:
        raise DraftNotFound("draft_id is not a valid folder name", shown)

    folder = safe_join(Path(cache_dir).expanduser().absolute(), draft_id)
    async with _ClientScope(client, limits, policy) as sess:
        files = await _get_listing(sess, src, limits)

        plan: dict[str, str] = {}            # rel path -> URL (first listing wins)
        for f in files:
            f = _clean(f)
            if not _is_http(f):
                raise AssetUnreachable("listed file is not an http(s) URL", public_url(f))
            rel = _rel_path_for(f, draft_id)
            if rel is None:
                raise AssetUnreachable("refusing listed file whose path escapes the draft folder",
                                       public_url(f))
            plan.setdefault(rel, f)
        has_content = CONTENT_NAME in plan
        if not has_content and INFO_NAME not in plan:
            raise DraftNotFound(f"get_draft lists no {CONTENT_NAME} or {INFO_NAME}", shown)
        if has_content:
            plan.pop(INFO_NAME, None)

        folder.mkdir(parents=True, exist_ok=True)
        root = folder.resolve()
        for rel, url in plan.items():        # symlinks left in an old cache must not lead out
            try:
                (folder / rel).resolve().relative_to(root)
            except ValueError:
                raise AssetUnreachable(
                    "refusing listed file whose path escapes the draft folder", public_url(url)) from None

        tracker = _ProgressTracker(progress)
        pool = _Pool(sess, limits, tracker)
        # The timeline JSON is always downloaded again (an edited draft may keep its size);
        # other files are reused when their size matches.
        await _gather_all(
            pool.download(url, folder / rel, cached=None if rel in _TIMELINE else folder / rel)
            for rel, url in plan.items())
        tracker.finish()

    if has_content:
        content = folder / CONTENT_NAME
        tmp = folder / f".{INFO_NAME}.{uuid.uuid4().hex[:12]}.part"
        try:
            shutil.copyfile(content, tmp)
            os.replace(tmp, folder / INFO_NAME)
        finally:
            tmp.unlink(missing_ok=True)
        return LocalDraft(draft_id, folder, content, src)
    return LocalDraft(draft_id, folder, folder / INFO_NAME, src)


def fetch_draft_sync(source, cache_dir, **kw) -> LocalDraft:
    """``asyncio.run`` wrapper of :func:`fetch_draft` for the CLI (local sources need no loop)."""
    src = _clean(str(source))
    if not _is_http(src):
        return local_draft(src)
    return asyncio.run(fetch_draft(source, cache_dir, **kw))


# --- materials given as http(s) URLs inside the draft ----------------------------------------

_KIND_HINTS = {
    "video": "videos", "videos": "videos",
    "photo": "images", "image": "images", "images": "images",
    "audio": "audios", "audios": "audios", "music": "audios", "extract_music": "audios",
}

_CT_EXT = {
    "video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm",
    "video/x-matroska": ".mkv", "video/x-msvideo": ".avi", "video/mp2t": ".ts",
    "video/x-flv": ".flv",
    "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
    "image/bmp": ".bmp", "image/tiff": ".tif", "image/heic": ".heic", "image/avif": ".avif",
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/wav": ".wav", "audio/x-wav": ".wav",
    "audio/wave": ".wav", "audio/aac": ".aac", "audio/mp4": ".m4a", "audio/x-m4a": ".m4a",
    "audio/ogg": ".ogg", "audio/flac": ".flac", "audio/x-flac": ".flac",
}

_EXT_KIND = {
    ".mp4": "videos", ".mov": "videos", ".webm": "videos", ".mkv": "videos", ".avi": "videos",
    ".ts": "videos", ".flv": "videos", ".m4v": "videos",
    ".png": "images", ".jpg": "images", ".jpeg": "images", ".gif": "images", ".webp": "images",
    ".bmp": "images", ".tif": "images", ".tiff": "images", ".heic": "images", ".avif": "images",
    ".mp3": "audios", ".wav": "audios", ".aac": "audios", ".m4a": "audios", ".ogg": "audios",
    ".flac": "audios",
}


def _sniff_ext(head: bytes) -> str | None:
    """File extension from magic bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WAVE": ".wav", b"AVI ": ".avi", b"WEBP": ".webp"}.get(head[8:12])
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
            return ".heic"
        if brand in (b"avif", b"avis"):
            return ".avif"
        if brand in (b"M4A ", b"M4B "):
            return ".m4a"
        if brand == b"qt  ":
            return ".mov"
        return ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm" if b"webm" in head[:64] else ".mkv"
    if head.startswith(b"FLV"):
        return ".flv"
    if head.startswith(b"ID3"):
        return ".mp3"
    if head.startswith(b"OggS"):
        return ".ogg"
    if head.startswith(b"fLaC"):
        return ".flac"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return ".tif"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return ".aac" if (head[1] & 0xF6) == 0xF0 else ".mp3"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return ".ts"
    if head.startswith(b"BM") and len(head) >= 14:
        return ".bmp"
    return None


def _material_ext(head: bytes, headers: Mapping[str, str], url: str) -> str:
    ext = _sniff_ext(head)
    if ext:
        return ext
    ct = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ct in _CT_EXT:
        return _CT_EXT[ct]
    url_ext = posixpath.splitext(unquote(urlsplit(url).path))[1].lower()
    if url_ext in _EXT_KIND:
        return ".jpg" if url_ext == ".jpeg" else url_ext
    return ".bin"


async def fetch_materials(local: LocalDraft, urls: Iterable[str], *,
                          limits: FetchLimits = FetchLimits(),
                          policy: EgressPolicy | None = None, client: EgressClient | None = None,
                          progress: Progress | None = None,
                          kinds: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Download http(s) material URLs into ``<folder>/assets/<kind>/<sha1(url)><ext>``.

    ``ext`` is sniffed from the content (magic bytes, then Content-Type, then the URL);
    ``kind`` comes from ``kinds[url]`` when given (``video``/``photo``/``audio`` or the folder
    names), else from the sniffed type. A file already present for that URL with the size the
    server announces is reused. Returns ``{url as given: local path}``; non-http(s) entries
    are ignored. Errors: :class:`AssetUnreachable` naming the URL, ``UrlForbidden`` when
    ``policy`` (default permissive) refuses one.
    """
    wanted: dict[str, str] = {}          # url as given -> cleaned url
    for u in urls:
        c = _clean(u)
        if _is_http(c):
            wanted[u] = c
    if not wanted:
        return {}
    kinds = kinds or {}
    assets = local.folder / "assets"
    tracker = _ProgressTracker(progress)
    results: dict[str, Path] = {}

    async with _ClientScope(client, limits, policy) as sess:
        pool = _Pool(sess, limits, tracker)

        async def one(clean_url: str, hint: str | None) -> Path:
            key = hashlib.sha1(clean_url.encode("utf-8")).hexdigest()
            existing = None
            for kind in _ASSET_KINDS:
                if (assets / kind).is_dir():
                    hits = sorted(h for h in (assets / kind).glob(f"{key}.*") if h.is_file())
                    if hits:
                        existing = hits[0]
                        break
            tmp = assets / f".{key}.{uuid.uuid4().hex[:12]}.download"
            headers: dict = {}
            try:
                got = await pool.download(clean_url, tmp, cached=existing, headers_out=headers)
                if existing is not None and got == existing:
                    return existing
                with open(got, "rb") as fh:
                    head = fh.read(512)
                ext = _material_ext(head, headers, clean_url)
                kind = _KIND_HINTS.get((hint or "").lower()) or _EXT_KIND.get(ext, "videos")
                final = assets / kind / f"{key}{ext}"
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(got, final)
            finally:
                tmp.unlink(missing_ok=True)
            if existing is not None and existing != final:
                existing.unlink(missing_ok=True)
            return final

        by_clean: dict = {}                # cleaned url -> coroutine (one per URL)
        for given, clean_url in wanted.items():
            if clean_url not in by_clean:
                hint = kinds.get(given, kinds.get(clean_url))
                by_clean[clean_url] = one(clean_url, hint)
        paths = await _gather_all(by_clean.values())
        done = dict(zip(by_clean.keys(), paths))
        tracker.finish()
    for given, clean_url in wanted.items():
        results[given] = done[clean_url]
    return results
