"""Transition family, pixels: one kernel per implementation key of :mod:`compositor.effects.transitions`.

``blend(impl, dst, a, b, progress)`` combines two full pictures (what clip A and clip B
each look like over the layers below) into ``dst``, plane by plane. ``dst`` may be ``b``.
JianYing's transition pixels are proprietary: each entry imitates one by name (docs/format.md#transitions)
with ffmpeg-``xfade``-like geometry, all on the YUV 4:2:0 planes directly (chroma at half
resolution), so no colour conversion is needed.

Progress ``p`` runs 0 → 1 over the window. Wipes, curtains, circles and blinds move their
edge linearly with ``p`` (so a ¼ wipe has revealed exactly ¼ of the frame); moves (push,
slide, zoom, rotation) are eased with smoothstep.

``is_overlap`` (docs/format.md#transitions): implementations in :data:`HALVES` are defined as an "A out" half followed by
a "B in" half whatever the flag says. For the others ``overlap=False`` plays the same
effect twice — A → empty over the first half, empty → B over the second — where "empty"
is the canvas below the track (``below``; black when not given), so A and B never mix.
"""

from __future__ import annotations

import math

import numpy as np

from ..effects.transitions import HALVES, IMPL_KEYS
from ..kernels import copy_region, crossfade, fill_blend
from ..kernels.dirblur import directional_blur
from ..kernels.resample import EDGE_CLAMP, EDGE_FILL, EDGE_MIRROR, pixelate_mix, warp_mix
from ..kernels.reveal import SHAPE_BAND, SHAPE_BLINDS, SHAPE_CIRCLE, SHAPE_CLOCK, SHAPE_LINEAR, reveal_mix
from ..media.planes import Planes
from .filters import blur_plane
from .scratch import Scratch
from .yuv import BLACK_YUV, WHITE_YUV

# Implementations computed pixel by pixel from A and B at the same position: dst may alias b.
POINTWISE = frozenset(
    {
        "dissolve",
        "fade_black",
        "fade_white",
        "wipe_left",
        "wipe_right",
        "wipe_up",
        "wipe_down",
        "wipe_soft",
        "circle_open",
        "circle_scan",
        "blinds",
        "curtain_h",
        "curtain_v",
    }
)
# Implementations whose kernels may write over one of their inputs (pointwise, or tile by tile).
ALIAS_SAFE = POINTWISE | {"mosaic"}


def smooth(p: float) -> float:
    return p * p * (3.0 - 2.0 * p)


def _planes(p: Planes):
    return ((p.y, False), (p.u, True), (p.v, True))


def _same(x: Planes, y: Planes) -> bool:
    return x.y is y.y or bool(np.may_share_memory(x.y, y.y))


def blend(
    impl: str,
    dst: Planes,
    a: Planes,
    b: Planes,
    progress: float,
    *,
    overlap: bool = True,
    below: Planes | None = None,
    scratch: Scratch | None = None,
) -> None:
    """Write the transition picture at ``progress`` (0 = A, 1 = B) into ``dst``.

    ``dst`` may be ``b`` (the compositor renders B into the output and A into scratch).
    ``overlap=False`` plays an "A out" half and a "B in" half (see module doc); ``below``
    is the canvas under the track for that case. ``scratch`` holds reusable buffers.
    """
    if impl not in IMPL_KEYS:
        raise ValueError(f"no kernel for transition {impl!r}")
    p = min(max(float(progress), 0.0), 1.0)
    scratch = scratch or Scratch()
    if not overlap and impl not in HALVES:
        empty = below if below is not None else scratch.black("tr_empty", dst.width, dst.height)
        if p < 0.5:
            _blend(impl, dst, a, empty, 2.0 * p, scratch)
        else:
            _blend(impl, dst, empty, b, 2.0 * p - 1.0, scratch)
        return
    _blend(impl, dst, a, b, p, scratch)


def _blend(impl: str, dst: Planes, a: Planes, b: Planes, p: float, scratch: Scratch) -> None:
    if impl not in ALIAS_SAFE and (_same(dst, b) or _same(dst, a)):
        if _same(dst, b):
            b = scratch.copy_of("tr_b", b)
        if _same(dst, a):
            a = scratch.copy_of("tr_a", a)
    _IMPLS[impl](dst, a, b, p, scratch)


