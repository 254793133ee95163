"""Routes the console needs besides the render API (I/O: job store, draft fetch in a thread).

* ``POST /v1/probe`` — ``{draft_url}`` or ``{draft}`` (+ ``output``): what a render would see
  (:mod:`server.probe`), without queueing anything. The fetch and media probe run in a thread
  (at most ``PROBE_CONCURRENCY`` at once) so the event loop is never blocked.
* ``GET /v1/stats`` — the queue summary: jobs per state and workers (the whole service, as
  ``/healthz`` shows them), the caller's renders running now and the caller's jobs finished in
  the last hour (jobs, frames, seconds of video, throughput; an admin key: everyone's).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import Meta

from compositor.paths import is_valid_draft_id

from .auth import principal_of
from .drafts import check_inline_draft, validate_draft_url
from .errors import ApiError
from .jobs.model import COMPLETED, FAILED, CANCELLED, RUNNING
from .egress import egress_policy, fetch_limits
from .probe import PROBE_REQUEST_DECODER, probe_draft
from .request_limits import read_body, server_limits
from .schemas import ENCODER, decode, iso_utc, spec_from_output
from .state import CHECKER, POOL, SETTINGS, STORAGE, STORE

PROBE_CONCURRENCY = 2
#: finished jobs looked at for the last-hour figures (newest first)
STATS_WINDOW_JOBS = 1000
HOUR_S = 3600.0


class RunningRender(msgspec.Struct):
    id: str
    phase: str
    progress: Annotated[int, Meta(ge=0, le=100)]
    frames_done: int
    frames_total: int
    eta_s: float | None
    started_at: str | None


class LastHour(msgspec.Struct):
    completed: int
    failed: int
    cancelled: int
    frames: int
    #: seconds of video rendered
    video_s: float
    #: seconds spent rendering them
    render_s: float
    #: frames per second of render time (null when nothing finished)
    frames_per_s: float | None
    #: completed jobs per hour
    jobs_per_hour: int


class Stats(msgspec.Struct):
    jobs: dict[str, int]
    queue_depth: int
    concurrency: int
    workers_alive: int
    workers_busy: int
    running: list[RunningRender]
    last_hour: LastHour


_PROBES = web.AppKey("probe_semaphore", asyncio.Semaphore)


async def probe(request: web.Request) -> web.Response:
    app = request.app
    settings, storage = app[SETTINGS], app[STORAGE]
    raw_body = await read_body(request, settings.max_draft_bytes, "--max-draft-bytes / DRAFT_SERVER_MAX_DRAFT_BYTES")
    body = decode(PROBE_REQUEST_DECODER, raw_body, max_depth=settings.max_json_depth + 1)
    if (body.draft_url is None) == (body.draft is None):
        raise ApiError("VALIDATION_ERROR", "$.draft_url: give exactly one of draft_url and draft", path="$.draft_url")
    spec = spec_from_output(body.output, settings)
    inline = url = draft_id = None
    cache_dir = None
    if body.draft_url is not None:
        url, draft_id = validate_draft_url(body.draft_url, settings)
        await app[CHECKER].preflight(url, "$.draft_url")  # 400 URL_FORBIDDEN
        if url.lower().startswith(("http://", "https://")):
            cache_dir = storage.cache_dir_for(url)
    else:
        inline = check_inline_draft(body.draft, settings)
        draft_id = body.draft.get("id") if is_valid_draft_id(body.draft.get("id")) else None
    work_dir = storage.work_dir(f"probe-{uuid.uuid4().hex}")
    loop = asyncio.get_running_loop()
    async with app[_PROBES]:
        result = await loop.run_in_executor(
            None,
            lambda: probe_draft(
                draft_url=url,
                draft_id=draft_id,
                inline_draft=inline,
                spec=spec,
                cache_dir=cache_dir,
                work_dir=work_dir,
                allow_local_paths=settings.allow_local_paths,
                limits=server_limits(settings),
                egress=egress_policy(settings),
                fetch_limits=fetch_limits(settings),
            ),
        )
    return web.Response(body=ENCODER.encode(result), content_type="application/json")


async def stats(request: web.Request) -> web.Response:
    app = request.app
    store = app[STORE]
    scope = principal_of(request).scope  # the caller's jobs (an admin key: all)
    counts = await store.counts()
    running = await store.list(state=RUNNING, limit=1000, key_id=scope)
    now = time.time()
    hour = {COMPLETED: 0, FAILED: 0, CANCELLED: 0}
    frames, video_s, render_s = 0, 0.0, 0.0
    for state in hour:
        for job in await store.list(state=state, limit=STATS_WINDOW_JOBS, key_id=scope):
            if job.completed_at is None or now - job.completed_at > HOUR_S:
                continue
            hour[state] += 1
            if state == COMPLETED and job.result:
                frames += int(job.result.get("frames", 0))
                video_s += job.result.get("duration_us", 0) / 1e6
                render_s += float(job.result.get("elapsed_s", 0.0))
    pool = app.get(POOL)
    body = Stats(
        jobs=counts,
        queue_depth=counts.get("queued", 0),
        concurrency=app[SETTINGS].concurrency,
        workers_alive=pool.workers_alive() if pool is not None else 0,
        workers_busy=pool.busy() if pool is not None else 0,
        running=[
            RunningRender(
                id=j.id,
                phase=j.phase,
                progress=j.progress,
                frames_done=j.frames_done,
                frames_total=j.frames_total,
                eta_s=j.eta_s,
                started_at=iso_utc(j.started_at),
            )
            for j in running
        ],
        last_hour=LastHour(
            completed=hour[COMPLETED],
            failed=hour[FAILED],
            cancelled=hour[CANCELLED],
            frames=frames,
            video_s=round(video_s, 3),
            render_s=round(render_s, 3),
            frames_per_s=round(frames / render_s, 2) if render_s > 0 else None,
            jobs_per_hour=hour[COMPLETED],
        ),
    )
    return web.Response(body=ENCODER.encode(body), content_type="application/json")


def setup(app: web.Application) -> None:
    app[_PROBES] = asyncio.Semaphore(PROBE_CONCURRENCY)
    app.router.add_post("/v1/probe", probe, name="probe")
    app.router.add_get("/v1/stats", stats, name="stats", allow_head=False)


__all__ = ["setup", "Stats", "RunningRender", "LastHour"]
