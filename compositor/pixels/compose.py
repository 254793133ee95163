"""Apply a FramePlan to an output picture (pixels; no I/O, no knowledge of drafts).

``Compositor.compose(plan, dst, pictures)`` runs the kernels for each op of the plan on
the destination planes (BT.709 limited-range YUV 4:2:0). ``pictures(op)`` returns the
source :class:`Planes` of a DrawOp; the compositor only slices, warps and blends them.
Scratch buffers are allocated once per output size and reused for every frame.
"""

from __future__ import annotations

import struct
from typing import Callable

import numpy as np

from ..effects.transitions import HALVES
from ..geometry import Affine
from ..kernels import blend_region, copy_region, downsample2x, fill, gaussian_like_blur, rgb_to_yuv709, warp_blend
from ..kernels.blend_mode import MODES as BLEND_MODES, blend_yuv, warp_layer
from ..kernels.mask import multiply_alpha
from ..kernels.warp import is_separable
from ..media.planes import Planes
from ..plan import AdjustOp, BlurFillOp, DrawOp, FillOp, FramePlan, TransitionOp
from . import filters, masks, transitions
from .layer_cache import LayerCache, MipCache
from .scratch import Scratch

# Mask alpha planes kept per (clip, source size): static masks are computed once per clip.
_MASK_CACHE = 8

# Six doubles: the exact bytes of a layer's matrix in its cache key.
_F6 = struct.Struct("6d")

# Blur backgrounds are computed at this fraction of the output size, then scaled up.
_BLUR_DOWNSCALE = 4
#: identical draws of an opaque, only scaled and moved still before its warp is recorded:
#: recording a 1080×1440 photo costs some 24–30 of its separable warps (117 ms against
#: 4–5 ms) and a replay still about 1.9 ms, so (as in renting skis) warp until the warps
#: would have paid for the record, then record: about twice the better choice at worst.
CHEAP_WARP_DRAWS_BEFORE_RECORD = 24


def _rows(m: Affine) -> np.ndarray:
    return np.array([[m.a, m.b, m.c], [m.d, m.e, m.f]], dtype=np.float64)