# -- pointwise implementations ------------------------------------------------------------------------


def _copy(dst: Planes, src: Planes) -> None:
    if _same(dst, src):
        return
    for d, s in ((dst.y, src.y), (dst.u, src.u), (dst.v, src.v)):
        copy_region(d, s, 0, 0)


def _dissolve(dst, a, b, p, scratch):
    for d, pa, pb in ((dst.y, a.y, b.y), (dst.u, a.u, b.u), (dst.v, a.v, b.v)):
        crossfade(d, pa, pb, p)


def _fade_through(colour):
    def impl(dst, a, b, p, scratch):
        if p < 0.5:
            src, w = a, 2.0 * p
        else:
            src, w = b, 2.0 - 2.0 * p
        _copy(dst, src)
        for plane, value in zip((dst.y, dst.u, dst.v), colour):
            h, wd = plane.shape
            fill_blend(plane, value, min(max(w, 0.0), 1.0), (0, 0, wd, h))

    return impl


def _reveal(shape, params_fn, soft_fn):
    """A pointwise reveal: ``params_fn(W, H, p, soft)`` gives the shape parameters."""

    def impl(dst, a, b, p, scratch):
        if p <= 0.0:
            _copy(dst, a)
            return
        if p >= 1.0:
            _copy(dst, b)
            return
        W, H = dst.width, dst.height
        soft = soft_fn(W, H)
        params = params_fn(W, H, p, soft)
        for (d, chroma), pa, pb in zip(_planes(dst), (a.y, a.u, a.v), (b.y, b.u, b.v)):
            s = 2.0 if chroma else 1.0
            reveal_mix(d, pa, pb, shape, params, sx=s, sy=s, soft=soft)

    return impl


def _edge_soft(W, H):
    return max(2.0, 0.01 * W)


def _travel(p, length, soft):
    """Edge position going from −soft/2 (nothing revealed) to length + soft/2 (all)."""
    return -soft / 2 + p * (length + soft)


_wipe_right = _reveal(SHAPE_LINEAR, lambda W, H, p, s: (1.0, 0.0, _travel(p, W, s)), _edge_soft)
_wipe_left = _reveal(SHAPE_LINEAR, lambda W, H, p, s: (-1.0, 0.0, _travel(p, W, s) - W), _edge_soft)
_wipe_down = _reveal(SHAPE_LINEAR, lambda W, H, p, s: (0.0, 1.0, _travel(p, H, s)), _edge_soft)
_wipe_up = _reveal(SHAPE_LINEAR, lambda W, H, p, s: (0.0, -1.0, _travel(p, H, s) - H), _edge_soft)
_wipe_soft = _reveal(SHAPE_LINEAR, lambda W, H, p, s: (1.0, 0.0, _travel(p, W, s)), lambda W, H: 0.25 * W)
_curtain_h = _reveal(SHAPE_BAND, lambda W, H, p, s: (1.0, 0.0, _travel(p, W / 2, s), W / 2, H / 2), _edge_soft)
_curtain_v = _reveal(SHAPE_BAND, lambda W, H, p, s: (0.0, 1.0, _travel(p, H / 2, s), W / 2, H / 2), _edge_soft)
_circle_open = _reveal(SHAPE_CIRCLE, lambda W, H, p, s: (W / 2, H / 2, _travel(p, math.hypot(W, H) / 2, s)), _edge_soft)
_circle_scan = _reveal(SHAPE_CLOCK, lambda W, H, p, s: (W / 2, H / 2, p * 2.0 * math.pi), lambda W, H: 2.0)
_BLINDS = 8
_blinds = _reveal(SHAPE_BLINDS, lambda W, H, p, s: (H / _BLINDS, 0.0, _travel(p, H / _BLINDS, s)), lambda W, H: 2.0)


# -- moving implementations ---------------------------------------------------------------------------


def _even(x: float) -> int:
    return 2 * int(round(x / 2.0))


