"""What the service checks about a draft before and while rendering it.

* :func:`validate_draft_url` / :func:`validate_callback_url`: the shape of URLs in requests
  (http(s), a ``draft_id`` of capcut-mate's shape — ``compositor.paths.is_valid_draft_id``)
  and the egress policy's verdict on what needs no DNS (a literal loopback/private/… address
  is ``400 URL_FORBIDDEN``).
* :class:`DraftChecker`: the submission check of a ``draft_url`` — GET get_draft (404 or
  ``code != 0`` → not found), GET its ``draft_content.json``, hash it (gen_video's idempotency)
  and refuse an empty or malformed draft. Every request goes through the server's
  :class:`~compositor.egress_client.EgressClient`, so a refused URL or redirect hop is
  ``URL_FORBIDDEN``; :meth:`DraftChecker.preflight` resolves a URL's host at submission.
  Network trouble is not a verdict: the job is accepted and the worker reports what it finds.
  No error quotes what a remote server answered.
* :func:`check_inline_draft`: an inline draft of ``POST /v1/renders``.
* :func:`check_material_paths`: the rule that keeps a remote caller from reading server files —
  every media path a draft uses must resolve to an http(s) URL or to a file inside the draft
  folder (unless the server trusts local paths). Runs in the worker before anything is opened.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

import aiohttp
import msgspec

from compositor import compound
from compositor.draft import MAX_JSON_DEPTH, Draft, parse_draft
from compositor.egress import public_url
from compositor.egress_client import BadUrl, EgressClient, describe_error
from compositor.errors import AssetUnreachable, DraftEmpty, DraftError, UrlForbidden
from compositor.resolve import check_not_empty
from compositor.draft_folder import strip_invisibles
from compositor.fetch import LocalDraft, draft_id_from_url
from compositor.jsonguard import json_depth_error
from compositor.paths import MAX_DRAFT_ID_CHARS, is_inside, is_valid_draft_id

from .egress import egress_policy
from .errors import ApiError, from_compositor
from .settings import Settings

log = logging.getLogger(__name__)

MAX_CONTENT_BYTES = 64 * 1024 * 1024


def _is_http(s: str) -> bool:
    return s[:7].lower() == "http://" or s[:8].lower() == "https://"


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def validate_draft_url(
    url: str | None, settings: Settings, *, path: str = "$.draft_url", missing_id_capcut_code: int | None = 2001
) -> tuple[str, str]:
    """Return ``(url, draft_id)`` or raise 400 VALIDATION_ERROR naming ``path``."""
    if url is None or not url.strip():
        raise ApiError("VALIDATION_ERROR", f"{path}: draft_url is required", path=path)
    clean = strip_invisibles(url)  # as fetch_draft reads it: one draft_id for the lock and the folder
    if not _is_http(clean):
        if settings.allow_local_paths and os.path.isabs(clean):
            name = os.path.basename(clean.rstrip("/"))
            return clean, name if is_valid_draft_id(name) else "local"
        raise ApiError("VALIDATION_ERROR", f"{path}: must be an http(s) URL", path=path)
    _check_url_shape(clean, path)
    draft_id = draft_id_from_url(clean)
    if not draft_id:
        raise ApiError(
            "VALIDATION_ERROR",
            f"{path}: the URL carries no draft_id query parameter",
            path=path,
            capcut_code=missing_id_capcut_code,
        )
    if not is_valid_draft_id(draft_id):
        raise ApiError(
            "VALIDATION_ERROR",
            f"{path}: draft_id must be 1 to {MAX_DRAFT_ID_CHARS} letters, digits, '-' or '_'",
            path=path,
        )
    _check_url_policy(clean, settings, path)
    return clean, draft_id


def _check_url_shape(clean: str, path: str) -> None:
    """An http(s) URL must parse and name a host."""
    try:
        parts = urlsplit(clean)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ApiError("VALIDATION_ERROR", f"{path}: not a valid URL", path=path) from None
    if not parts.hostname:
        raise ApiError("VALIDATION_ERROR", f"{path}: the URL has no host", path=path)


def _check_url_policy(clean: str, settings: Settings, path: str) -> None:
    """The egress policy's verdict on what needs no DNS (scheme, a literal address); names are
    resolved by :meth:`DraftChecker.preflight` and again at connection time."""
    try:
        egress_policy(settings).target(clean)
    except UrlForbidden as exc:
        raise forbidden(exc, path) from None
    except ValueError:
        raise ApiError("VALIDATION_ERROR", f"{path}: not a valid URL", path=path) from None


def forbidden(exc: UrlForbidden, path: str | None = None) -> ApiError:
    """A refused URL as ``400 URL_FORBIDDEN`` (naming the host and the setting that allows it)."""
    details = f"{path}: {exc.message}" if path else exc.message
    return ApiError("URL_FORBIDDEN", details, path=path, context={"url": exc.url, "host": exc.host})


def validate_callback_url(url: str | None, settings: Settings, *, path: str = "$.callback_url") -> str | None:
    if url is None or url == "":
        return None
    clean = url.strip()
    if not _is_http(clean):
        raise ApiError("VALIDATION_ERROR", f"{path}: must be an http(s) URL", path=path)
    _check_url_shape(clean, path)
    _check_url_policy(clean, settings, path)
    return clean


def is_empty(draft: Draft) -> bool:
    """Nothing to render (the compositor's DRAFT_EMPTY rule, ``timeline.check_not_empty``)."""
    try:
        check_not_empty(draft)
    except DraftEmpty:
        return True
    return False


def parse_checked(raw: bytes, *, path_prefix: str = "$", max_depth: int = MAX_JSON_DEPTH) -> Draft:
    """Parse ``draft_content.json`` bytes; DRAFT_INVALID (with the path) or DRAFT_EMPTY → ApiError."""
    try:
        draft = parse_draft(raw, max_depth=max_depth)
    except DraftError as exc:
        err = from_compositor(exc)
        if path_prefix != "$" and err.path:
            err.path = path_prefix + err.path[1:]
        raise err from None
    if is_empty(draft):
        raise ApiError("DRAFT_EMPTY", "the draft has no segment with a positive duration", path=f"{path_prefix}.tracks")
    return draft


def used_materials(draft: Draft):
    """(json path, material) of every video/audio material a segment uses as a file,
    including those of drafts nested in compound clips (``compositor.compound``)."""
    return compound.file_materials(draft)


def check_inline_draft(obj: dict[str, Any], settings: Settings) -> bytes:
    """An inline draft (native API) → its JSON bytes; material paths must be http(s) URLs."""
    raw = msgspec.json.encode(obj)
    draft = parse_checked(raw, path_prefix="$.draft", max_depth=settings.max_json_depth)
    if not settings.allow_local_paths:
        for path, mat in used_materials(draft):
            if not _is_http(mat.path.strip()):
                p = "$.draft" + path[1:]
                raise ApiError(
                    "VALIDATION_ERROR", f"{p}: material paths of an inline draft must be http(s) URLs", path=p
                )
    return raw


@dataclass(frozen=True)
class ConfinedDraft(LocalDraft):
    """A :class:`LocalDraft` whose ``resolve_material`` refuses local paths outside the draft
    folder (symlinks resolved) with ASSET_UNREACHABLE; http(s) URLs pass.

    Every media path the compositor opens through the draft (videos, audios, stickers,
    canvas images) is resolved by ``LocalDraft.resolve_material``, so rendering with this
    object confines them all. Stickers/canvas images that fail are left out by the
    compositor (with a warning); videos and audios fail the job.
    """

    @classmethod
    def of(cls, local: LocalDraft) -> "ConfinedDraft":
        return cls(local.draft_id, local.folder, local.content_path, local.source)

    def _may_probe(self, path: str) -> bool:
        return is_inside(path, self.folder)

    def resolve_material(self, raw_path: str) -> str:
        resolved = super().resolve_material(raw_path)
        if not resolved or _is_http(resolved):
            return resolved
        if not is_inside(resolved, self.folder):  # by text first: outside paths are never probed
            raise AssetUnreachable(
                "material path is outside the draft folder (this server renders only "
                "files of the downloaded draft and http(s) URLs)",
                raw_path,
            )
        return resolved


def check_material_paths(draft: Draft, local: LocalDraft, *, allow_local_paths: bool) -> LocalDraft:
    """The draft to render with: a :class:`ConfinedDraft` (unless the server trusts local
    paths), after checking every used video/audio path up front so a forbidden one fails the
    job before any file is opened."""
    if allow_local_paths:
        return local
    confined = ConfinedDraft.of(local)
    for _, mat in used_materials(draft):
        if mat.path:
            confined.resolve_material(mat.path)  # raises AssetUnreachable
    return confined


# -- submission check --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    verdict: str  # "ok" | "unknown" (network trouble: let the worker find out)
    content_hash: str | None = None
    reason: str = ""


class DraftChecker:
    """GET get_draft + draft_content.json with a short timeout (see the module docstring)."""

    def __init__(self, client: EgressClient, settings: Settings):
        self.client = client
        self.timeout = aiohttp.ClientTimeout(total=settings.submit_check_timeout_s)
        self.sync = settings.submit_check == "sync"
        self.max_depth = settings.max_json_depth

    async def preflight(self, url: str, path: str, *, draft_url: bool = False) -> None:
        """Resolve the host of ``url`` now and refuse it (400 URL_FORBIDDEN naming ``path``)
        when the egress policy would; DNS trouble is not a verdict. ``draft_url``: skipped
        when the synchronous check will fetch it anyway (through the same policy)."""
        if (draft_url and self.sync) or not url.lower().startswith(("http://", "https://")):
            return
        try:
            await self.client.preflight(url)
        except UrlForbidden as exc:
            raise forbidden(exc, path) from None
        except BadUrl:
            raise ApiError("VALIDATION_ERROR", f"{path}: not a valid URL", path=path) from None

    async def check(self, url: str, *, not_found_code: str = "INVALID_DRAFT_URL") -> CheckOutcome:
        try:
            return await self._check(url, not_found_code)
        except UrlForbidden as exc:
            raise forbidden(exc, "$.draft_url") from None
        except BadUrl:
            raise ApiError(
                not_found_code, "get_draft lists a URL that is not valid", context={"url": public_url(url)}
            ) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return CheckOutcome("unknown", reason=describe_error(exc))
        except ValueError as exc:
            return CheckOutcome("unknown", reason=str(exc))

    async def _read(self, url: str, headers: dict | None = None) -> tuple[int, bytes]:
        async with self.client.request("GET", url, timeout=self.timeout, headers=headers) as resp:
            if resp.status != 200:
                return resp.status, b""
            if resp.content_length is not None and resp.content_length > MAX_CONTENT_BYTES:
                raise ValueError("answer too large")
            if resp.content_length is not None:
                return 200, await resp.read()  # size checked above
            body = bytearray()
            async for chunk in resp.content.iter_chunked(1 << 16):  # to EOF: the connection is reused
                body += chunk
                if len(body) > MAX_CONTENT_BYTES:
                    raise ValueError("answer too large")
            return 200, bytes(body)

    async def _check(self, url: str, not_found_code: str) -> CheckOutcome:
        status, body = await self._read(url, {"Accept": "application/json"})
        shown = public_url(url)
        if status == 404:
            raise ApiError(not_found_code, "get_draft answered HTTP 404", context={"url": shown, "status": 404})
        if status != 200:
            return CheckOutcome("unknown", reason=f"get_draft answered HTTP {status}")
        if json_depth_error(body, self.max_depth) is not None:
            raise ApiError(not_found_code, "get_draft answered JSON nested too deeply", context={"url": shown})
        try:
            listing = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise ApiError(not_found_code, "get_draft did not answer JSON", context={"url": shown}) from None
        if not isinstance(listing, dict) or listing.get("code") != 0:
            # only the business code, never the answer's text (it may come from an internal page)
            code = listing.get("code") if isinstance(listing, dict) else None
            code = code if isinstance(code, int) and not isinstance(code, bool) else None
            raise ApiError(
                not_found_code,
                f"get_draft answered code {code if code is not None else '(none)'}",
                context={"url": shown, "api_code": code},
            )
        files = listing.get("files")
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise ApiError(not_found_code, "get_draft answer has no list of files", context={"url": shown})
        content_url = _pick_content(files)
        if content_url is None:
            raise ApiError(not_found_code, "get_draft lists no draft_content.json", context={"url": shown})
        status, raw = await self._read(content_url)
        if status != 200:
            return CheckOutcome("unknown", reason=f"draft_content.json answered HTTP {status}")
        parse_checked(raw, max_depth=self.max_depth)
        return CheckOutcome("ok", content_hash=content_hash(raw))


def _pick_content(files: list[str]) -> str | None:
    by_name: dict[str, str] = {}
    for f in files:
        name = urlsplit(f.strip()).path.rsplit("/", 1)[-1]
        by_name.setdefault(name, f.strip())
    return by_name.get("draft_content.json") or by_name.get("draft_info.json")


class BackgroundChecks:
    """``submit_check = "async"``: run the check after answering; a definitive failure fails
    the (still queued) job with the check's error code, a pass records the content hash."""

    def __init__(self, checker: DraftChecker, on_fail: Callable, on_pass: Callable, *, parallel: int = 32):
        self.checker = checker
        self.on_fail = on_fail
        self.on_pass = on_pass
        self.sem = asyncio.Semaphore(parallel)
        self.tasks: set[asyncio.Task] = set()

    def schedule(self, job_id: str, url: str, not_found_code: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(job_id, url, not_found_code))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, job_id: str, url: str, not_found_code: str) -> None:
        async with self.sem:
            try:
                outcome = await self.checker.check(url, not_found_code=not_found_code)
            except ApiError as err:
                await self.on_fail(job_id, err)
                return
            except Exception:
                log.exception("background draft check of %s failed", url)
                return
            await self.on_pass(job_id, outcome)

    async def close(self) -> None:
        for t in list(self.tasks):
            t.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


__all__ = [
    "validate_draft_url",
    "validate_callback_url",
    "forbidden",
    "DraftChecker",
    "CheckOutcome",
    "BackgroundChecks",
    "check_inline_draft",
    "check_material_paths",
    "ConfinedDraft",
    "parse_checked",
    "is_empty",
    "content_hash",
    "used_materials",
]
