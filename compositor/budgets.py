"""Resource budgets (pure, no I/O): what one render may ask of the machine.

A hostile or broken draft must fail fast with ``LIMIT_EXCEEDED`` — naming the limit, the
value and the setting that raises it — instead of allocating gigabytes or running for days.
Every budget is checked at probe time, before any frame is rendered:

* :func:`check_draft` right after parsing (canvas and output size, fps, segment count),
* :class:`StillBudget` while stills are probed (per-image and total decoded pixels, checked
  on the image header, before any pixel is decoded),
* :func:`check_timeline` once the timeline is resolved (output size, fps, frame count,
  output duration, the speed of every clip).

The JSON guards (nesting depth of raw JSON text, non-finite numbers in a parsed draft) are
:mod:`compositor.jsonguard`. :class:`Limits` is passed in: ``RenderOptions.limits`` for the
library and the CLI, the server builds one from its ``--max-*`` settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from fractions import Fraction

from . import timebase
from .errors import DraftError, LimitExceeded

__all__ = ["Limits", "StillBudget", "check_draft", "check_timeline"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Budgets of one render. Defaults: frames up to 4096 px a side, 120 fps, 2 hours and
    432,000 frames (2 hours at 60 fps), 5,000 segments, 100 M pixels a still and 1 G pixels of
    stills in all, speeds 0.1x to 100x, JSON nested 64 deep."""

    #: each side of the draft canvas and of the output frame, pixels
    max_side_px: int = 4096
    #: output frame rate (numbers and "N/D" strings alike)
    max_fps: int = 120
    #: output duration, seconds
    max_duration_s: float = 7200.0
    #: output frames
    max_frames: int = 432_000
    #: segments over all tracks of the draft
    max_segments: int = 5000
    #: decoded pixels of one still image (photo, sticker, canvas image)
    max_still_pixels: int = 100_000_000
    #: decoded pixels of all distinct still images of the draft together
    max_total_still_pixels: int = 1_000_000_000
    #: playback speed of a clip (JianYing allows 0.1x to 100x)
    min_speed: float = 0.1
    max_speed: float = 100.0
    #: nesting depth of JSON (draft_content.json, request bodies)
    max_json_depth: int = 64
    #: how messages name a setting: "library" → ``Limits.max_fps``,
    #: "server" → ``--max-fps / DRAFT_SERVER_MAX_FPS``
    naming: str = "library"

    def setting(self, name: str) -> str:
        if self.naming == "server":
            return f"--{name.replace('_', '-')} / DRAFT_SERVER_{name.upper()}"
        return f"Limits.{name}"

    def exceeded(
        self, name: str, value, *, what: str = "", below: bool = False, json_path: str | None = None
    ) -> LimitExceeded:
        return LimitExceeded(
            name, value, getattr(self, name), self.setting(name), what=what, below=below, json_path=json_path
        )

    def as_dict(self) -> dict:
        """The budget values (without ``naming``): to send to a worker process."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "naming"}


def _fps_text(fps: Fraction) -> str:
    return f"{float(fps):g}" if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator} (≈{float(fps):.6g})"


def check_side(value: int, limits: Limits, *, what: str, json_path: str | None = None) -> None:
    """One side of a frame (``what`` names it, e.g. "output width")."""
    if value > limits.max_side_px:
        raise limits.exceeded("max_side_px", value, what=what, json_path=json_path)


def check_size(width: int, height: int, limits: Limits, *, what: str, json_path: str | None = None) -> None:
    check_side(width, limits, what=f"{what} width", json_path=json_path)
    check_side(height, limits, what=f"{what} height", json_path=json_path)


def check_fps(fps, limits: Limits, *, json_path: str | None = None) -> None:
    """``fps``: a number, a Fraction or an ``"N/D"`` string."""
    value = fps if isinstance(fps, Fraction) else Fraction(fps) if isinstance(fps, str) else Fraction(fps)
    if value > limits.max_fps:
        raise limits.exceeded("max_fps", _fps_text(value), what="frame rate", json_path=json_path)


def check_draft(draft, output, limits: Limits) -> None:
    """Budgets a parsed draft and the output options (``timeline.OutputOptions``) must meet
    before any media file is opened."""
    cc = draft.canvas_config
    check_size(cc.width, cc.height, limits, what="canvas", json_path="$.canvas_config")
    w, h = output.size_for(cc.width, cc.height)
    check_size(w, h, limits, what="output")
    if output.fps is not None:
        check_fps(output.fps, limits)
    else:
        try:
            fps = timebase.fps_fraction(draft.fps)
        except ValueError:  # a positive float too small to be a frame rate
            raise DraftError(f"fps {draft.fps!r} is not a usable frame rate", "$.fps") from None
        check_fps(fps, limits, json_path="$.fps")
    segments = sum(len(t.segments) for t in draft.tracks)
    if segments > limits.max_segments:
        raise limits.exceeded("max_segments", segments, what="number of segments", json_path="$.tracks")


def _segment_paths(draft) -> dict[str, str]:
    out: dict[str, str] = {}
    for ti, track in enumerate(draft.tracks):
        for si, seg in enumerate(track.segments):
            out.setdefault(seg.id, f"$.tracks[{ti}].segments[{si}]")
    return out


def check_timeline(tl, limits: Limits, draft=None) -> None:
    """Budgets of a resolved :class:`~compositor.timeline.Timeline` (``draft``, if given,
    only serves to name the JSON path of a clip whose speed is out of range)."""
    check_size(tl.width, tl.height, limits, what="output")
    check_fps(tl.fps, limits)
    if tl.frame_count > limits.max_frames:
        raise limits.exceeded("max_frames", tl.frame_count, what="output frame count")
    duration_s = tl.output_duration_us / timebase.US_PER_S
    if duration_s > limits.max_duration_s:
        raise limits.exceeded("max_duration_s", round(duration_s, 3), what="output duration (s)")
    paths: dict[str, str] | None = None
    clips = [c for t in tl.tracks for c in t.clips if getattr(c, "kind", "media") == "media" and not c.is_still]
    for clip in (*clips, *tl.audio_clips):
        below = clip.speed < limits.min_speed
        if below or clip.speed > limits.max_speed:
            if paths is None:
                paths = _segment_paths(draft) if draft is not None else {}
            raise limits.exceeded(
                "min_speed" if below else "max_speed",
                f"{clip.speed:.6g}",
                what=f"speed of segment {clip.segment_id!r}",
                below=below,
                json_path=paths.get(clip.segment_id),
            )


class StillBudget:
    """Counts the decoded pixels of still images as their headers are read (thread-safe
    enough for the catalogue's thread pool: one ``charge`` per distinct path, set/dict
    updates under the GIL). Raises ``LIMIT_EXCEEDED`` before the pixels are decoded."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.charged: dict[str, int] = {}

    @property
    def total(self) -> int:
        return sum(self.charged.values())

    def charge(self, path: str, width: int, height: int) -> None:
        limits = self.limits
        pixels = int(width) * int(height)
        name = os.path.basename(str(path))
        if pixels > limits.max_still_pixels:
            raise limits.exceeded("max_still_pixels", pixels, what=f"still image {name} ({width}x{height})")
        if path in self.charged:
            return
        self.charged[path] = pixels
        total = self.total
        if total > limits.max_total_still_pixels:
            raise limits.exceeded(
                "max_total_still_pixels", total, what=f"decoded pixels of all still images (with {name})"
            )
