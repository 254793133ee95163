"""The render timeline (pure data): what a resolved draft is made of.

Immutable values the frame planner reads — visual tracks in z-order (bottom first) holding
clips whose geometry is reduced to one matrix per clip, adjustment (effect/filter) tracks,
audio clips, transitions with their windows, the output profile — and the warnings for
everything the draft asks for that is not rendered exactly. :mod:`compositor.resolve`
builds it from a draft.

Ranges are named by their frame of reference: ``target_*`` is timeline time, ``source_*``
is media time; integers carry their unit (``_us``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from . import timebase
from .effects.animation import AnimationSpec
from .effects.filters import AdjustSpec
from .geometry import Affine
from .effects.masks import MaskSpec
from .warnings import RenderWarning

if TYPE_CHECKING:  # the text layer holds pixel code: named for the checker, never imported here
    from .text.engine import TextLayer

VISUAL_PROPERTIES = {
    "KFTypePositionX",
    "KFTypePositionY",
    "KFTypeScaleX",
    "KFTypeScaleY",
    "UNIFORM_SCALE",
    "KFTypeRotation",
    "KFTypeAlpha",
}


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the timeline needs to know about one media file (filled in by the I/O side)."""

    path: str
    kind: str  # "video" | "image" | "audio"
    width: int  # display size (after rotation metadata)
    height: int
    coded_width: int
    coded_height: int
    rotation: int = 0  # clockwise degrees to apply to coded frames
    duration_us: int = 0
    has_video: bool = True
    has_audio: bool = False
    has_alpha: bool = False


@dataclass(frozen=True, slots=True)
class OutputOptions:
    """What the caller wants out; ``None`` means "as the draft says"."""

    width: int | None = None
    height: int | None = None
    fps: Fraction | float | None = None
    start_us: int | None = None
    end_us: int | None = None

    def size_for(self, canvas_w: int, canvas_h: int) -> tuple[int, int]:
        """The output size asked for (before rounding to even): a missing side follows the
        canvas's aspect ratio, neither given = the canvas size."""
        w, h = self.width, self.height
        if w is None:
            if h is None:
                return canvas_w, canvas_h
            return round(canvas_w * h / canvas_h), h
        if h is None:
            return w, round(canvas_h * w / canvas_w)
        return w, h


@dataclass(frozen=True, slots=True)
class ClipTransform:
    """Static values of a segment's ``clip`` object (docs/format.md#the-clip-object)."""

    alpha: float = 1.0
    rotation: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0
    x: float = 0.0  # half-canvas widths, right positive
    y: float = 0.0  # half-canvas heights, UP positive
    flip_h: bool = False
    flip_v: bool = False


@dataclass(frozen=True, slots=True)
class TransitionSpan:
    """A transition between clip ``a`` and the next clip ``b`` of the same track."""

    name: str
    resource_id: str
    impl: str  # implementation key, e.g. "dissolve"
    start_us: int  # window on the timeline, half-open
    end_us: int
    is_overlap: bool = True


@dataclass(frozen=True, slots=True)
class BackgroundSpec:
    """Canvas fill behind a bottom-track clip (``materials.canvases``, docs/format.md#canvas-fills)."""

    kind: str  # "color" | "blur" | "image"
    rgba: tuple[int, int, int, int] = (0, 0, 0, 255)
    blur: float = 0.0
    image_path: str = ""
    image_size: tuple[int, int] = (0, 0)  # kind "image": picture size in pixels


