"""Per-frame plan (pure): what to draw for output frame n, and how.

``plan_frame(timeline, n)`` returns a :class:`FramePlan`: an ordered list of drawing
operations (bottom first) with every number the compositor needs — which media and which
source time, the matrix from source pixels to output pixels, opacity, the destination box.
It touches no pixels and no files, so it can be printed, asserted and tested without media.

Layers hidden under an opaque full-frame layer are dropped here, so they are never decoded
for that frame's composite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from . import keyframes
from .effects import animation
from .geometry import Affine, pixel_box
from .effects.filters import AdjustSpec
from .effects.masks import MaskSpec
from .timeline import AdjustmentTrack, BackgroundSpec, Timeline, VisualClip, VisualTrack, source_time_us
from .effects.transitions import HALVES


@dataclass(frozen=True, slots=True)
class DrawOp:
    """Draw one clip's picture."""

    segment_id: str
    media_key: str
    is_still: bool
    has_alpha: bool
    source_us: int | None  # media time to show (None for stills)
    crop_px: tuple[int, int, int, int]
    matrix: Affine  # cropped source px -> output px
    opacity: float
    box: tuple[int, int, int, int]  # destination pixels touched (x0, y0, x1, y1)
    kind: str = "media"  # "media" | "text" (picture = the clip's text raster)
    reveal: int = -1  # text: characters shown (typewriter); -1 = all
    wipe: tuple[float, float] = (0.0, 1.0)  # text: visible horizontal window (feathered wipe)
    mask: MaskSpec | None = None  # material-space mask multiplied into the picture's alpha
    blend: str = ""  # blend mode key (compositor.kernels.blend_mode.MODES); "" = normal
    filters: tuple["AdjustOp", ...] = ()  # applied to the picture before it is placed

    def covers(self, width: int, height: int) -> bool:
        """True when the op paints every output pixel fully opaque."""
        if self.opacity < 1.0 or self.has_alpha or not self.matrix.is_axis_aligned():
            return False
        if self.mask is not None or self.blend:
            return False
        w = self.crop_px[2] - self.crop_px[0]
        h = self.crop_px[3] - self.crop_px[1]
        x0, y0, x1, y1 = self.matrix.bounds(w, h)
        return x0 <= 0 and y0 <= 0 and x1 >= width and y1 >= height


@dataclass(frozen=True, slots=True)
class FillOp:
    """Fill the whole frame with a colour (background)."""

    rgba: tuple[int, int, int, int]

    def covers(self, width: int, height: int) -> bool:
        return self.rgba[3] == 255


@dataclass(frozen=True, slots=True)
class BlurFillOp:
    """Blurred copy of a clip's picture scaled to cover the frame (JianYing canvas blur)."""

    draw: DrawOp  # matrix scales the picture to cover the frame
    blur: float  # 0..1 as the draft stores it

    def covers(self, width: int, height: int) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class TransitionOp:
    """Blend what clip A and clip B would each look like over the layers below."""

    impl: str  # implementation key, e.g. "dissolve"
    progress: float  # 0 = all A, 1 = all B
    a: tuple[DrawOp, ...]
    b: tuple[DrawOp, ...]
    name: str = ""
    overlap: bool = True  # False: "A out" half, then "B in" half (docs/format.md#transitions)

    def covers(self, width: int, height: int) -> bool:
        if not self.overlap and self.impl not in HALVES:
            return False  # the layers below show between the two halves
        return any(op.covers(width, height) for op in self.a) and any(op.covers(width, height) for op in self.b)


@dataclass(frozen=True, slots=True)
class AdjustOp:
    """A filter / scene effect: on an effect or filter track it processes the composite of
    everything below it; inside a DrawOp's ``filters`` it processes that clip's picture."""

    spec: AdjustSpec
    local_us: int  # time since the effect segment started
    duration_us: int  # length of the effect segment
    segment_id: str = ""

    def covers(self, width: int, height: int) -> bool:
        return False


Op = DrawOp | FillOp | BlurFillOp | TransitionOp | AdjustOp


