"""Downloading files: a shared client, bounded parallelism, progress, atomic writes (I/O).

:class:`DownloadPool` downloads each URL with :func:`~compositor.fetch.retry.with_retries`,
a per-file deadline (all attempts together), a per-file size limit, a size-based cache
(``Last-Modified`` is compared too when the server sends it), in-run resumption with ``Range``
after a dropped connection and atomic writes (temp name + rename).
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import aiohttp

from ..egress import EgressPolicy, public_url
from ..egress_client import BadUrl, EgressClient
from ..errors import AssetUnreachable
from .body import read_body
from .limits import RETRY_STATUSES, FetchLimits, client_timeout
from .retry import NETWORK_ERRORS, Fatal, Retryable, with_retries

Progress = Callable[[int, int], None]

_STALE_PART_S = 600.0


class ProgressTracker:
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
class FileState:
    url: str
    dest: Path
    cached: Path | None  # an existing file that may satisfy the request
    part: Path  # temp file, renamed onto dest when complete
    have: int = 0  # bytes in `part` usable for a Range resume
    total: int | None = None  # size announced by the first full response
    validator: str | None = None  # ETag / Last-Modified of that response (If-Range)
    counted_done: int = 0  # what this file reported to the progress tracker
    counted_total: int = 0


class DownloadPool:
    """Downloads files with a shared client, a parallelism bound and a progress tracker."""

    def __init__(self, client: EgressClient, limits: FetchLimits, tracker: ProgressTracker):
        self.client = client
        self.limits = limits
        self.tracker = tracker
        self.sem = asyncio.Semaphore(max(1, int(limits.parallel)))

    async def download(self, url: str, dest: Path, *, cached: Path | None, headers_out: dict | None = None) -> Path:
        """Download ``url`` atomically to ``dest``; returns ``dest`` — or ``cached`` when that
        file exists with the size the server announces (then nothing is transferred).
        ``headers_out`` receives the headers of the response that supplied the file."""
        limits = self.limits
        dest.parent.mkdir(parents=True, exist_ok=True)
        _cleanup_stale_parts(dest)
        st = FileState(url, dest, cached, dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
        shown = public_url(url)
        try:
            async with asyncio.timeout(None) as deadline:  # armed when the first attempt starts
                return await self._attempts(st, headers_out, shown, deadline)
        except TimeoutError:
            if deadline.expired():
                raise AssetUnreachable(f"download did not finish within {limits.deadline_s:g} s", shown) from None
            raise
        finally:
            try:
                st.part.unlink()
            except OSError:
                pass

    async def _attempts(self, st: FileState, headers_out: dict | None, shown: str, deadline: asyncio.Timeout) -> Path:
        limits = self.limits

        async def attempt() -> Path:
            try:
                async with self.sem:
                    if limits.deadline_s > 0 and deadline.when() is None:  # waiting for a slot is free
                        deadline.reschedule(asyncio.get_running_loop().time() + limits.deadline_s)
                    return await self._attempt(st, headers_out, shown)
            except BadUrl:
                raise Fatal(AssetUnreachable("not a valid URL", shown)) from None
            except NETWORK_ERRORS:
                raise
            except OSError as e:  # local disk trouble is not retried
                raise Fatal(
                    AssetUnreachable(f"cannot write {st.dest}: {e.strerror or type(e).__name__}", shown), e
                ) from e

        def after_failure() -> None:
            st.have = st.part.stat().st_size if st.part.exists() else 0

        return await with_retries(
            attempt,
            limits,
            after_failure=after_failure,
            give_up=lambda attempts, reason, status: AssetUnreachable(
                f"download failed after {attempts} attempts ({reason})", shown, status
            ),
        )

    async def _attempt(self, st: FileState, headers_out: dict | None, shown: str) -> Path:
        limits = self.limits
        tracker = self.tracker
        headers = {"Accept-Encoding": "identity"}
        resume = st.total is not None and 0 < st.have < st.total
        if resume:
            headers["Range"] = f"bytes={st.have}-"
            if st.validator:
                headers["If-Range"] = st.validator
        async with self.client.request("GET", st.url, headers=headers, timeout=client_timeout(limits)) as resp:
            status = resp.status
            if status in RETRY_STATUSES:
                raise Retryable(f"HTTP {status}", status, resp.headers.get("Retry-After"))
            if status == 416 and resume:
                st.total = None  # our partial data is unusable: start over
                raise Retryable("HTTP 416 on resume", status)
            if status != 200 and not (status == 206 and resume):
                raise Fatal(
                    AssetUnreachable("file not found" if status == 404 else "unexpected HTTP status", shown, status)
                )

            clen = _content_length(resp)
            mtime = _http_mtime(resp)
            if status == 200:
                total = clen
                if not resume and total is not None and st.cached is not None and st.cached.is_file():
                    stat = st.cached.stat()  # cache: same size (and Last-Modified if sent)
                    if stat.st_size == total and (mtime is None or abs(stat.st_mtime - mtime) < 1.0):
                        if headers_out is not None:
                            headers_out.update(resp.headers)
                        tracker.add_total(total)
                        tracker.add_done(total)
                        return st.cached
                offset = 0
                st.total = total
                st.validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
            else:  # 206: resuming where the last attempt stopped
                cr = resp.headers.get("Content-Range", "")
                m = re.match(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", cr)
                if not m or int(m.group(1)) != st.have or (m.group(3) != "*" and int(m.group(3)) != st.total):
                    st.total = None
                    raise Retryable("unusable Content-Range on resume", status)
                total = st.total
                offset = st.have

            if total is not None and total > limits.max_file_bytes:
                raise Fatal(
                    AssetUnreachable(
                        f"file of {total} bytes exceeds the limit of {limits.max_file_bytes} bytes", shown, status
                    )
                )
            if offset == 0 and (st.counted_done or st.counted_total):
                tracker.rewind(st.counted_done, st.counted_total)  # rewritten from scratch
                st.counted_done = st.counted_total = 0
            if total is not None and st.counted_total == 0:
                tracker.add_total(total)
                st.counted_total = total
            if headers_out is not None:
                headers_out.clear()
                headers_out.update(resp.headers)

            written = offset
            with open(st.part, "ab" if offset else "wb") as fh:
                async for chunk in read_body(resp, limits, shown):
                    written += len(chunk)
                    if written > limits.max_file_bytes:
                        raise Fatal(
                            AssetUnreachable(f"file exceeds the limit of {limits.max_file_bytes} bytes", shown, status)
                        )
                    fh.write(chunk)
                    st.counted_done += len(chunk)
                    tracker.add_done(len(chunk))
            if total is not None and written != total:
                raise Retryable(f"truncated body ({written} of {total} bytes)", status)
            if mtime is not None:
                try:
                    os.utime(st.part, (time.time(), mtime))
                except OSError:
                    pass
            os.replace(st.part, st.dest)
            return st.dest


async def gather_all(coros):
    """Run coroutines; on the first failure cancel the rest and re-raise it."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class ClientScope:
    """The given client, or one of our own under ``policy`` (permissive when None)."""

    def __init__(self, client: EgressClient | None, limits: FetchLimits, policy: EgressPolicy | None):
        self.given = client
        self.limits = limits
        self.policy = policy if policy is not None else EgressPolicy.permissive()
        self.own: EgressClient | None = None

    async def __aenter__(self) -> EgressClient:
        if self.given is not None:
            return self.given
        self.own = EgressClient(
            self.policy, limit=max(8, 2 * int(self.limits.parallel)), timeout=client_timeout(self.limits)
        )
        return self.own

    async def __aexit__(self, *exc) -> None:
        if self.own is not None:
            await self.own.close()
