"""Chunked renders in the worker process (I/O: the encoder, files, the storage of the node).

Called by :func:`server.worker.job.render_job` once the draft is resolved
(:func:`chunk_step`), by the job's :attr:`~server.worker.protocol.JobSpec.mode`:

* ``"render"`` with ``spec.chunk_s`` shorter than the output: the :class:`SplitPlan` (the
  frame ranges, ``server.chunked.split_ranges``) instead of a render; the supervisor's
  coordinator (``server.worker.coordinator``) takes it from there.
* ``"chunk"``: ``render_range`` of ``JobSpec.chunk`` (video only, starts on an IDR frame) to
  ``JobSpec.output``; the supervisor stores it with ``storage.put_blob``.
* ``"finish"``: the audio of the whole timeline once, then ``join_chunks`` of
  ``JobSpec.chunk_files`` (stream copy, faststart), the poster, and ``put_output`` as a whole
  render does.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import msgspec

from .. import chunked
from .job_output import progress_sender, publish_output, video_result
from .protocol import JobResult, JobSpec, Phase, SplitPlan, Start, ToParent

log = logging.getLogger(__name__)


def chunk_step(
    session,
    job: JobSpec,
    cancel: threading.Event,
    send: Callable[[ToParent], None],
    warnings: list[dict[str, Any]],
    content_hash: str,
    storage,
) -> JobResult | SplitPlan | None:
    """The answer of a split, a chunk or the final join; ``None`` = render the whole job as usual."""
    if job.mode == "chunk":
        return _render_chunk(session, job, cancel, send, warnings, content_hash)
    if job.mode == "finish":
        return _join(session, job, cancel, send, content_hash, storage)
    ranges = chunked.split_ranges(session.frame_count, session.timeline.fps, job.spec.chunk_s)
    if ranges is None:
        return None
    return SplitPlan(frames_total=session.frame_count, ranges=ranges, warnings=warnings, content_hash=content_hash)


def _render_chunk(session, job: JobSpec, cancel, send, warnings: list[dict[str, Any]], content_hash: str) -> JobResult:
    part = job.chunk
    if part is None:
        raise ValueError(f"chunk job {job.job_id} carries no frame range")
    job_id, a, b = job.job_id, part.start_frame, part.end_frame
    send(Start(job_id, b - a, warnings))
    output = Path(job.output)
    result = session.render(output, progress=progress_sender(job_id, send), cancel=cancel, frames=range(a, b))
    return JobResult(
        result={
            "chunk": part.index,
            "frames": result.frames,
            "size_bytes": output.stat().st_size,
            "elapsed_s": round(result.elapsed_s, 3),
        },
        warnings=[msgspec.to_builtins(w) for w in result.warnings],
        content_hash=content_hash,
    )


def _join(session, job: JobSpec, cancel, send, content_hash: str, storage) -> JobResult:
    from compositor.errors import Cancelled
    from compositor.pipeline import join_chunks

    job_id = job.job_id
    if not job.chunk_files:
        raise ValueError(f"job {job_id}: nothing to join")
    send(Phase(job_id, "finalizing"))
    started = time.monotonic()
    output = Path(job.output)
    audio = Path(job.chunk_files[0]).parent / "audio.m4a"
    session.render_audio(audio, cancel=cancel)
    if cancel.is_set():
        raise Cancelled("cancelled while joining")
    join_chunks([Path(p) for p in job.chunk_files], audio, output)
    poster, size_bytes = publish_output(job_id, output, Path(job.poster), storage)
    tl = session.timeline
    warnings = chunked.merge_warnings([msgspec.to_builtins(w) for w in session.warnings], job.chunk_warnings)
    result = video_result(
        output,
        size_bytes,
        poster,
        width=tl.width,
        height=tl.height,
        fps=tl.fps,
        frames=tl.frame_count,
        duration_us=tl.output_duration_us,
        elapsed_s=time.monotonic() - started,  # the join; chunks' time is in their jobs
        realtime_factor=None,
    )
    return JobResult(
        result={**result, "chunks": len(job.chunk_files)},
        warnings=warnings,
        content_hash=content_hash,
    )


__all__ = ["chunk_step"]
