"""capcut-mate's video routes, as a drop-in replacement (``docs/service.md#api``).

* ``POST /openapi/capcut-mate/v1/gen_video`` ``{draft_url, apiKey?}`` → 200
  ``{"code": 0, "message": "视频生成任务已提交，请使用draft_url查询进度", "status", "progress", …}``
  and ``video_url`` once completed. Idempotent: the same ``draft_url`` string (trimmed) while the job is
  pending/processing returns that job; after completion, an unchanged draft (sha256 of its
  ``draft_content.json``) with unchanged output options returns the finished job without
  rendering again; a changed draft, or a failed job, renders again.
* ``POST …/gen_video_status`` ``{draft_url}`` → capcut-mate's fields plus ``phase``,
  ``error_code``, ``warnings``, ``eta_s``; lookup by the exact URL string, then the newest
  finished job with the same ``draft_id``; none → 2031.
* ``GET …/gen_video_active_count`` → ``{code, message, count}`` (the caller's queued + running jobs).

Every lookup is the caller's own jobs (``server.auth``): idempotency is per API key, and
another key's task is "not found".
"""

from __future__ import annotations

import uuid

from aiohttp import web
from msgspec import UNSET

from compositor.fetch import draft_id_from_url
from compositor.paths import is_valid_draft_id

from .auth import GATE, principal_of
from .drafts import validate_draft_url
from .errors import GEN_VIDEO_SUBMITTED, SUCCESS, ApiError, language, message_for
from .jobs.model import CANCELLED, COMPLETED, FAILED, KIND_CAPCUT, QUEUED, RUNNING, Job, NewJob
from .schemas import (
    ENCODER,
    GEN_VIDEO_DECODER,
    GEN_VIDEO_STATUS_DECODER,
    ActiveCountResponse,
    GenVideoResponse,
    GenVideoStatusResponse,
    capcut_spec,
    decode,
    iso_local,
    warnings_out,
)
from .request_limits import read_body
from .submission import submit_job
from .state import CHECKER, SETTINGS, STORAGE, STORE

PREFIX = "/openapi/capcut-mate/v1"
BODY_SETTING = "--max-body-bytes / DRAFT_SERVER_MAX_BODY_BYTES"

_STATUS = {QUEUED: "pending", RUNNING: "processing", COMPLETED: "completed", FAILED: "failed", CANCELLED: "failed"}


def capcut_status(job: Job) -> str:
    return _STATUS[job.state]


def capcut_progress(job: Job) -> int:
    if job.state == COMPLETED:
        return 100
    if job.state in (FAILED, CANCELLED):
        return 0  # capcut-mate: any failure sets progress 0
    return max(0, min(99, job.progress))


def idem_key(draft_url: str) -> str:
    return "capcut:" + draft_url


def json_response(obj) -> web.Response:
    return web.Response(body=ENCODER.encode(obj), content_type="application/json")


def check_api_key(key: str | None, keys_configured: bool) -> None:
    """``apiKey`` on a server without keys: when given it must be a UUID (capcut-mate's rule).
    With keys configured it is an opaque key, checked by ``server.auth`` before the handler."""
    if key and not keys_configured:
        try:
            uuid.UUID(key)
        except ValueError:
            raise ApiError("VALIDATION_ERROR", "$.apiKey: the apiKey must be a UUID", path="$.apiKey") from None


