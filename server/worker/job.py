"""The job body: what one render job does inside a worker process (I/O: network, files, encoder).

:func:`render_job` downloads the draft (a cache folder per get_draft endpoint, locked per draft
id — the lock is released on every path, failures and cancels included), checks that every
material path stays inside the draft folder or is an http(s) URL
(``drafts.check_material_paths``), resolves the timeline and calls the compositor's
``DraftSession.render`` — the one render loop — then writes a poster JPEG and hands both to the
storage (``put_output``: a rename locally, a streamed multipart upload to S3). With an object
store, downloaded drafts are shared with the farm (``server.draft_share``). It reports through
``send`` (protocol messages) and raises on failure; the caller (``server.worker.child``) turns
an exception into an :class:`~server.worker.protocol.Error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Mapping

import msgspec

from .chunk_steps import chunk_step
from .job_output import PROGRESS_EVERY_S, progress_sender, publish_output, video_result
from .protocol import JobResult, JobSpec, Phase, SplitPlan, Start, ToParent

log = logging.getLogger(__name__)


Send = Callable[[ToParent], None]


async def _cancellable(coro, cancel: threading.Event):
    from compositor.errors import Cancelled

    task = asyncio.ensure_future(coro)
    while not task.done():
        await asyncio.wait({task}, timeout=0.1)
        if cancel.is_set() and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            raise Cancelled("cancelled while downloading")
    return task.result()


def render_job(
    job: JobSpec | Mapping[str, Any], cancel: threading.Event, send: Send, engines=None
) -> JobResult | SplitPlan:
    """Fetch, check, render and poster one job; returns its result (or, for a job to render in
    chunks, its :class:`SplitPlan`: ``server.worker.chunk_steps``). Raises on failure.

    ``job`` is a :class:`JobSpec` (or its dict form). ``engines`` (the worker) keeps a text
    engine across jobs: ``engines.text_engine``."""
    from compositor.budgets import Limits
    from compositor.draft import parse_draft
    from compositor.errors import Cancelled, DraftNotFound
    from compositor.fetch import LocalDraft, fetch_draft
    from compositor.paths import is_valid_draft_id
    from compositor.pipeline import RenderOptions, open_local

    from ..draft_lock import DraftLock
    from ..draft_share import share_draft
    from ..drafts import check_material_paths
    from ..egress import from_egress_spec
    from ..storage import storage_from_spec

    if not isinstance(job, JobSpec):
        job = msgspec.convert(job, JobSpec)
    job_id = job.job_id
    s = job.spec
    egress, fetch_limits = from_egress_spec(msgspec.structs.asdict(job.egress))
    storage = storage_from_spec(job.storage)

    def check_cancel() -> None:
        if cancel.is_set():
            raise Cancelled("cancelled")

    send(Phase(job_id, "downloading"))
    with contextlib.ExitStack() as held:  # the draft lock is released on every path
        if job.inline_draft is not None:
            work = Path(job.work_dir)
            work.mkdir(parents=True, exist_ok=True)
            content = work / "draft_content.json"
            content.write_bytes(job.inline_draft)
            local = LocalDraft(None, work, content, "inline")
        else:
            url = job.draft_url or ""
            if url.lower().startswith(("http://", "https://")):
                draft_id = job.draft_id
                if draft_id is None or not is_valid_draft_id(draft_id):
                    raise DraftNotFound("the draft_id is not 1 to 128 letters, digits, '-' or '_'", url)
                cache = Path(job.cache_dir or job.work_dir)
                held.enter_context(DraftLock(cache, draft_id))
                local = share_draft(  # restore from / upload to the farm's object store
                    storage,
                    cache,
                    draft_id,
                    lambda: asyncio.run(
                        _cancellable(fetch_draft(url, cache, policy=egress, limits=fetch_limits), cancel)
                    ),
                )
                with contextlib.suppress(OSError):
                    os.utime(local.folder)  # "recently used" for the cache sweep
            else:  # trusted setups only (allow_local_paths)
                local = asyncio.run(fetch_draft(url, Path(job.work_dir)))
        check_cancel()
        raw = local.content_path.read_bytes()
        content_hash = hashlib.sha256(raw).hexdigest()
        send(Phase(job_id, "probing"))
        limits = Limits(**job.limits, naming="server")
        draft = parse_draft(raw, max_depth=limits.max_json_depth)
        local = check_material_paths(draft, local, allow_local_paths=job.allow_local_paths)
        options = RenderOptions(
            width=s.width,
            height=s.height,
            fps=Fraction(s.fps) if s.fps else None,
            start_us=s.start_us,
            end_us=s.end_us,
            crf=s.crf,
            preset=s.preset,
            threads=s.threads,
            limits=limits,
            egress=egress,
            fetch_limits=fetch_limits,
        )
        if engines is not None and engines.text_engine is None and any(t.type == "text" for t in draft.tracks):
            from compositor.text import default_engine

            engines.text_engine = default_engine()
        session = open_local(local, options, text_engine=engines.text_engine if engines is not None else None)
        check_cancel()
        warnings = [msgspec.to_builtins(w) for w in session.warnings]
        # chunked renders: a split plan, one chunk or the final join instead of the whole render
        step = chunk_step(session, job, cancel, send, warnings, content_hash, storage)
        if step is not None:
            return step
        send(Start(job_id, session.frame_count, warnings))
        output = Path(job.output)
        result = session.render(output, progress=progress_sender(job_id, send), cancel=cancel)
    send(Phase(job_id, "finalizing"))
    poster, size_bytes = publish_output(job_id, output, Path(job.poster), storage)
    return JobResult(
        result=video_result(
            output,
            size_bytes,
            poster,
            width=result.width,
            height=result.height,
            fps=result.fps,
            frames=result.frames,
            duration_us=result.duration_us,
            elapsed_s=result.elapsed_s,
            realtime_factor=round(result.realtime_factor, 3) if result.elapsed_s > 0 else None,
        ),
        warnings=[msgspec.to_builtins(w) for w in result.warnings],  # + frame-time ones
        content_hash=content_hash,
    )


__all__ = ["render_job", "PROGRESS_EVERY_S"]
