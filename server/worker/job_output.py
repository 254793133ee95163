"""What every rendering step of a worker process shares (I/O: files, the object store): the
throttled progress messages to the parent, the hand-over of a finished video — poster
JPEG, then ``put_output`` (a rename locally, a streamed multipart upload to S3) — and the
job's ``result`` record describing it."""

from __future__ import annotations

import logging
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from .protocol import Progress, ToParent

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.2  # worker → server progress messages, at most this often


def progress_sender(job_id: str, send: Callable[[ToParent], None]) -> Callable[[Any], None]:
    """A render ``progress`` callback that sends at most one :class:`Progress` every
    ``PROGRESS_EVERY_S`` (and always the last frame's)."""
    last = [0.0]

    def progress(p: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or p.frames_done == p.frames_total:
            last[0] = now
            send(Progress(job_id, p.frames_done, p.frames_total, p.elapsed_s))

    return progress


def publish_output(job_id: str, output: Path, poster_path: Path, storage: Any) -> tuple[bool, int]:
    """Write the poster (a nicety: its failure is logged, not raised) and hand both files to the
    storage; returns (poster written, the video's size in bytes)."""
    from ..storage import write_poster

    poster = False
    try:
        poster = write_poster(output, poster_path)
    except Exception as exc:  # a poster is a nicety, not a failure
        log.warning("job %s: no poster: %s", job_id, exc)
    size_bytes = output.stat().st_size
    if storage is not None:  # S3: streamed multipart uploads; the local files are deleted after
        storage.put_output(job_id, output, "video")
        if poster:
            storage.put_output(job_id, poster_path, "poster")
    return poster, size_bytes


def video_result(
    output: Path,
    size_bytes: int,
    poster: bool,
    *,
    width: int,
    height: int,
    fps: Fraction,
    frames: int,
    duration_us: int,
    elapsed_s: float,
    realtime_factor: float | None,
) -> dict[str, Any]:
    """The ``result`` of a job that produced ``output`` (a whole render or a chunk join)."""
    return {
        "video": output.name,
        "size_bytes": size_bytes,
        "width": width,
        "height": height,
        "fps": f"{fps.numerator}/{fps.denominator}",
        "frames": frames,
        "duration_us": duration_us,
        "elapsed_s": round(elapsed_s, 3),
        "realtime_factor": realtime_factor,
        "poster": poster,
    }


__all__ = ["PROGRESS_EVERY_S", "progress_sender", "publish_output", "video_result"]
