"""The native render API for new clients.

* ``POST /v1/renders`` — ``draft_url`` or an inline ``draft`` object (material paths must be
  http(s) URLs), ``output`` options, optional ``callback_url`` → 202 + the job (``Location``).
  An ``Idempotency-Key`` header returns the job first created with that key.
* ``GET /v1/renders`` (``?state=&limit=&before=``), ``GET /v1/renders/{id}``.
* ``DELETE /v1/renders/{id}`` — cancel: a queued job at once, a running one within about a
  second (the answer waits up to a few seconds for it: 200 when stopped, else 202).
* ``GET /v1/renders/{id}/events`` — Server-Sent Events: ``progress`` events, then one terminal
  event (``completed`` | ``failed`` | ``cancelled``) and the stream ends.
* ``GET /v1/renders/{id}/video.mp4`` (Range requests) and ``/poster.jpg`` once completed; with
  ``--storage s3://…`` a 302 to the object's presigned (or public) URL.

A caller only sees its own jobs (``server.auth``; admin keys see all): another key's job is
404 NOT_FOUND. Idempotency keys are per API key. The file routes also open with a signed link.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from compositor.paths import is_valid_draft_id

from .auth import principal_of
from .drafts import check_inline_draft, content_hash, validate_callback_url, validate_draft_url
from .errors import ApiError, ErrorInfo, language, message_for
from .jobs.model import COMPLETED, KIND_NATIVE, STATES, Job, NewJob
from .schemas import (
    ENCODER,
    RENDER_REQUEST_DECODER,
    RenderJob,
    RenderJobList,
    RenderLinks,
    RenderResultOut,
    decode,
    iso_utc,
    output_of,
    spec_from_output,
    warnings_out,
)
from .request_limits import read_body
from .submission import submit_job
from .state import CHECKER, POOL, SETTINGS, STORAGE, STORE
from .storage import LocalStorage

KEEPALIVE_S = 15.0
MAX_IDEMPOTENCY_KEY = 200


def job_view(job: Job, storage: LocalStorage, lang: str = "en") -> RenderJob:
    base = storage.base_url
    done = job.state == COMPLETED
    error = None
    if job.error_code and job.terminal:
        detail = dict(job.error_detail or {})
        path = detail.pop("json_path", None)
        error = ErrorInfo(
            code=job.error_code,
            message=message_for(job.error_code, lang),
            details=job.error_message or "",
            path=path,
            context=detail or None,
        )
    elif job.state == "cancelled":
        error = ErrorInfo(code="CANCELLED", message=message_for("CANCELLED", lang))
    result = None
    if done and job.result:
        r = job.result
        result = RenderResultOut(
            width=r["width"],
            height=r["height"],
            fps=r["fps"],
            frames=r["frames"],
            duration_s=r["duration_us"] / 1e6,
            size_bytes=r["size_bytes"],
            elapsed_s=r["elapsed_s"],
            realtime_factor=r.get("realtime_factor"),
        )
    poster = done and bool(job.result and job.result.get("poster"))
    return RenderJob(
        id=job.id,
        state=job.state,
        phase=job.phase,
        progress=job.progress,
        frames_done=job.frames_done,
        frames_total=job.frames_total,
        eta_s=job.eta_s if job.active else None,
        attempts=job.attempts,
        draft_url=job.draft_url,
        draft_id=job.draft_id,
        output=output_of(job.spec),
        callback_url=job.callback_url,
        created_at=iso_utc(job.created_at),
        started_at=iso_utc(job.started_at),
        completed_at=iso_utc(job.completed_at),
        error=error,
        warnings=warnings_out(job.warnings),
        video_url=storage.video_url(job.id) if done else None,
        poster_url=storage.poster_url(job.id) if poster else None,
        result=result,
        links=RenderLinks(
            self=f"{base}/v1/renders/{job.id}",
            events=f"{base}/v1/renders/{job.id}/events",
            video=storage.video_url(job.id) if done else None,
            poster=storage.poster_url(job.id) if poster else None,
        ),
    )


def job_json(job: Job, storage: LocalStorage, lang: str = "en") -> bytes:
    return ENCODER.encode(job_view(job, storage, lang))


def _json(body: bytes, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


async def _load(request: web.Request) -> Job:
    job = await request.app[STORE].get(request.match_info["id"], key_id=principal_of(request).scope)
    if job is None:
        raise ApiError("NOT_FOUND", f"no render job {request.match_info['id']}")
    return job


async def create_render(request: web.Request) -> web.Response:
    app = request.app
    settings, store, storage = app[SETTINGS], app[STORE], app[STORAGE]
    caller = principal_of(request)
    raw_body = await read_body(request, settings.max_draft_bytes, "--max-draft-bytes / DRAFT_SERVER_MAX_DRAFT_BYTES")
    body = decode(RENDER_REQUEST_DECODER, raw_body, max_depth=settings.max_json_depth + 1)
    lang = language(request)
    if (body.draft_url is None) == (body.draft is None):
        raise ApiError("VALIDATION_ERROR", "$.draft_url: give exactly one of draft_url and draft", path="$.draft_url")
    spec = spec_from_output(body.output, settings)
    callback = validate_callback_url(body.callback_url, settings)
    if callback:
        await app[CHECKER].preflight(callback, "$.callback_url")  # egress policy: 400 URL_FORBIDDEN

    key_header = request.headers.get("Idempotency-Key")
    idem = None
    if key_header is not None:
        if not key_header or len(key_header) > MAX_IDEMPOTENCY_KEY:
            raise ApiError("VALIDATION_ERROR", f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} characters")
        idem = "native:" + key_header
        existing = await store.get_by_key(idem, key_id=caller.key_id)
        if existing is not None:
            return _json(job_json(existing, storage, lang), 200, {"Location": f"/v1/renders/{existing.id}"})

    pending_check = False
    if body.draft_url is not None:
        url, draft_id = validate_draft_url(body.draft_url, settings)
        await app[CHECKER].preflight(url, "$.draft_url", draft_url=True)  # 400 URL_FORBIDDEN
        chash = None
        if settings.submit_check == "sync" and url.lower().startswith(("http://", "https://")):
            chash = (await app[CHECKER].check(url, not_found_code="DRAFT_NOT_FOUND")).content_hash
        pending_check = settings.submit_check == "async" and url.lower().startswith(("http://", "https://"))
        new = NewJob(
            kind=KIND_NATIVE,
            spec=spec,
            draft_url=url,
            draft_id=draft_id,
            idem_key=idem,
            content_hash=chash,
            callback_url=callback,
            max_attempts=settings.max_attempts,
            pending_check=pending_check,
            key_id=caller.key_id,
        )
    else:
        raw = check_inline_draft(body.draft, settings)
        draft_id = body.draft.get("id") if is_valid_draft_id(body.draft.get("id")) else None
        new = NewJob(
            kind=KIND_NATIVE,
            spec=spec,
            draft_id=draft_id or None,
            inline_draft=raw,
            idem_key=idem,
            content_hash=content_hash(raw),
            callback_url=callback,
            max_attempts=settings.max_attempts,
            key_id=caller.key_id,
        )
    res = await submit_job(app, new, api="native", url=new.draft_url, not_found_code="DRAFT_NOT_FOUND")
    return _json(
        job_json(res.job, storage, lang), 202 if res.created else 200, {"Location": f"/v1/renders/{res.job.id}"}
    )


async def get_render(request: web.Request) -> web.Response:
    return _json(job_json(await _load(request), request.app[STORAGE], language(request)))


async def list_renders(request: web.Request) -> web.Response:
    q = request.query
    state = q.get("state") or None
    if state is not None and state not in STATES:
        raise ApiError("VALIDATION_ERROR", f"state: one of {', '.join(STATES)}", path="state")
    try:
        limit = int(q.get("limit", "100"))
        before = int(q["before"]) if q.get("before") else None
    except ValueError:
        raise ApiError("VALIDATION_ERROR", "limit/before: integers expected") from None
    if not 1 <= limit <= 1000:
        raise ApiError("VALIDATION_ERROR", "limit: between 1 and 1000", path="limit")
    jobs = await request.app[STORE].list(
        state=state, limit=limit, before_seq=before, key_id=principal_of(request).scope
    )
    storage, lang = request.app[STORAGE], language(request)
    nxt = jobs[-1].seq if len(jobs) == limit else None
    return _json(ENCODER.encode(RenderJobList(items=[job_view(j, storage, lang) for j in jobs], next_before=nxt)))


async def cancel_render(request: web.Request) -> web.Response:
    app = request.app
    store, storage = app[STORE], app[STORAGE]
    job = await store.cancel(request.match_info["id"], key_id=principal_of(request).scope)
    if job is None:
        raise ApiError("NOT_FOUND", f"no render job {request.match_info['id']}")
    if job.terminal and job.state != "cancelled":
        raise ApiError("JOB_FINISHED", f"the job is already {job.state}", context={"state": job.state})
    if job.active:
        if app.get(POOL) is not None:
            app[POOL].cancel_running(job.id)
        wait_s = app[SETTINGS].cancel_grace_s + 2.0
        with contextlib.suppress(asyncio.TimeoutError):
            async with asyncio.timeout(wait_s):
                async with contextlib.aclosing(store.watch(job.id)) as changes:
                    async for j in changes:
                        job = j
    return _json(job_json(job, storage, language(request)), 200 if job.terminal else 202)


async def render_events(request: web.Request) -> web.StreamResponse:
    store, storage = request.app[STORE], request.app[STORAGE]
    first = await _load(request)
    lang = language(request)
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await resp.prepare(request)
    stream = store.watch(first.id).__aiter__()
    try:
        while True:
            try:
                job = await asyncio.wait_for(stream.__anext__(), KEEPALIVE_S)
            except asyncio.TimeoutError:
                await resp.write(b": keep-alive\n\n")
                continue
            except StopAsyncIteration:
                break
            event = "progress" if job.active else job.state
            data = job_json(job, storage, lang)
            await resp.write(b"id: %d\nevent: %s\ndata: %s\n\n" % (job.version, event.encode(), data))
            if job.terminal:
                break
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    finally:
        await stream.aclose()
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp


async def _finished_file(request: web.Request, which: str) -> web.StreamResponse:
    job = await _load(request)
    storage = request.app[STORAGE]
    if job.state != COMPLETED:
        raise ApiError("NOT_READY", f"the job is {job.state}", context={"state": job.state})
    if storage.redirects:  # an object store: the owner (checked above) is sent to a presigned URL
        if which == "poster" and not (job.result and job.result.get("poster")):
            raise ApiError("NOT_FOUND", f"job {job.id} has no poster")
        url = storage.output_url(job.id, "video" if which == "video" else "poster")
        raise web.HTTPFound(url, headers={"Cache-Control": "private, no-store"})
    path = storage.video_path(job.id) if which == "video" else storage.poster_path(job.id)
    if not path.is_file():
        raise ApiError("NOT_FOUND", f"the {which} of job {job.id} is gone")
    if which == "video":
        return storage.response(path, "video/mp4", download_name=f"{job.id}.mp4")
    return storage.response(path, "image/jpeg")


async def render_video(request: web.Request) -> web.StreamResponse:
    return await _finished_file(request, "video")


async def render_poster(request: web.Request) -> web.StreamResponse:
    return await _finished_file(request, "poster")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/v1/renders", create_render, name="create_render")
    r.add_get("/v1/renders", list_renders, name="list_renders", allow_head=False)
    r.add_get("/v1/renders/{id}", get_render, name="get_render", allow_head=False)
    r.add_delete("/v1/renders/{id}", cancel_render, name="cancel_render")
    r.add_get("/v1/renders/{id}/events", render_events, name="render_events", allow_head=False)
    r.add_get("/v1/renders/{id}/video.mp4", render_video, name="render_video")
    r.add_get("/v1/renders/{id}/poster.jpg", render_poster, name="render_poster")


__all__ = ["setup", "job_view", "job_json"]