@dataclass(frozen=True, slots=True)
class VisualClip:
    segment_id: str
    material_id: str
    media_key: str  # path of the media file
    is_still: bool
    has_alpha: bool
    target_start_us: int
    target_duration_us: int
    source_start_us: int
    source_duration_us: int
    speed: float
    reverse: bool
    media_duration_us: int
    crop_px: tuple[int, int, int, int]  # region of the coded frame that is shown
    base: Affine  # cropped coded px -> element-centred canvas px at scale 1
    static: ClipTransform
    keyframes: tuple[tuple[str, tuple[tuple[int, float], ...]], ...] = ()
    uniform_scale: bool = True
    transition_out: TransitionSpan | None = None
    background: BackgroundSpec | None = None
    animations: tuple[AnimationSpec, ...] = ()
    kind: str = "media"  # "media" (video/photo file) | "text" (picture = text.raster)
    # | "compound" (picture = nested timeline, compositor.compound)
    text: TextLayer | None = None  # kind "text": the text layer drawn
    mask: MaskSpec | None = None  # material-space mask (docs/format.md#masks)
    mix_mode: str = ""  # blend mode key (docs/format.md#mix-modes-and-chroma); "" = normal alpha-over
    filters: tuple[AdjustSpec, ...] = ()  # segment-attached filters / effects (docs/format.md)

    @property
    def target_end_us(self) -> int:
        return self.target_start_us + self.target_duration_us

    def keyframe_track(self, prop: str) -> tuple[tuple[int, float], ...] | None:
        for name, points in self.keyframes:
            if name == prop:
                return points
        return None


@dataclass(frozen=True, slots=True)
class VisualTrack:
    z: int  # 0 = bottom
    track_id: str
    clips: tuple[VisualClip, ...]


@dataclass(frozen=True, slots=True)
class AdjustmentClip:
    """An effect or filter segment on an effect/filter track (docs/format.md#effects-and-filters)."""

    segment_id: str
    target_start_us: int
    target_duration_us: int
    spec: AdjustSpec

    @property
    def target_end_us(self) -> int:
        return self.target_start_us + self.target_duration_us


@dataclass(frozen=True, slots=True)
class AdjustmentTrack:
    z: int  # position among the visual tracks (0 = bottom)
    track_id: str
    clips: tuple[AdjustmentClip, ...]


@dataclass(frozen=True, slots=True)
class AudioClip:
    segment_id: str
    media_key: str
    target_start_us: int
    target_duration_us: int
    source_start_us: int
    speed: float
    volume: float
    fade_in_us: int = 0
    fade_out_us: int = 0
    volume_keyframes: tuple[tuple[int, float], ...] = ()
    tone_modify: bool = False  # True: pitch follows speed (resample); False: time-stretch

    @property
    def target_end_us(self) -> int:
        return self.target_start_us + self.target_duration_us


@dataclass(frozen=True, slots=True)
class Timeline:
    canvas_width: int  # the draft's canvas
    canvas_height: int
    width: int  # the output frame
    height: int
    fps: Fraction
    duration_us: int  # whole draft
    first_frame: int  # timeline frame index of output frame 0 (time-range option)
    frame_count: int  # output frames
    canvas_to_output: Affine
    tracks: tuple[VisualTrack, ...]
    audio_clips: tuple[AudioClip, ...]
    warnings: tuple[RenderWarning, ...] = field(default=())
    adjustments: tuple[AdjustmentTrack, ...] = ()  # effect/filter tracks, drawn at their z
    # compound clips: media key -> nested timeline whose output is the clip's picture
    compounds: dict[str, "Timeline"] = field(default_factory=dict)

    def timeline_us(self, output_index: int) -> int:
        """Timeline time of output frame ``output_index`` (the one rounding rule)."""
        return timebase.frame_time_us(self.first_frame + output_index, self.fps)

    @property
    def output_duration_us(self) -> int:
        return self.timeline_us(self.frame_count) - self.timeline_us(0)


def source_time_us(clip: VisualClip | AudioClip, t_us: int) -> int:
    """Media time shown by ``clip`` at timeline time ``t_us`` (may lie outside the media)."""
    local = t_us - clip.target_start_us
    if isinstance(clip, VisualClip) and clip.reverse:
        return int(round(clip.source_start_us + clip.source_duration_us - local * clip.speed))
    return int(round(clip.source_start_us + local * clip.speed))
