"""What each video source must deliver over a render (pure): decode work matched to what shows.

``source_visibility(timeline)`` walks the frame plans of the whole output (the plan already
drops layers under an opaque full-frame layer: :func:`compositor.plan.is_occluded`) and
returns, per top-level video segment, a :class:`SourceVisibility`:

* ``shown_us`` — the sorted distinct source times at which its picture is drawn. A frame of
  the source that no time here selects (by the hold rule: the newest frame with pts ≤ t)
  is never shown: it lies before or after the clip's window, under an opaque layer, or
  between two sampled output times of a speed-up. The video reader neither converts nor,
  where the codec allows, decodes such frames; a segment with no shown time is not opened.
* ``max_scale`` — the largest linear scale of its matrix (cropped source px → output px,
  the largest singular value) over those frames. A source never drawn above
  :data:`LOOP_FILTER_SKIP_MAX_SCALE` is decoded without the H.264 loop filter
  (``loop_filter_skippable``); the PSNR cost, measured at the output size, is in
  docs/decoding.md.

Still, text and compound layers are not listed (they have no decoder of their own here);
nested timelines keep decoding as before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .geometry import Affine
from .plan import FramePlan, plan_frame
from .timeline import Timeline

__all__ = [
    "LOOP_FILTER_SKIP_MAX_SCALE",
    "SourceVisibility",
    "loop_filter_skippable",
    "max_linear_scale",
    "source_visibility",
    "visibility_of_plans",
]

#: a source drawn at most this large (linear) may be decoded without the loop filter
LOOP_FILTER_SKIP_MAX_SCALE = 0.5


@dataclass(frozen=True, slots=True)
class SourceVisibility:
    """Which source times of one video segment the output shows, and how large."""

    segment_id: str
    shown_us: tuple[int, ...]  # sorted, distinct source times (µs) at which it is drawn
    max_scale: float  # largest singular value of its matrix over those frames (0.0: never drawn)
    first_us: int | None = None  # source time of the first output frame that draws it
    in_order: bool = True  # source times never decrease from one output frame to the next


def max_linear_scale(m: Affine) -> float:
    """The largest singular value of ``m``'s linear part (how much it enlarges at most)."""
    a, b, d, e = m.a, m.b, m.d, m.e
    s = a * a + b * b + d * d + e * e
    det = a * e - b * d
    disc = max(0.0, s * s - 4.0 * det * det)
    return math.sqrt(max(0.0, (s + math.sqrt(disc)) / 2.0))


def loop_filter_skippable(vis: SourceVisibility | None) -> bool:
    """True when the segment is drawn, and never above :data:`LOOP_FILTER_SKIP_MAX_SCALE`."""
    return vis is not None and bool(vis.shown_us) and 0.0 < vis.max_scale <= LOOP_FILTER_SKIP_MAX_SCALE


def visibility_of_plans(plans: Iterable[FramePlan], segment_ids: Iterable[str]) -> dict[str, SourceVisibility]:
    """:class:`SourceVisibility` of each of ``segment_ids`` over ``plans``."""
    wanted = set(segment_ids)
    times: dict[str, set[int]] = {sid: set() for sid in wanted}
    scale: dict[str, float] = dict.fromkeys(wanted, 0.0)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    out_of_order: set[str] = set()
    for plan in plans:
        for op in plan.sources():
            sid = op.segment_id
            if sid not in wanted or op.is_still or op.source_us is None:
                continue
            t = op.source_us
            times[sid].add(t)
            first.setdefault(sid, t)
            if t < last.get(sid, t):
                out_of_order.add(sid)
            last[sid] = t
            s = max_linear_scale(op.matrix)
            if not math.isfinite(s) or s > scale[sid]:
                scale[sid] = s if math.isfinite(s) else math.inf
    return {
        sid: SourceVisibility(sid, tuple(sorted(times[sid])), scale[sid], first.get(sid), sid not in out_of_order)
        for sid in wanted
    }


def video_segment_ids(tl: Timeline) -> list[str]:
    """Top-level segments that read a video decoder (not stills, text or compound clips)."""
    return [c.segment_id for tr in tl.tracks for c in tr.clips if c.kind == "media" and not c.is_still]


def source_visibility(tl: Timeline, frames: range | None = None) -> dict[str, SourceVisibility]:
    """:class:`SourceVisibility` of every top-level video segment over the output frames
    ``frames`` (default: the whole output; a chunk's range gives that chunk's schedule)."""
    indices = range(tl.frame_count) if frames is None else frames
    plans = (plan_frame(tl, n) for n in indices)
    return visibility_of_plans(plans, video_segment_ids(tl))