async def gen_video(request: web.Request) -> web.Response:
    app = request.app
    settings, store, storage = app[SETTINGS], app[STORE], app[STORAGE]
    raw = await read_body(request, settings.max_body_bytes, BODY_SETTING)
    body = decode(GEN_VIDEO_DECODER, raw, max_depth=settings.max_json_depth)
    check_api_key(body.apiKey, app[GATE].keyring.configured)
    caller = principal_of(request)
    url, draft_id = validate_draft_url(body.draft_url, settings)  # trimmed: "url" and "url " are one job
    await app[CHECKER].preflight(url, "$.draft_url", draft_url=True)  # 400 URL_FORBIDDEN
    key = idem_key(url)
    spec = capcut_spec(settings)

    existing = await store.get_by_key(key, key_id=caller.key_id)
    if existing is not None and existing.active:
        return _submitted(existing, storage)

    content_hash = None
    reusable = (
        existing is not None
        and existing.state == COMPLETED
        and existing.spec.digest() == spec.digest()
        and storage.has_video(existing.id)
    )
    if settings.submit_check == "sync" or reusable:
        outcome = await app[CHECKER].check(url, not_found_code="INVALID_DRAFT_URL")  # 404/400 raise
        content_hash = outcome.content_hash
        if reusable and (existing.content_hash == content_hash or outcome.verdict == "unknown"):
            # unchanged draft (or the draft host cannot tell us now): the finished video stands
            return _submitted(existing, storage)

    new = NewJob(
        kind=KIND_CAPCUT,
        spec=spec,
        draft_url=url,
        draft_id=draft_id,
        idem_key=key,
        content_hash=content_hash,
        max_attempts=settings.max_attempts,
        pending_check=settings.submit_check == "async" and content_hash is None,
        key_id=caller.key_id,
    )
    res = await submit_job(app, new, api="capcut", url=url, not_found_code="INVALID_DRAFT_URL")
    return _submitted(res.job, storage)


def _submitted(job: Job, storage) -> web.Response:
    return json_response(
        GenVideoResponse(
            code=0,
            message=GEN_VIDEO_SUBMITTED,
            status=capcut_status(job),
            progress=capcut_progress(job),
            draft_url=job.draft_url or "",
            task_id=job.id,
            video_url=storage.video_url(job.id) if job.state == COMPLETED else UNSET,
        )
    )


def error_message_of(job: Job, lang: str) -> str:
    if job.state == CANCELLED:
        return message_for("CANCELLED", lang)
    if job.state != FAILED:
        return ""
    code = job.error_code or "RENDER_FAILED"
    base = message_for(code, lang)
    return f"{base}: {job.error_message}" if job.error_message else base


async def gen_video_status(request: web.Request) -> web.Response:
    app = request.app
    store, storage, settings = app[STORE], app[STORAGE], app[SETTINGS]
    raw = await read_body(request, settings.max_body_bytes, BODY_SETTING)
    body = decode(GEN_VIDEO_STATUS_DECODER, raw, max_depth=settings.max_json_depth)
    url = body.draft_url.strip()
    if not url:
        raise ApiError("VALIDATION_ERROR", "$.draft_url: draft_url is required", path="$.draft_url")
    scope = principal_of(request).scope
    job = await store.get_by_key(idem_key(url), key_id=scope)
    if job is None:
        draft_id = draft_id_from_url(url)
        if is_valid_draft_id(draft_id):
            job = await store.latest_by_draft_id(draft_id, kind=KIND_CAPCUT, terminal_only=True, key_id=scope)
    if job is None:
        raise ApiError("TASK_NOT_FOUND")
    lang = language(request)
    error_code = (
        (job.error_code or "RENDER_FAILED") if job.state == FAILED else ("CANCELLED" if job.state == CANCELLED else "")
    )
    return json_response(
        GenVideoStatusResponse(
            code=0,
            message=SUCCESS[lang],
            draft_url=job.draft_url or url,
            status=capcut_status(job),
            progress=capcut_progress(job),
            video_url=storage.video_url(job.id) if job.state == COMPLETED else "",
            error_message=error_message_of(job, lang),
            created_at=iso_local(job.created_at),
            started_at=iso_local(job.started_at),
            completed_at=iso_local(job.completed_at),
            phase=job.phase,
            error_code=error_code,
            warnings=warnings_out(job.warnings),
            eta_s=job.eta_s if job.active else None,
            task_id=job.id,
        )
    )


async def gen_video_active_count(request: web.Request) -> web.Response:
    counts = await request.app[STORE].counts(key_id=principal_of(request).scope)
    return json_response(
        ActiveCountResponse(code=0, message=SUCCESS[language(request)], count=counts["queued"] + counts["running"])
    )


def setup(app: web.Application) -> None:
    app.router.add_post(f"{PREFIX}/gen_video", gen_video, name="gen_video")
    app.router.add_post(f"{PREFIX}/gen_video_status", gen_video_status, name="gen_video_status")
    app.router.add_get(
        f"{PREFIX}/gen_video_active_count", gen_video_active_count, name="gen_video_active_count", allow_head=False
    )


__all__ = ["setup", "PREFIX", "capcut_status", "capcut_progress", "check_api_key", "idem_key"]