@dataclass(frozen=True, slots=True)
class FramePlan:
    index: int  # output frame index
    t_us: int  # timeline time
    ops: tuple[Op, ...]  # bottom first
    dropped: tuple[str, ...] = ()  # segments not drawn: their transform is not finite / not invertible

    def sources(self) -> list[DrawOp]:
        """Every picture this frame reads, in drawing order."""
        out: list[DrawOp] = []
        for op in self.ops:
            if isinstance(op, DrawOp):
                out.append(op)
            elif isinstance(op, BlurFillOp):
                out.append(op.draw)
            elif isinstance(op, TransitionOp):
                out.extend(op.a)
                out.extend(op.b)
        return out


BLACK_FILL = FillOp((0, 0, 0, 255))  # the opaque black canvas (RGBA); YUV triples: pixels.yuv

# A layer covering less than this many output pixels is not drawn (nothing would show).
MIN_FOOTPRINT_PX = 1.0
# Largest |entry| of a layer's inverse matrix the warp kernels take (kernels.warp's limit).
MAX_INVERSE_ENTRY = float(1 << 24)


def transform_problem(m: Affine, w: int, h: int) -> str:
    """Why a ``w × h`` picture mapped by ``m`` cannot be drawn: "" (it can), "subpixel"
    (its footprint is below a pixel) or "degenerate" (not finite, or an inverse the kernels
    cannot sample with)."""
    entries = (m.a, m.b, m.c, m.d, m.e, m.f)
    if not all(math.isfinite(v) for v in entries):
        return "degenerate"
    det = m.determinant
    if not math.isfinite(det):
        return "degenerate"
    if abs(det) * w * h < MIN_FOOTPRINT_PX:
        return "subpixel"
    inv = m.inverse()
    if not all(abs(v) <= MAX_INVERSE_ENTRY for v in (inv.a, inv.b, inv.c, inv.d, inv.e, inv.f)):
        return "degenerate"
    return ""


def clip_values(clip: VisualClip, t_us: int) -> tuple[float, float, float, float, float, float]:
    """(x, y, scale_x, scale_y, rotation, alpha) of ``clip`` at timeline time ``t_us``.

    Keyframed properties replace the static clip values (docs/format.md#keyframes); with ``uniform_scale``
    on and only a ScaleX track, ScaleX drives both axes.
    """
    local = min(max(t_us - clip.target_start_us, 0), clip.target_duration_us)
    s = clip.static

    def kf(prop: str, default: float) -> float:
        pts = clip.keyframe_track(prop)
        return default if pts is None else keyframes.evaluate(pts, local)

    x = kf("KFTypePositionX", s.x)
    y = kf("KFTypePositionY", s.y)
    uniform = clip.keyframe_track("UNIFORM_SCALE")
    if uniform is not None:
        sx = sy = keyframes.evaluate(uniform, local)
    else:
        sx = kf("KFTypeScaleX", s.scale_x)
        has_y = clip.keyframe_track("KFTypeScaleY") is not None
        if clip.uniform_scale and not has_y and clip.keyframe_track("KFTypeScaleX") is not None:
            sy = sx
        else:
            sy = kf("KFTypeScaleY", s.scale_y)
    rot = kf("KFTypeRotation", s.rotation)
    alpha = kf("KFTypeAlpha", s.alpha)
    return x, y, sx, sy, rot, alpha


def clip_matrix(tl: Timeline, clip: VisualClip, x: float, y: float, sx: float, sy: float, rotation: float) -> Affine:
    """Cropped source pixels -> output pixels: base fit, flip, scale, rotate, translate."""
    cw, ch = tl.canvas_width, tl.canvas_height
    fx = -1.0 if clip.static.flip_h else 1.0
    fy = -1.0 if clip.static.flip_v else 1.0
    return (
        clip.base.then(Affine.scale(fx * sx, fy * sy))
        .then(Affine.rotate_cw(rotation))
        .then(Affine.translate(cw / 2 + x * cw / 2, ch / 2 - y * ch / 2))
        .then(tl.canvas_to_output)
    )


