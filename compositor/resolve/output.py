"""The output picture (size, canvas-to-output transform) and the time range to render (pure)."""

from __future__ import annotations

from fractions import Fraction

from .. import timebase
from ..draft import Draft
from ..errors import DraftEmpty, OptionsError
from ..geometry import Affine
from ..timeline import OutputOptions
from .collector import WarningLog


def output_geometry(draft: Draft, options: OutputOptions, warnings: WarningLog) -> tuple[int, int, Affine]:
    """Output width, height (even: yuv420p) and the canvas-to-output transform (fit, centred)."""
    cw, ch = draft.canvas_config.width, draft.canvas_config.height
    w, h = options.size_for(cw, ch)
    if w <= 0 or h <= 0 or w > 16384 or h > 16384:
        raise OptionsError(f"output size {w}x{h} is out of range")
    # yuv420p needs even sizes.
    w, h = w + (w & 1), h + (h & 1)
    s = min(w / cw, h / ch)
    m = Affine.scale(s).then(Affine.translate((w - cw * s) / 2, (h - ch * s) / 2))
    if (w, h) != (options.width or w, options.height or h) or (
        options.width is None and options.height is None and (w, h) != (cw, ch)
    ):
        warnings.note("output_size", message=f"output size rounded up to even {w}x{h} (yuv420p)")
    return w, h, m


def check_not_empty(draft: Draft) -> int:
    """The end (µs) of the draft's last segment; raises DraftEmpty when nothing would render."""
    seg_end = max((s.target_timerange.end for t in draft.tracks for s in t.segments), default=0)
    if seg_end <= 0:
        raise DraftEmpty("the draft has no segment with a positive duration", "$.tracks")
    return seg_end


def duration_us(draft: Draft, warnings: WarningLog) -> int:
    """The draft's length: its ``duration``, or the last segment's end when that is later."""
    seg_end = check_not_empty(draft)
    total_us = max(draft.duration, seg_end)
    if draft.duration and draft.duration != seg_end:
        warnings.note(
            "duration",
            message=f"draft duration {draft.duration} µs differs from the last "
            f"segment end {seg_end} µs; rendering {total_us} µs",
        )
    return total_us


def frame_range(total_us: int, fps: Fraction, options: OutputOptions) -> tuple[int, int]:
    """(first frame, frame count) of the part of a ``total_us`` draft that ``options`` select."""
    first = 0
    end_frame = timebase.frame_count(total_us, fps)
    if options.start_us is not None:
        first = timebase.first_frame_at_or_after(options.start_us, fps)
    if options.end_us is not None:
        end_frame = min(end_frame, timebase.first_frame_at_or_after(options.end_us, fps))
    if end_frame - first <= 0:
        raise OptionsError(
            f"time range [{options.start_us}, {options.end_us}) selects no frame of a {total_us} µs draft"
        )
    return first, end_frame - first