def _half_box(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2


def _crop(p: Planes, crop: tuple[int, int, int, int]) -> Planes:
    x0, y0, x1, y1 = crop
    if x0 == 0 and y0 == 0 and x1 == p.width and y1 == p.height:
        return p
    hx0, hy0, hx1, hy1 = x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2
    return Planes(
        p.y[y0:y1, x0:x1],
        p.u[hy0:hy1, hx0:hx1],
        p.v[hy0:hy1, hx0:hx1],
        None if p.a is None else p.a[y0:y1, x0:x1],
        None if p.a_half is None else p.a_half[hy0:hy1, hx0:hx1],
        p.pts_us,
        p.keep,
    )


def _integer_offset(m: Affine) -> tuple[int, int] | None:
    """(dx, dy) when ``m`` is an unscaled translation by even whole pixels (chroma-exact)."""
    if m.a == 1.0 and m.e == 1.0 and m.b == 0.0 and m.d == 0.0:
        dx, dy = m.c, m.f
        if dx == int(dx) and dy == int(dy) and int(dx) % 2 == 0 and int(dy) % 2 == 0:
            return int(dx), int(dy)
    return None


def _new_planes(width: int, height: int) -> Planes:
    cw, ch = (width + 1) // 2, (height + 1) // 2
    return Planes(np.zeros((height, width), np.uint8), np.zeros((ch, cw), np.uint8), np.zeros((ch, cw), np.uint8))


class Compositor:
    """Composites frame plans into output pictures of one size (reusing its scratch)."""

    def __init__(self, width: int, height: int, *, layers: LayerCache | None = None, mips: MipCache | None = None):
        self.width = width
        self.height = height
        self._fx = Scratch()  # transitions, filters, blend modes, masks
        # warp-once caches of pictures that never change (stills, text rasters); None: off
        self.layers = layers
        self.mips = mips
        self._small: tuple[Planes, Planes] | None = None  # blur background work planes
        self._colours: dict[tuple[int, int, int], tuple[int, int, int]] = {}
        self._masks: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    # -- ops ------------------------------------------------------------------------------

    def compose(self, plan: FramePlan, dst: Planes, pictures: Callable[[DrawOp], Planes]) -> None:
        for op in plan.ops:
            if isinstance(op, DrawOp):
                self.draw(dst, op, pictures(op))
            elif isinstance(op, FillOp):
                self.fill(dst, op.rgba)
            elif isinstance(op, TransitionOp):
                self.transition(dst, op, pictures)
            elif isinstance(op, BlurFillOp):
                self.blur_fill(dst, op, pictures(op.draw))
            elif isinstance(op, AdjustOp):
                self.adjust(dst, op)
            else:  # pragma: no cover - the plan module defines every op
                raise TypeError(f"unknown op {op!r}")

    def fill(self, dst: Planes, rgba: tuple[int, int, int, int]) -> None:
        key = rgba[:3]
        yuv = self._colours.get(key)
        if yuv is None:
            yuv = self._colours[key] = rgb_to_yuv709(*key)
        full = (0, 0, dst.width, dst.height)
        fill(dst.y, yuv[0], full)
        fill(dst.u, yuv[1], _half_box(full))
        fill(dst.v, yuv[2], _half_box(full))

    def draw(self, dst: Planes, op: DrawOp, src: Planes) -> None:
        picture = src
        src = _crop(src, op.crop_px)
        # Stills and text rasters are never written after they are made (video frames
        # change, filtered and masked pictures live in scratch): their warps can be cached.
        static = (op.is_still or op.kind == "text") and not op.filters and op.mask is None and not op.blend
        if op.filters:
            src = self._filtered(op, src)
        if op.mask is not None:
            src = self._masked(op, src)
        if op.blend:
            self._blend_draw(dst, op, src)
            return
        m = op.matrix
        if src.a is None:
            off = _integer_offset(m)
            if off is not None:
                dx, dy = off
                if op.opacity >= 1.0:
                    copy_region(dst.y, src.y, dx, dy)
                    copy_region(dst.u, src.u, dx // 2, dy // 2)
                    copy_region(dst.v, src.v, dx // 2, dy // 2)
                else:
                    blend_region(dst.y, src.y, dx, dy, op.opacity)
                    blend_region(dst.u, src.u, dx // 2, dy // 2, op.opacity)
                    blend_region(dst.v, src.v, dx // 2, dy // 2, op.opacity)
                return
        level = 0
        if src.a is None:
            src, m, level = self._mip(src, m, picture if static else None, op.crop_px)
        inv = _rows(m.inverse())
        inv_c = _rows(m.halved().inverse())
        box_c = _half_box(op.box)
        if static and self.layers is not None:
            mb = op.matrix
            version = (op.crop_px, level, _F6.pack(mb.a, mb.b, mb.c, mb.d, mb.e, mb.f))  # the exact matrix
            slot = (op.segment_id, op.kind, op.media_key)
            wait = CHEAP_WARP_DRAWS_BEFORE_RECORD if is_separable(src.a, inv) else 1
            if self.layers.draw(slot, dst, picture, version, src, inv, inv_c, op.opacity, op.box, box_c, wait):
                return
        warp_blend(dst.y, src.y, src.a, inv, op.opacity, op.box)
        warp_blend(dst.u, src.u, src.a_half, inv_c, op.opacity, box_c)
        warp_blend(dst.v, src.v, src.a_half, inv_c, op.opacity, box_c)

    def _mip(
        self, src: Planes, m: Affine, still: Planes | None, crop: tuple[int, int, int, int]
    ) -> tuple[Planes, Affine, int]:
        """For a strong down-scale, a 2×-reduced copy of an opaque picture (repeated while
        the scale stays below ½, so the level's scale is the nearest one not below the drawn
        scale) and the matrix from it: bilinear taps then average about a source pixel per
        destination pixel instead of skipping pixels (less aliasing on picture-in-picture,
        thumbnails and Ken Burns photos, and fewer source bytes read). Levels of a ``still``
        (the uncropped picture ``src`` is cut from) come from the session's MipCache, built
        once; a video frame's are made in scratch each frame."""
        level = 0
        top = src
        while abs(m.determinant) < 0.25 and min(src.width, src.height) >= 8 and level < 3:
            if still is not None and self.mips is not None:
                half = self.mips.level(still, crop, top, level + 1)
            else:
                half = self._fx.picture(f"mip{level}", (src.width + 1) // 2, (src.height + 1) // 2)
                downsample2x(src.y, half.y)
                downsample2x(src.u, half.u)
                downsample2x(src.v, half.v)
            src, m = half, Affine.scale(2.0).then(m)
            level += 1
        return src, m, level

    # -- effects ----------------------------------------------------------------------------

    def adjust(self, dst: Planes, op: AdjustOp) -> None:
        """A filter / scene effect over everything drawn so far (an adjustment layer)."""
        filters.apply(op.spec, dst, op.local_us, op.duration_us, self._fx)

    def _filtered(self, op: DrawOp, src: Planes) -> Planes:
        """A scratch copy of the clip's picture with its own filters/effects applied."""
        out = self._fx.picture("clip_filtered", src.width, src.height, alpha=src.a is not None)
        for d, s_ in ((out.y, src.y), (out.u, src.u), (out.v, src.v), (out.a, src.a), (out.a_half, src.a_half)):
            if s_ is not None:
                copy_region(d, s_, 0, 0)
        pic = Planes(
            out.y, out.u, out.v, out.a if src.a is not None else None, out.a_half if src.a is not None else None
        )
        for f in op.filters:
            filters.apply(f.spec, pic, f.local_us, f.duration_us, self._fx)
        return pic

    def _masked(self, op: DrawOp, src: Planes) -> Planes:
        """The picture with the clip's mask multiplied into its alpha (cached when static)."""
        key = (op.segment_id, op.mask, src.width, src.height)
        planes = self._masks.get(key)
        if planes is None:
            if len(self._masks) >= _MASK_CACHE:
                self._masks.pop(next(iter(self._masks)))
            a = np.empty((src.height, src.width), np.uint8)
            a_half = np.empty(((src.height + 1) // 2, (src.width + 1) // 2), np.uint8)
            masks.render_mask(op.mask, a, a_half)
            planes = self._masks[key] = (a, a_half)
        a, a_half = planes
        if src.a is not None:
            ma = self._fx.plane_like("mask_a", a)
            mh = self._fx.plane_like("mask_a_half", a_half)
            multiply_alpha(ma, a, src.a)
            multiply_alpha(mh, a_half, src.a_half if src.a_half is not None else a_half)
            a, a_half = ma, mh
        return Planes(src.y, src.u, src.v, a, a_half, src.pts_us, src.keep)

    def _blend_draw(self, dst: Planes, op: DrawOp, src: Planes) -> None:
        """Composite the clip with a separable blend mode (multiply, screen …)."""
        x0, y0, x1, y1 = op.box
        box = (x0 & ~1, y0 & ~1, min(x1 + (x1 & 1), dst.width), min(y1 + (y1 & 1), dst.height))
        box_c = _half_box(box)
        layer = self._fx.picture("blend_layer", dst.width, dst.height, alpha=True)
        inv = _rows(op.matrix.inverse())
        inv_c = _rows(op.matrix.halved().inverse())
        warp_layer(layer.y, layer.a, src.y, src.a, inv, op.opacity, box, empty=16)
        warp_layer(layer.u, None, src.u, src.a_half, inv_c, 1.0, box_c, empty=128)
        warp_layer(layer.v, None, src.v, src.a_half, inv_c, 1.0, box_c, empty=128)
        blend_yuv(dst.y, dst.u, dst.v, layer.y, layer.u, layer.v, layer.a, BLEND_MODES[op.blend], box)

    def transition(self, dst: Planes, op: TransitionOp, pictures: Callable[[DrawOp], Planes]) -> None:
        """Render A and B each over the current canvas, then blend the two results."""
        fx = self._fx
        if any(d.covers(dst.width, dst.height) for d in op.a):
            # A paints every pixel: the canvas below it never shows, so it is not copied
            a = fx.picture("transition_a", dst.width, dst.height)
        else:
            a = fx.copy_of("transition_a", dst)
        below = None
        if not op.overlap and op.impl not in HALVES:
            below = fx.copy_of("transition_below", dst)
        for d in op.a:
            self.draw(a, d, pictures(d))
        for d in op.b:
            self.draw(dst, d, pictures(d))
        transitions.blend(op.impl, dst, a, dst, op.progress, overlap=op.overlap, below=below, scratch=fx)

    def blur_fill(self, dst: Planes, op: BlurFillOp, src: Planes) -> None:
        """Cover-scaled, blurred picture behind everything (computed at 1/4 size)."""
        k = _BLUR_DOWNSCALE
        sw, sh = max(2, -(-self.width // k)), max(2, -(-self.height // k))
        if self._small is None or self._small[0].width != sw:
            self._small = (_new_planes(sw, sh), _new_planes(sw, sh))
        small, tmp = self._small
        src = _crop(src, op.draw.crop_px)
        down = op.draw.matrix.then(Affine.scale(1.0 / k))
        inv = _rows(down.inverse())
        inv_c = _rows(down.halved().inverse())
        full = (0, 0, sw, sh)
        warp_blend(small.y, src.y, None, inv, 1.0, full)
        warp_blend(small.u, src.u, None, inv_c, 1.0, _half_box(full))
        warp_blend(small.v, src.v, None, inv_c, 1.0, _half_box(full))
        # JianYing's blur presets are 0.0625 .. 1; map linearly to a radius (uncalibrated).
        sigma = max(0.5, op.blur * 0.1 * max(self.width, self.height) / k / 2.0)
        for plane, t in ((small.y, tmp.y), (small.u, tmp.u), (small.v, tmp.v)):
            scale = 1.0 if plane is small.y else 0.5
            gaussian_like_blur(plane, plane, sigma * scale, t)
        # Map output pixels onto the small picture's sample centres so that no tap falls
        # outside it (no dark fringe at the frame edges).
        up = _rows(_stretch(self.width, self.height, sw, sh))
        up_c = _rows(_stretch((self.width + 1) // 2, (self.height + 1) // 2, (sw + 1) // 2, (sh + 1) // 2))
        box = (0, 0, self.width, self.height)
        warp_blend(dst.y, small.y, None, up, 1.0, box)
        warp_blend(dst.u, small.u, None, up_c, 1.0, _half_box(box))
        warp_blend(dst.v, small.v, None, up_c, 1.0, _half_box(box))


def _stretch(dw: int, dh: int, sw: int, sh: int) -> Affine:
    """Destination [0,dw]x[0,dh] -> source sample centres [0.5, sw-0.5]x[0.5, sh-0.5]."""
    return Affine(max(sw - 1, 0) / dw, 0.0, 0.5, 0.0, max(sh - 1, 0) / dh, 0.5)