def draw_clip(tl: Timeline, clip: VisualClip, t_us: int, dropped: list[str] | None = None) -> DrawOp | None:
    """The DrawOp of ``clip`` at ``t_us`` (which may lie in a transition's handle).

    None when nothing shows: transparent, off-frame, below a pixel, or a transform that is
    not finite (then the segment id is appended to ``dropped``)."""
    x, y, sx, sy, rot, alpha = clip_values(clip, t_us)
    reveal, wipe = -1, (0.0, 1.0)
    if clip.animations:
        local = t_us - clip.target_start_us
        st = animation.state_at(clip.animations, local, clip.target_duration_us)
        x, y, sx, sy = x + st.dx, y + st.dy, sx * st.scale, sy * st.scale
        rot, alpha = rot + st.rotation, alpha * st.alpha
        if clip.kind == "text":
            reveal, wipe = _text_state(clip, st)
            if reveal == 0 or wipe[1] <= 0.0 or wipe[0] >= 1.0:
                return None
    opacity = min(max(alpha, 0.0), 1.0) if math.isfinite(alpha) else 0.0
    if opacity <= 0.0 or sx == 0.0 or sy == 0.0:
        return None
    w = clip.crop_px[2] - clip.crop_px[0]
    h = clip.crop_px[3] - clip.crop_px[1]
    try:
        m = clip_matrix(tl, clip, x, y, sx, sy, rot)
        problem = transform_problem(m, w, h)
    except (OverflowError, ValueError, ZeroDivisionError):  # e.g. rotation by ±inf
        problem = "degenerate"
    if problem:
        if problem == "degenerate" and dropped is not None:
            dropped.append(clip.segment_id)
        return None
    box = pixel_box(m.bounds(w, h), tl.width, tl.height)
    if box is None:
        return None
    src = None if clip.is_still else max(0, source_time_us(clip, t_us))
    local = t_us - clip.target_start_us
    filters = tuple(AdjustOp(spec, local, clip.target_duration_us, clip.segment_id) for spec in clip.filters)
    return DrawOp(
        segment_id=clip.segment_id,
        media_key=clip.media_key,
        is_still=clip.is_still,
        has_alpha=clip.has_alpha,
        source_us=src,
        crop_px=clip.crop_px,
        matrix=m,
        opacity=opacity,
        box=box,
        kind=clip.kind,
        reveal=reveal,
        wipe=wipe,
        mask=clip.mask,
        blend=clip.mix_mode,
        filters=filters,
    )


# Wipe windows are quantised so that a wipe re-rasterises at most this many times per edge.
WIPE_STEPS = 64


def _text_state(clip: VisualClip, st: animation.AnimState) -> tuple[int, tuple[float, float]]:
    """(characters shown, wipe window) of a text clip under animation state ``st``."""
    reveal = -1
    if st.reveal < 1.0:
        n = clip.text.chars if clip.text is not None else 0
        reveal = max(0, min(n, int(st.reveal * n + 1e-9)))
    lo = round(min(max(st.wipe_lo, 0.0), 1.0) * WIPE_STEPS) / WIPE_STEPS
    hi = round(min(max(st.wipe_hi, 0.0), 1.0) * WIPE_STEPS) / WIPE_STEPS
    return reveal, (lo, hi)


def _cover_matrix(tl: Timeline, clip: VisualClip) -> Affine:
    """Scale the clip's (unrotated, unflipped) picture to cover the whole canvas."""
    w = clip.crop_px[2] - clip.crop_px[0]
    h = clip.crop_px[3] - clip.crop_px[1]
    bx0, by0, bx1, by1 = clip.base.bounds(w, h)
    bw, bh = bx1 - bx0, by1 - by0
    s = max(tl.canvas_width / bw, tl.canvas_height / bh)
    return (
        clip.base.then(Affine.scale(s))
        .then(Affine.translate(tl.canvas_width / 2, tl.canvas_height / 2))
        .then(tl.canvas_to_output)
    )


