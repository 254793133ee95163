"""Putting a new job on the queue (I/O: the job store): shared by both APIs."""

from __future__ import annotations

import msgspec
from aiohttp import web

from .errors import ApiError
from .jobs.model import NewJob, QueueFull, SubmitResult
from .state import BG_CHECKS, METRICS, SETTINGS, STORE


async def submit_job(
    app: web.Application, new: NewJob, *, api: str, url: str | None, not_found_code: str
) -> SubmitResult:
    """Submit ``new``: 503 BUSY when the queue is full; count it; schedule its deferred
    draft check (``not_found_code`` is the error a failed check records)."""
    settings = app[SETTINGS]
    if settings.chunk_seconds and not new.spec.chunk_s:  # this node's chunking rule travels with the job
        new = msgspec.structs.replace(new, spec=msgspec.structs.replace(new.spec, chunk_s=settings.chunk_seconds))
    try:
        res = await app[STORE].submit(new, queue_limit=settings.queue_limit)
    except QueueFull as exc:
        raise ApiError("BUSY", str(exc), headers={"Retry-After": "5"}) from None
    if res.created:
        app[METRICS].submitted.labels(api=api).inc()
        if new.pending_check:
            app[BG_CHECKS].schedule(res.job.id, url, not_found_code)
    return res