def _push(dx: int, dy: int):
    """Push along (dx, dy): A moves by (dx, dy)·e·size, B follows one frame behind it."""

    def impl(dst, a, b, p, scratch):
        W, H = dst.width, dst.height
        e = smooth(p)
        ox, oy = _even(dx * e * W), _even(dy * e * H)  # A's top-left
        bx, by = ox - dx * W, oy - dy * H  # B's top-left
        for d, pa, pb, k in ((dst.y, a.y, b.y, 1), (dst.u, a.u, b.u, 2), (dst.v, a.v, b.v, 2)):
            copy_region(d, pa, ox // k, oy // k)
            copy_region(d, pb, bx // k, by // k)

    return impl


def _translate(tx: float, ty: float, chroma: bool):
    """Inverse matrix (dst → src) of a translation by (tx, ty) frame pixels."""
    k = 2.0 if chroma else 1.0
    return ((1.0, 0.0, -tx / k), (0.0, 1.0, -ty / k))


def _slide(dx: int, dy: int):
    """Whip: A accelerates out along (dx, dy), then B decelerates in from the other side.

    Mirrored edges fill what the move uncovers; a directional blur grows with the speed.
    """

    def impl(dst, a, b, p, scratch):
        W, H = dst.width, dst.height
        if p < 0.5:
            q = 2.0 * p
            src, off, speed = a, q * q, 2.0 * q  # ease in: offset 0 → 1
        else:
            q = 2.0 * p - 1.0
            src, off, speed = b, -(1.0 - q) * (1.0 - q), 2.0 * (1.0 - q)  # ease out: −1 → 0
        tx, ty = dx * off * W, dy * off * H
        for (d, chroma), s in zip(_planes(dst), (src.y, src.u, src.v)):
            warp_mix(d, s, _translate(tx, ty, chroma), None, None, 0.0, edge=EDGE_MIRROR)
        length = 0.06 * speed * (W if dx else H)  # blur length, frame pixels
        if length >= 2.0:
            for d, chroma in _planes(dst):
                r = int(length / (4.0 if chroma else 2.0))
                if r > 0:
                    tmp = scratch.plane_like("tr_blur", d)
                    directional_blur(d, d, r, 1 if dx else 0, tmp, passes=2)

    return impl


def _scale_rotate(s: float, degrees: float, W: int, H: int, chroma: bool):
    """Inverse matrix of: scale by s and turn clockwise about the frame centre."""
    k = 2.0 if chroma else 1.0
    cx, cy = W / 2.0 / k, H / 2.0 / k
    r = math.radians(degrees)
    c, sn = math.cos(r), math.sin(r)
    # forward: d = c + s·R(θ)(u − c); inverse: u = c + R(−θ)(d − c)/s
    a00, a01 = c / s, sn / s
    a10, a11 = -sn / s, c / s
    return ((a00, a01, cx - a00 * cx - a01 * cy), (a10, a11, cy - a10 * cx - a11 * cy))


def _zoom(zoom_in: bool):
    def impl(dst, a, b, p, scratch):
        W, H = dst.width, dst.height
        if p < 0.5:
            q = smooth(2.0 * p)
            src, s = a, (1.0 + q) if zoom_in else 1.0 / (1.0 + q)
        else:
            q = smooth(2.0 * p - 1.0)
            src, s = b, (0.5 + 0.5 * q) if zoom_in else (2.0 - q)
        for (d, chroma), pl in zip(_planes(dst), (src.y, src.u, src.v)):
            warp_mix(d, pl, _scale_rotate(s, 0.0, W, H, chroma), None, None, 0.0, edge=EDGE_MIRROR)

    return impl


def _cover_scale(degrees: float, W: int, H: int) -> float:
    """Zoom at which a W×H picture turned by ``degrees`` still covers the W×H frame."""
    r = math.radians(degrees)
    c, s = abs(math.cos(r)), abs(math.sin(r))
    return max(c + s * H / W, c + s * W / H)


def _rotate(sign: float):
    def impl(dst, a, b, p, scratch):
        W, H = dst.width, dst.height
        e = smooth(p)
        ta, tb = sign * 90.0 * e, -sign * 90.0 * (1.0 - e)
        sa, sb = _cover_scale(ta, W, H), _cover_scale(tb, W, H)
        for (d, chroma), pa, pb in zip(_planes(dst), (a.y, a.u, a.v), (b.y, b.u, b.v)):
            warp_mix(
                d, pa, _scale_rotate(sa, ta, W, H, chroma), pb, _scale_rotate(sb, tb, W, H, chroma), e, edge=EDGE_CLAMP
            )

    return impl


def _spin(dst, a, b, p, scratch):
    W, H = dst.width, dst.height
    if p < 0.5:
        q = smooth(2.0 * p)
        src, s, deg = a, 1.0 - q, 180.0 * q
    else:
        q = smooth(2.0 * p - 1.0)
        src, s, deg = b, q, 180.0 + 180.0 * q
    for (d, chroma), pl, fill in zip(_planes(dst), (src.y, src.u, src.v), BLACK_YUV):
        if s < 1e-3:
            d.fill(fill)
            continue
        warp_mix(d, pl, _scale_rotate(s, deg, W, H, chroma), None, None, 0.0, edge=EDGE_FILL, fill=fill)


def _mosaic(dst, a, b, p, scratch):
    W, H = dst.width, dst.height
    peak = 1.0 - abs(2.0 * p - 1.0)
    block = int(round(peak * W / 24.0))
    if block <= 1:
        _dissolve(dst, a, b, p, scratch)
        return
    block += block & 1  # even, so chroma tiles align
    for (d, chroma), pa, pb in zip(_planes(dst), (a.y, a.u, a.v), (b.y, b.u, b.v)):
        n = max(1, block // 2) if chroma else block
        cx = (W // 4) if chroma else (W // 2)
        cy = (H // 4) if chroma else (H // 2)
        pixelate_mix(d, pa, pb, p, n, cx % n, cy % n)


def _blur(axis: int | None):
    def impl(dst, a, b, p, scratch):
        W, H = dst.width, dst.height
        peak = 1.0 - abs(2.0 * p - 1.0)
        sigma = peak * 0.02 * W
        if sigma < 0.3:
            _dissolve(dst, a, b, p, scratch)
            return
        ba = scratch.picture("tr_blur_a", W, H)
        bb = scratch.picture("tr_blur_b", W, H)
        for (pl_a, chroma), pl_b, ta, tb in zip(_planes(a), (b.y, b.u, b.v), (ba.y, ba.u, ba.v), (bb.y, bb.u, bb.v)):
            sg = sigma / 2.0 if chroma else sigma
            tmp = scratch.plane_like("tr_blur_tmp", ta)
            for src, out in ((pl_a, ta), (pl_b, tb)):
                if axis is None:
                    blur_plane(src, out, sg, scratch)
                else:
                    r = max(0, int(round(sg * 1.2)))
                    directional_blur(src, out, r, axis, tmp, passes=2)
        _dissolve(dst, ba, bb, p, scratch)

    return impl


_IMPLS = {
    "dissolve": _dissolve,
    "fade_black": _fade_through(BLACK_YUV),
    "fade_white": _fade_through(WHITE_YUV),
    "wipe_left": _wipe_left,
    "wipe_right": _wipe_right,
    "wipe_up": _wipe_up,
    "wipe_down": _wipe_down,
    "wipe_soft": _wipe_soft,
    "push_left": _push(-1, 0),
    "push_right": _push(1, 0),
    "push_up": _push(0, -1),
    "push_down": _push(0, 1),
    "slide_left": _slide(-1, 0),
    "slide_right": _slide(1, 0),
    "slide_up": _slide(0, -1),
    "slide_down": _slide(0, 1),
    "zoom_in": _zoom(True),
    "zoom_out": _zoom(False),
    "circle_open": _circle_open,
    "circle_scan": _circle_scan,
    "blinds": _blinds,
    "mosaic": _mosaic,
    "curtain_h": _curtain_h,
    "curtain_v": _curtain_v,
    "blur": _blur(None),
    "blur_v": _blur(0),
    "blur_h": _blur(1),
    "rotate_cw": _rotate(1.0),
    "rotate_ccw": _rotate(-1.0),
    "spin": _spin,
}