def _background(tl: Timeline, clip: VisualClip, spec: BackgroundSpec, t_us: int) -> FillOp | BlurFillOp | DrawOp:
    if spec.kind == "blur":
        m = _cover_matrix(tl, clip)
        src = None if clip.is_still else max(0, source_time_us(clip, t_us))
        draw = DrawOp(
            segment_id=clip.segment_id,
            media_key=clip.media_key,
            is_still=clip.is_still,
            has_alpha=False,
            source_us=src,
            crop_px=clip.crop_px,
            matrix=m,
            opacity=1.0,
            box=(0, 0, tl.width, tl.height),
            kind=clip.kind,
        )
        return BlurFillOp(draw=draw, blur=spec.blur)
    if spec.kind == "color":
        r, g, b, a = spec.rgba
        # A translucent canvas colour lies over black.
        return FillOp((r * a // 255, g * a // 255, b * a // 255, 255))
    if spec.kind == "image" and spec.image_size[0] > 0 and spec.image_size[1] > 0:
        return _image_background(tl, spec)
    return BLACK_FILL


def _image_background(tl: Timeline, spec: BackgroundSpec) -> DrawOp:
    """A canvas image scaled to cover the canvas, centred (drawn over black)."""
    w, h = spec.image_size
    s = max(tl.canvas_width / w, tl.canvas_height / h)
    m = (
        Affine.translate(-w / 2, -h / 2)
        .then(Affine.scale(s))
        .then(Affine.translate(tl.canvas_width / 2, tl.canvas_height / 2))
        .then(tl.canvas_to_output)
    )
    # has_alpha: the image may be translucent, so the black under it is kept
    return DrawOp(
        segment_id="",
        media_key=spec.image_path,
        is_still=True,
        has_alpha=True,
        source_us=None,
        crop_px=(0, 0, w, h),
        matrix=m,
        opacity=1.0,
        box=(0, 0, tl.width, tl.height),
    )


def _active(clips: tuple[VisualClip, ...], t_us: int) -> int | None:
    for i, c in enumerate(clips):
        if c.target_start_us <= t_us < c.target_end_us:
            return i
    return None


def _adjust_op(track: AdjustmentTrack, t_us: int) -> AdjustOp | None:
    for c in track.clips:
        if c.target_start_us <= t_us < c.target_end_us:
            return AdjustOp(c.spec, t_us - c.target_start_us, c.target_duration_us, c.segment_id)
    return None


def plan_frame(tl: Timeline, index: int) -> FramePlan:
    """The drawing operations of output frame ``index``."""
    return plan_at(tl, tl.timeline_us(index), index)


def plan_at(tl: Timeline, t: int, index: int = 0) -> FramePlan:
    """The drawing operations at timeline time ``t`` µs (compound clips draw their nested
    timeline at any time the enclosing clip maps to)."""
    ops: list[Op] = [BLACK_FILL]
    dropped: list[str] = []
    layers: Sequence[VisualTrack | AdjustmentTrack] = tl.tracks
    if tl.adjustments:  # effect/filter tracks sit between visual tracks by z
        layers = sorted([*tl.tracks, *tl.adjustments], key=lambda tr: tr.z)
    for track in layers:
        if isinstance(track, AdjustmentTrack):
            adj = _adjust_op(track, t)
            if adj is not None:
                ops.append(adj)
            continue
        clips = track.clips
        op: Op | None = None
        active: int | None
        for i, c in enumerate(clips):
            tr = c.transition_out
            if tr is not None and tr.start_us <= t < tr.end_us and i + 1 < len(clips):
                a = draw_clip(tl, c, t, dropped)
                b = draw_clip(tl, clips[i + 1], t, dropped)
                p = (t - tr.start_us) / (tr.end_us - tr.start_us)
                op = TransitionOp(
                    impl=tr.impl,
                    progress=p,
                    a=(a,) if a else (),
                    b=(b,) if b else (),
                    name=tr.name,
                    overlap=tr.is_overlap,
                )
                active = i if t < clips[i + 1].target_start_us else i + 1
                break
        else:
            active = _active(clips, t)
            if active is not None:
                op = draw_clip(tl, clips[active], t, dropped)
        background = clips[active].background if active is not None else None
        if active is not None and background is not None and len(ops) == 1:
            bg = _background(tl, clips[active], background, t)
            if isinstance(bg, DrawOp):  # an image lies over black (it may be translucent)
                ops.append(bg)
            else:
                ops[0] = bg
        if op is not None:
            ops.append(op)
    return FramePlan(index=index, t_us=t, ops=_cull(tuple(ops), tl.width, tl.height), dropped=tuple(dropped))


def is_occluded(ops: Sequence[Op], index: int, width: int, height: int) -> bool:
    """True when an op above ``ops[index]`` paints the whole ``width × height`` frame opaque
    (no alpha, opacity 1, normal blend, no mask, covering every pixel): nothing of
    ``ops[index]`` can show on that frame."""
    return any(op.covers(width, height) for op in ops[index + 1 :])


def _cull(ops: tuple[Op, ...], width: int, height: int) -> tuple[Op, ...]:
    """Drop every op under the topmost op that paints the whole frame opaque (every op for
    which :func:`is_occluded` holds)."""
    for i in range(len(ops) - 1, 0, -1):
        if ops[i].covers(width, height):
            return ops[i:]
    return ops
