"""Fused affine warp (bilinear) + alpha-over with opacity, one plane at a time (pure, no I/O).

For every destination pixel centre ``(x + 0.5, y + 0.5)`` inside ``box`` the inverse
matrix gives a source point in continuous coordinates (pixel centres at +0.5)::

    u = inv[0,0]·(x+½) + inv[0,1]·(y+½) + inv[0,2]          taps: floor(u−½), floor(u−½)+1
    v = inv[1,0]·(x+½) + inv[1,1]·(y+½) + inv[1,2]          taps: floor(v−½), floor(v−½)+1

    src        (u, v)                 dst
    ┌───┬───┐                         ┌───────────────┐
    │c00│c01│   C = Σ wᵢ·aᵢ·cᵢ        │   box         │
    ├───┼───┤   A = Σ wᵢ·aᵢ   ──────▶ │  ┌───────┐    │  dst = round(op·C + (1 − op·A)·dst)
    │c10│c11│                         │  └───────┘    │
    └───┴───┘                         └───────────────┘

Where taps fall outside the source they are clamped to the edge pixel and the result is
weighted by the pixel centre's coverage in destination pixels (see ``_edge_sums``), so a
layer's edges are antialiased over about one destination pixel at any scale, without the
dark fringe that "transparent outside" taps leave around an up-scaled layer.  Alpha is straight; the kernel
premultiplies while sampling.  Pixels with ``A == 0`` are not written.

Exactness: an integer translation (including identity) at opacity 1 over an opaque
source reproduces the source bytes; opacity 0 leaves ``dst`` unchanged.  Otherwise
the result is within 1 LSB of the formula above evaluated in exact arithmetic: the
loop steps the tap coordinates in 32.32 fixed point and quantises bilinear weights to
1/4096 (about twice as fast as float64 here; the error is < 0.07 LSB before rounding).

Speed: rows are first narrowed to the pixels whose taps can touch the source, so a
rotated layer's empty bounding-box corners cost almost nothing; rows of an unrotated
layer hoist the source rows and vertical weights; an opaque unrotated layer (a Ken Burns
photo, a picture-in-picture) is resampled separably — scaled down, a vectorised vertical
pass over the source columns a row uses, two rows at a time packed in uint64 lanes, then the
horizontal taps; scaled up, a horizontal pass once per source row used, then a vectorised
vertical pass — with the same integers as the per-pixel loop, so the same bytes
(``_warp_separable``); an opaque integer translation is delegated to :mod:`.blit` (same
bytes).  The float blends at edges and opacity mixes are compiled without fused
multiply-add (``jit_exact``), so every path that evaluates them — the loops here and a
recorded warp's replay — rounds them alike.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import check_disjoint, check_plane, check_same_shape, check_unit, clip_box, jit, jit_exact
from .blit import _blend_region, _copy_region, clip_offset

__all__ = ["warp_blend", "warp_record", "blit_record", "WarpRecord", "is_separable"]

# |inv| entries above this are a degenerate (vanishing) layer, not something to draw;
# with sources below this size it also keeps the fixed-point tap coordinates in range.
_LIMIT = 1 << 24


def _checked(src, src_alpha, inv, opacity, box, shape):
    """Validated arguments: (opacity, (x0, y0, x1, y1) clipped to ``shape``, the six
    inverse-matrix entries)."""
    check_plane("src", src)
    if not (1 <= src.shape[0] <= _LIMIT and 1 <= src.shape[1] <= _LIMIT):
        raise ValueError(f"src must be between 1×1 and {_LIMIT}×{_LIMIT}, got shape {src.shape}")
    if src_alpha is not None:
        check_plane("src_alpha", src_alpha)
        check_same_shape("src and src_alpha", src, src_alpha)
    m = np.asarray(inv, dtype=np.float64)
    if m.shape != (2, 3):
        raise ValueError(f"inv must have shape (2, 3), got {m.shape}")
    if not np.all(np.abs(m) <= _LIMIT):  # also rejects NaN and ±inf
        raise ValueError(f"inv entries must be finite with magnitude <= {_LIMIT}, got {m.tolist()}")
    op = check_unit("opacity", opacity)
    return op, clip_box(box, shape), tuple(float(c) for c in m.ravel())


def is_separable(src_alpha, inv) -> bool:
    """True when :func:`warp_blend` resamples in two separable passes (``_warp_separable``):
    an opaque source only scaled and moved. Such a warp costs about what replaying its
    record does (the layer cache uses this to decide when recording pays)."""
    return src_alpha is None and inv[0][1] == 0.0 and inv[1][0] == 0.0


def _is_translation(src_alpha, a) -> bool:
    """True for the opaque pure-translation case that :func:`warp_blend` hands to :mod:`.blit`."""
    a00, a01, a02, a10, a11, a12 = a
    return (
        src_alpha is None
        and a00 == 1.0
        and a01 == 0.0
        and a10 == 0.0
        and a11 == 1.0
        and a02.is_integer()
        and a12.is_integer()
    )


def warp_blend(dst, src, src_alpha, inv, opacity, box) -> None:
    """Warp ``src`` through ``inv`` and composite it over ``dst`` inside ``box``.

    dst:       uint8 (h, w), writable, column stride 1 (row padding is fine).
    src:       uint8 (sh, sw), column stride 1, at least 1×1, not overlapping dst.
    src_alpha: uint8 (sh, sw) straight alpha (255 = opaque) or None for opaque.
    inv:       (2, 3) float: destination continuous (x, y) → source continuous (u, v).
    opacity:   layer opacity in [0, 1].
    box:       (x0, y0, x1, y1) destination pixels to consider; clipped to dst.
    """
    check_plane("dst", dst, writable=True)
    check_disjoint("src and dst", src, dst)
    if src_alpha is not None:
        check_disjoint("src_alpha and dst", src_alpha, dst)
    op, (x0, y0, x1, y1), a = _checked(src, src_alpha, inv, opacity, box, dst.shape)
    if op == 0.0 or x0 >= x1 or y0 >= y1:
        return
    a00, a01, a02, a10, a11, a12 = a

    if src_alpha is None and a00 == 1.0 and a01 == 0.0 and a10 == 0.0 and a11 == 1.0:
        # Integer translation of an opaque source: bilinear weights are exactly 1/0, so
        # the warp is a (clipped) copy or constant-opacity blend.  Same bytes, less work.
        dx, dy = -a02, -a12
        if dx.is_integer() and dy.is_integer():
            sub = dst[y0:y1, x0:x1]
            r = clip_offset(sub.shape, src.shape, int(dx) - x0, int(dy) - y0)
            if r is not None:
                if op == 1.0:
                    _copy_region(sub, src, *r)
                else:
                    _blend_region(sub, src, *r, op)
            return

    has_alpha = src_alpha is not None
    alpha = src_alpha if has_alpha else src  # dummy, never read when has_alpha is False
    _warp_blend(dst, src, alpha, has_alpha, a00, a01, a02, a10, a11, a12, op, x0, y0, x1, y1)


# Fixed point inside the loop.  Tap coordinates t = u − ½ are int64 with 32 fraction
# bits and advance by a constant step per pixel; bilinear weights keep the top 12 bits
# of the fraction (rounded), so a tap's 2×2 weights sum to exactly 2**24.  Integer
# positions give weights 4096/0 exactly, which keeps translations bit-exact.
_ONE = 1 << 32
_FRAC = _ONE - 1
_W_BITS = 12
_W_ONE = 1 << _W_BITS
_W_SHIFT = 32 - _W_BITS
_W_HALF = 1 << (_W_SHIFT - 1)
_AREA_BITS = 2 * _W_BITS
_AREA = float(1 << _AREA_BITS)
_AREA_HALF = 1 << (_AREA_BITS - 1)


@jit
def _span(a, b, n, xa, xb):
    """Narrow [xa, xb) to the x where t = a·x + b can give a tap a non-zero weight.

    That needs −1 < t < n.  The result is conservative (a pixel wider than exact);
    the pixel loop still checks every tap, so rounding here never changes output.
    Keeps t bounded by about n + 2|a| inside the span (the fixed-point range).
    """
    if a > 1e-9:
        lo = (-1.0 - b) / a
        hi = (n - b) / a
    elif a < -1e-9:
        lo = (n - b) / a
        hi = (-1.0 - b) / a
    elif b <= -2.0 or b >= n + 1.0:
        return xa, xa  # (almost) constant along the row, and outside
    else:
        return xa, xb  # (almost) constant along the row: let the pixel loop decide
    lo = min(max(lo, xa - 1.0), xb + 1.0)
    hi = min(max(hi, xa - 1.0), xb + 1.0)
    return max(xa, int(math.floor(lo))), min(xb, int(math.floor(hi)) + 2)


@jit
def _weight(t):
    """Weight (0.._W_ONE) of the second tap for fixed-point coordinate ``t``."""
    return ((t & _FRAC) + _W_HALF) >> _W_SHIFT


@jit
def _lerp4(c00, c01, c10, c11, wx0, wx1, wy0, wy1):
    return (c00 * wx0 + c01 * wx1) * wy0 + (c10 * wx0 + c11 * wx1) * wy1


@jit_exact
def _edge_sums(src, alpha, has_alpha, ix, iy, wx0, wx1, wy0, wy1, tu, tv, gu, gv):
    """(Σ w·a·c, Σ w·a) × coverage for a pixel whose taps leave the source.

    Taps are clamped to the nearest edge pixel (no dark fringe when a layer is scaled up),
    and the result is weighted by how far the pixel centre lies inside the source edge:
    ``clamp(d / g + ½, 0, 1)`` per axis, where ``d`` is the distance to the nearer edge in
    source pixels and ``g`` = min(1, source pixels per destination pixel along that axis).
    Up-scaled edges are thus antialiased over one destination pixel (no dark fringe),
    others over one source pixel.
    a is the alpha byte, or 1 without an alpha plane (then the sums have scale 2**24).
    """
    sh, sw = src.shape
    cs = np.int64(0)
    As = np.int64(0)
    for j in range(2):
        yy = min(max(iy + j, 0), sh - 1)
        wy = wy1 if j else wy0
        for i in range(2):
            xx = min(max(ix + i, 0), sw - 1)
            w = wy * (wx1 if i else wx0)
            p = np.int64(alpha[yy, xx]) if has_alpha else np.int64(1)
            cs += w * p * np.int64(src[yy, xx])
            As += w * p
    u = tu / _ONE + 0.5
    v = tv / _ONE + 0.5
    cov = min(max(min(u, sw - u) / gu + 0.5, 0.0), 1.0) * min(max(min(v, sh - v) / gv + 0.5, 0.0), 1.0)
    return cs * cov, As * cov


@jit_exact
def _over(d, cs, As, k):
    """round(k·cs + (1 − k·As)·d) as a byte: premultiplied colour over ``d``."""
    r = k * cs + (1.0 - k * As) * d
    if r <= 0.0:
        return 0
    if r >= 254.5:
        return 255
    return int(r + 0.5)


@jit_exact
def _mix(d, cs, kc, keep):
    """round(kc·cs + keep·d): an opaque layer at opacity kc·2²⁴ over ``d``."""
    return int(kc * cs + keep * d + 0.5)


@jit
def _warp_blend(dst, src, alpha, has_alpha, a00, a01, a02, a10, a11, a12, opacity, x0, y0, x1, y1):
    if not has_alpha and a01 == 0.0 and a10 == 0.0:
        _warp_separable(dst, src, a00, a02, a11, a12, opacity, x0, y0, x1, y1)
    else:
        _warp_rows(dst, src, alpha, has_alpha, a00, a01, a02, a10, a11, a12, opacity, x0, y0, x1, y1, None)


# -- the separable path -------------------------------------------------------------------
#
# An opaque layer that is only scaled and moved (no rotation or shear: a01 = a10 = 0; Ken
# Burns photos, picture-in-picture, fitted clips) has the same column taps on every row and
# the same row taps on every column.  The 2×2 sum of the loop above factors exactly:
#
#     C = (c00·wx0 + c01·wx1)·wy0 + (c10·wx0 + c11·wx1)·wy1 = H[iy]·wy0 + H[iy+1]·wy1
#
# with H[r] = the horizontal pass of source row r, computed once per source row used (not
# once per destination row) into one of two row buffers; or, equally exactly, as
# V[i]·wx0 + V[i+1]·wx1 with V = the vertical pass of the row's two source rows over the
# source columns it uses (the order taken when rows do not share source rows).  Every integer is the one the
# per-pixel loop computes, so the bytes are the same; the vertical pass is a straight loop
# over contiguous rows that LLVM vectorises.  H, V < 255·2¹² and C + ½ < 2³², so uint32 holds
# them.
#
# The vertical-first order does two destination rows at once (SWAR): their vertical passes
# are packed into one uint64 per source column, row A in the low 32 bits and row B in the
# high ones, and the gather's C = V[r]·wx0 + V[r+1]·wx1 + ½ is evaluated on the packed words.
# That is a sum of non-negative multiples of packed words, so it is the packed pair of the two
# rows' sums as long as each row's sum stays below 2³² — which C + ½ does (no carry crosses
# the lanes, nothing wraps).  One scalar gather step then gives two destination pixels.
#
# Columns whose taps leave the source, and rows whose taps do, go through the per-pixel
# loop (``_row_aligned``) with the same fixed-point coordinates.

_U_HALF = np.uint32(_AREA_HALF)
_Q_HALF2 = np.uint64(_AREA_HALF | (_AREA_HALF << 32))  # ½ in both 32-bit lanes of a packed pair
_Q_1 = np.uint64(1)  # uint64 constants keep the index and lane arithmetic unsigned 64-bit
_Q_LANE = np.uint64(32)
_Q_LOW = np.uint64(0xFFFFFFFF)
_Q_BYTE = np.uint64(0xFF)
_Q_AREA_BITS = np.uint64(_AREA_BITS)
_Q_TOP_BITS = np.uint64(32 + _AREA_BITS)


@jit
def _hpass(out, srow, ixs, wx0s, wx1s):
    """out[k] = srow[ixs[k]]·wx0s[k] + srow[ixs[k] + 1]·wx1s[k] (uint32)."""
    for k in range(out.shape[0]):
        i = ixs[k]
        out[k] = np.uint32(srow[i]) * wx0s[k] + np.uint32(srow[i + _Q_1]) * wx1s[k]


@jit
def _vcols2(out, top_a, bot_a, wy1_a, top_b, bot_b, wy1_b):
    """The vertical passes of two destination rows A and B over source columns, packed:
    out[i] = V_A[i] | V_B[i] << 32 with V = top·(2¹² − wy1) + bot·wy1."""
    wa0 = np.uint64(_W_ONE - wy1_a)
    wa1 = np.uint64(wy1_a)
    wb0 = np.uint64(_W_ONE - wy1_b)
    wb1 = np.uint64(wy1_b)
    for i in range(out.shape[0]):
        va = np.uint64(top_a[i]) * wa0 + np.uint64(bot_a[i]) * wa1
        vb = np.uint64(top_b[i]) * wb0 + np.uint64(bot_b[i]) * wb1
        out[i] = va | (vb << _Q_LANE)


@jit
def _gather2(out_a, out_b, packed, rel, wx0s, wx1s, copy, kc, keep):
    """Two destination rows' interiors from a packed vertical pass (:func:`_vcols2`):
    C = V[r]·wx0 + V[r+1]·wx1 in each lane, then the loop's rounding or opacity mix."""
    if copy:
        for k in range(out_a.shape[0]):
            r = rel[k]
            c = packed[r] * wx0s[k] + packed[r + _Q_1] * wx1s[k] + _Q_HALF2
            out_a[k] = np.uint8((c >> _Q_AREA_BITS) & _Q_BYTE)
            out_b[k] = np.uint8(c >> _Q_TOP_BITS)
    else:
        for k in range(out_a.shape[0]):
            r = rel[k]
            c = packed[r] * wx0s[k] + packed[r + _Q_1] * wx1s[k]
            out_a[k] = _mix(out_a[k], np.int64(c & _Q_LOW), kc, keep)
            out_b[k] = _mix(out_b[k], np.int64(c >> _Q_LANE), kc, keep)


@jit
def _vpass(out, top, bot, wy0, wy1, copy, kc, keep):
    """One destination row's interior: C = top·wy0 + bot·wy1, then the loop's blend."""
    if copy:
        for k in range(out.shape[0]):
            out[k] = np.uint8((top[k] * wy0 + bot[k] * wy1 + _U_HALF) >> np.uint32(_AREA_BITS))
    else:
        for k in range(out.shape[0]):
            out[k] = _mix(out[k], np.int64(top[k] * wy0 + bot[k] * wy1), kc, keep)


@jit
def _warp_separable(dst, src, a00, a02, a11, a12, opacity, x0, y0, x1, y1):
    sh, sw = src.shape
    copy = opacity == 1.0
    kc = opacity / _AREA
    keep = 1.0 - opacity
    gu = min(max(abs(a00), 1e-12), 1.0)
    gv = min(max(abs(a11), 1e-12), 1.0)
    # the column taps, the same for every row (u does not depend on y)
    ub = a00 * 0.5 + a02 - 0.5
    xa, xb = _span(a00, ub, sw, x0, x1)
    if xa >= xb:
        return
    tu0 = np.int64(round((ub + a00 * xa) * _ONE))
    du = np.int64(round(a00 * _ONE))
    # interior columns: both taps inside the source; ix is monotonic in x, so they are
    # one run [xi0, xi1)
    xi0, xi1 = xb, xb
    t = tu0
    for x in range(xa, xb):
        ix = t >> 32
        if ix >= 0 and ix + 1 < sw:
            if xi0 == xb:
                xi0 = x
            xi1 = x + 1
        t += du
    n = xi1 - xi0 if xi0 < xi1 else 0
    ixs = np.empty(n, np.uint32)  # first tap (unsigned: no negative-index wrap in the passes)
    wx0s = np.empty(n, np.uint32)
    wx1s = np.empty(n, np.uint32)
    t = tu0 + (xi0 - xa) * du
    for k in range(n):
        ixs[k] = np.uint32(t >> 32)
        w1 = _weight(t)
        wx1s[k] = np.uint32(w1)
        wx0s[k] = np.uint32(_W_ONE - w1)
        t += du
    tu_i1 = tu0 + (xi1 - xa) * du
    # Each destination row needs its own pair of source rows when the layer is not scaled up
    # vertically: then the vertical pass goes first, over the source columns the row uses
    # (contiguous, vectorised), two destination rows at a time, and the horizontal taps
    # gather from it.  Scaled up, rows share source rows, so horizontal passes are kept
    # and reused.
    vertical_first = abs(a11) >= 1.0 and n > 0
    lo = np.int64(min(ixs[0], ixs[n - 1])) if n else np.int64(0)
    span = np.int64(max(ixs[0], ixs[n - 1])) + 2 - lo if n else np.int64(0)
    packed = np.empty(span if vertical_first else 0, np.uint64)
    rel = ixs - np.uint32(lo)
    spare = np.zeros(n if vertical_first else 0, np.uint8)  # lane B of an unpaired row
    rows = np.empty((2, 0 if vertical_first else n), np.uint32)  # two horizontal-pass row buffers
    held0 = np.int64(-2)  # source row held by each buffer (-2: none)
    held1 = np.int64(-2)
    pend_y = -1  # vertical-first: a destination row waiting for a partner, its iy and wy1
    pend_iy = np.int64(0)
    pend_w = np.int64(0)
    for y in range(y0, y1):
        yc = y + 0.5
        vb = a11 * yc + a12 - 0.5
        if vb <= -2.0 or vb >= sh + 1.0:  # what _span decides for a constant v
            continue
        tv = np.int64(round(vb * _ONE))
        iy = tv >> 32
        if iy < -1 or iy >= sh:
            continue
        drow = dst[y]
        if n == 0 or iy < 0 or iy + 1 >= sh:
            _row_aligned(drow, src, src, False, xa, xb, tu0, du, tv, copy, kc, keep, kc, gu, gv, None, y)
            continue
        if xa < xi0:
            _row_aligned(drow, src, src, False, xa, xi0, tu0, du, tv, copy, kc, keep, kc, gu, gv, None, y)
        if xi1 < xb:
            _row_aligned(drow, src, src, False, xi1, xb, tu_i1, du, tv, copy, kc, keep, kc, gu, gv, None, y)
        wy1 = _weight(tv)
        if vertical_first:
            if pend_y < 0:
                pend_y, pend_iy, pend_w = y, iy, wy1
                continue
            _vcols2(
                packed,
                src[pend_iy, lo : lo + span],
                src[pend_iy + 1, lo : lo + span],
                pend_w,
                src[iy, lo : lo + span],
                src[iy + 1, lo : lo + span],
                wy1,
            )
            _gather2(dst[pend_y, xi0:xi1], drow[xi0:xi1], packed, rel, wx0s, wx1s, copy, kc, keep)
            pend_y = -1
            continue
        # the two horizontal rows, reusing a buffer that already holds one
        if held0 == iy + 1 or held1 == iy:
            b_top, b_bot = 1, 0
        else:
            b_top, b_bot = 0, 1
        if (held0 if b_top == 0 else held1) != iy:
            _hpass(rows[b_top], src[iy], ixs, wx0s, wx1s)
            if b_top == 0:
                held0 = iy
            else:
                held1 = iy
        if (held0 if b_bot == 0 else held1) != iy + 1:
            _hpass(rows[b_bot], src[iy + 1], ixs, wx0s, wx1s)
            if b_bot == 0:
                held0 = iy + 1
            else:
                held1 = iy + 1
        _vpass(drow[xi0:xi1], rows[b_top], rows[b_bot], np.uint32(_W_ONE - wy1), np.uint32(wy1), copy, kc, keep)
    if pend_y >= 0:  # an odd row out: lane B repeats it into a spare row
        top, bot = src[pend_iy, lo : lo + span], src[pend_iy + 1, lo : lo + span]
        _vcols2(packed, top, bot, pend_w, top, bot, pend_w)
        _gather2(dst[pend_y, xi0:xi1], spare, packed, rel, wx0s, wx1s, copy, kc, keep)


@jit
def _warp_rows(dst, src, alpha, has_alpha, a00, a01, a02, a10, a11, a12, opacity, x0, y0, x1, y1, rec):
    """The warp loop. ``rec`` None: blend into ``dst``. Otherwise ``rec`` is a
    :func:`_new_rec` tuple and each pixel's blend is recorded instead of done (``dst`` is
    then only read for its shape); Numba compiles the two variants separately."""
    sh, sw = src.shape
    du = np.int64(round(a00 * _ONE))  # per-pixel steps of the tap coordinates
    dv = np.int64(round(a10 * _ONE))
    copy = opacity == 1.0 and not has_alpha
    kc = opacity / _AREA  # sums without alpha have scale 2**24
    keep = 1.0 - opacity
    k = opacity / (_AREA * 255.0) if has_alpha else kc
    # Edge ramp width in source pixels: one destination pixel when scaling up, one source
    # pixel otherwise (so coverage is 1 wherever all taps are inside and 0 where none is:
    # continuous across the interior/edge paths at any scale).
    gu = min(max(math.hypot(a00, a01), 1e-12), 1.0)
    gv = min(max(math.hypot(a10, a11), 1e-12), 1.0)
    for y in range(y0, y1):
        yc = y + 0.5
        # tap coordinates t = u − ½ = ub + a00·x and v − ½ = vb + a10·x along this row
        ub = a00 * 0.5 + (a01 * yc + a02) - 0.5
        vb = a10 * 0.5 + (a11 * yc + a12) - 0.5
        xa, xb = _span(a00, ub, sw, x0, x1)
        xa, xb = _span(a10, vb, sh, xa, xb)
        if xa >= xb:
            continue
        tu = np.int64(round((ub + a00 * xa) * _ONE))
        tv = np.int64(round((vb + a10 * xa) * _ONE))
        drow = dst[y]
        if dv == 0:
            _row_aligned(drow, src, alpha, has_alpha, xa, xb, tu, du, tv, copy, kc, keep, k, gu, gv, rec, y)
        else:
            _row_general(drow, src, alpha, has_alpha, xa, xb, tu, du, tv, dv, copy, kc, keep, k, gu, gv, rec, y)


@jit
def _put_opaque(drow, x, cs, copy, kc, keep, rec, y):
    """Destination pixel ``x`` of an opaque layer from its interior 2×2 sum ``cs``: the
    rounded sum (opacity 1) or its opacity mix, written — or recorded when ``rec`` is set."""
    if rec is not None:
        if copy:
            _rec_const(rec, y, x, (cs + _AREA_HALF) >> _AREA_BITS)
        else:
            _rec_blend(rec, y, x, _LINEAR, cs, 0.0)
    elif copy:
        drow[x] = (cs + _AREA_HALF) >> _AREA_BITS
    else:
        drow[x] = _mix(drow[x], cs, kc, keep)


@jit
def _row_aligned(drow, src, alpha, has_alpha, xa, xb, tu, du, tv, copy, kc, keep, k, gu, gv, rec, y):
    """One destination row whose source row position is constant (no rotation/shear)."""
    sh, sw = src.shape
    iy = tv >> 32
    if iy < -1 or iy >= sh:
        return
    wy1 = _weight(tv)
    wy0 = _W_ONE - wy1
    inner_y = iy >= 0 and iy + 1 < sh
    r = iy if inner_y else 0  # rows used by the interior path only
    s0, s1 = src[r], src[r + 1 if inner_y else 0]
    q0, q1 = alpha[r], alpha[r + 1 if inner_y else 0]
    for x in range(xa, xb):
        ix = tu >> 32
        wx1 = _weight(tu)
        tu += du
        if ix < -1 or ix >= sw:
            continue
        wx0 = _W_ONE - wx1
        if inner_y and ix >= 0 and ix + 1 < sw:
            c00 = np.int64(s0[ix])
            c01 = np.int64(s0[ix + 1])
            c10 = np.int64(s1[ix])
            c11 = np.int64(s1[ix + 1])
            if not has_alpha:
                _put_opaque(drow, x, _lerp4(c00, c01, c10, c11, wx0, wx1, wy0, wy1), copy, kc, keep, rec, y)
                continue
            p00 = np.int64(q0[ix])
            p01 = np.int64(q0[ix + 1])
            p10 = np.int64(q1[ix])
            p11 = np.int64(q1[ix + 1])
            As = _lerp4(p00, p01, p10, p11, wx0, wx1, wy0, wy1)
            cs = _lerp4(p00 * c00, p01 * c01, p10 * c10, p11 * c11, wx0, wx1, wy0, wy1)
        else:
            cs, As = _edge_sums(src, alpha, has_alpha, ix, iy, wx0, wx1, wy0, wy1, tu - du, tv, gu, gv)
        if As != 0:
            if rec is not None:
                _rec_over(rec, y, x, cs, As, k)
            else:
                drow[x] = _over(drow[x], cs, As, k)


@jit
def _row_general(drow, src, alpha, has_alpha, xa, xb, tu, du, tv, dv, copy, kc, keep, k, gu, gv, rec, y):
    """One destination row of a rotated or sheared layer."""
    sh, sw = src.shape
    for x in range(xa, xb):
        ix = tu >> 32
        iy = tv >> 32
        wx1 = _weight(tu)
        wy1 = _weight(tv)
        tu += du
        tv += dv
        if ix < -1 or iy < -1 or ix >= sw or iy >= sh:
            continue
        wx0 = _W_ONE - wx1
        wy0 = _W_ONE - wy1
        if ix >= 0 and iy >= 0 and ix + 1 < sw and iy + 1 < sh:
            c00 = np.int64(src[iy, ix])
            c01 = np.int64(src[iy, ix + 1])
            c10 = np.int64(src[iy + 1, ix])
            c11 = np.int64(src[iy + 1, ix + 1])
            if not has_alpha:
                _put_opaque(drow, x, _lerp4(c00, c01, c10, c11, wx0, wx1, wy0, wy1), copy, kc, keep, rec, y)
                continue
            p00 = np.int64(alpha[iy, ix])
            p01 = np.int64(alpha[iy, ix + 1])
            p10 = np.int64(alpha[iy + 1, ix])
            p11 = np.int64(alpha[iy + 1, ix + 1])
            As = _lerp4(p00, p01, p10, p11, wx0, wx1, wy0, wy1)
            cs = _lerp4(p00 * c00, p01 * c01, p10 * c10, p11 * c11, wx0, wx1, wy0, wy1)
        else:
            cs, As = _edge_sums(src, alpha, has_alpha, ix, iy, wx0, wx1, wy0, wy1, tu - du, tv - dv, gu, gv)
        if As != 0:
            if rec is not None:
                _rec_over(rec, y, x, cs, As, k)
            else:
                drow[x] = _over(drow[x], cs, As, k)


# -- recorded warps ----------------------------------------------------------------------
#
# A layer whose picture, matrix and opacity stay the same from frame to frame is warped
# once into a record of what each destination pixel's blend is, then the record is
# applied to every frame.  The record keeps the exact operands of the final blend (the
# integer or float sums C and A), and applying it evaluates the same expression as the
# warp loop on them, so a blit gives the same bytes as the warp it replaces.

_SKIP, _CONST, _OVER, _LINEAR = 0, 1, 2, 3  # per-pixel record kinds
_ENDS = np.array([0, 255], np.uint8)  # passed in as data, so neither end is constant-folded


class WarpRecord:
    """One plane's recorded warp: per pixel of the rectangle at (x0, y0), ``kind`` (0 not
    drawn, 1 a constant byte ``value``, 2 alpha-over, 3 opacity mix) and, for kinds 2 and 3
    in raster order, the sums ``colour_sums`` / ``alpha_sums`` the warp loop blends with."""

    __slots__ = ("shape", "x0", "y0", "kind", "value", "colour_sums", "alpha_sums", "k", "kc", "keep")

    def __init__(self, shape, x0, y0, kind, value, colour_sums, alpha_sums, k, kc, keep):
        self.shape = shape  # (h, w) of the destination plane it was recorded for
        self.x0, self.y0 = x0, y0
        self.kind, self.value = kind, value
        self.colour_sums, self.alpha_sums = colour_sums, alpha_sums
        self.k, self.kc, self.keep = k, kc, keep

    @property
    def nbytes(self) -> int:
        return int(self.kind.nbytes + self.value.nbytes + self.colour_sums.nbytes + self.alpha_sums.nbytes)


def warp_record(src, src_alpha, inv, opacity, box, shape) -> WarpRecord | None:
    """Record :func:`warp_blend` of these arguments onto a plane of ``shape`` (h, w).

    ``blit_record(dst, rec)`` then gives ``dst`` the bytes ``warp_blend(dst, src,
    src_alpha, inv, opacity, box)`` would, for any ``dst`` of that shape.  None when
    warp_blend would copy or mix the source unresampled (an opaque integer translation):
    that is already a blit, so there is nothing to record.
    """
    op, (x0, y0, x1, y1), a = _checked(src, src_alpha, inv, opacity, box, tuple(shape))
    if _is_translation(src_alpha, a):
        return None
    has_alpha = src_alpha is not None
    kc = op / _AREA
    keep = 1.0 - op
    k = op / (_AREA * 255.0) if has_alpha else kc
    if op == 0.0 or x0 >= x1 or y0 >= y1:
        x1, y1 = x0, y0
    kind = np.zeros((y1 - y0, x1 - x0), np.uint8)
    value = np.zeros_like(kind)
    empty = np.zeros(0, np.float64)
    if kind.size:
        alpha = src_alpha if has_alpha else src
        dummy = np.zeros((y1, 1), np.uint8)  # read for nothing but its row count
        count = np.zeros(1, np.int64)
        rec = (kind, value, empty, empty, count, _ENDS, x0, y0)
        _warp_rows(dummy, src, alpha, has_alpha, *a, op, x0, y0, x1, y1, rec)  # count the blends
        if count[0]:
            sums_c, sums_a = np.empty(int(count[0]), np.float64), np.empty(int(count[0]), np.float64)
            count[0] = 0
            rec = (kind, value, sums_c, sums_a, count, _ENDS, x0, y0)
            _warp_rows(dummy, src, alpha, has_alpha, *a, op, x0, y0, x1, y1, rec)
            return _trimmed(tuple(shape), x0, y0, kind, value, sums_c, sums_a, k, kc, keep)
    return _trimmed(tuple(shape), x0, y0, kind, value, empty, empty, k, kc, keep)


def _trimmed(shape, x0, y0, kind, value, sums_c, sums_a, k, kc, keep) -> WarpRecord:
    """The record cut down to the rows and columns it draws."""
    rows = np.flatnonzero(kind.any(axis=1))
    if rows.size == 0:
        z = np.zeros((0, 0), np.uint8)
        return WarpRecord(shape, x0, y0, z, z, sums_c[:0], sums_a[:0], k, kc, keep)
    cols = np.flatnonzero(kind.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    kind = np.ascontiguousarray(kind[r0:r1, c0:c1])
    value = np.ascontiguousarray(value[r0:r1, c0:c1])
    return WarpRecord(shape, x0 + c0, y0 + r0, kind, value, sums_c, sums_a, k, kc, keep)


def blit_record(dst, rec: WarpRecord) -> None:
    """Apply a :func:`warp_record` to ``dst`` (a writable plane of the recorded shape)."""
    check_plane("dst", dst, writable=True)
    if tuple(dst.shape) != rec.shape:
        raise ValueError(f"dst has shape {dst.shape}, the record was made for {rec.shape}")
    if rec.kind.size:
        _blit(dst, rec.kind, rec.value, rec.colour_sums, rec.alpha_sums, rec.x0, rec.y0, rec.k, rec.kc, rec.keep)


@jit
def _rec_const(rec, y, x, val):
    kind, value = rec[0], rec[1]
    kind[y - rec[7], x - rec[6]] = _CONST
    value[y - rec[7], x - rec[6]] = val


@jit
def _rec_blend(rec, y, x, t, cs, As):
    kind, sums_c, sums_a, count = rec[0], rec[2], rec[3], rec[4]
    kind[y - rec[7], x - rec[6]] = t
    n = count[0]
    if n < sums_c.shape[0]:
        sums_c[n] = cs
        sums_a[n] = As
    count[0] = n + 1


@jit
def _rec_over(rec, y, x, cs, As, k):
    """Record an alpha-over; as a constant byte when no backdrop byte can change it (the
    blend is monotonic in the backdrop, so checking 0 and 255 covers every byte)."""
    ends = rec[5]
    lo = _over(ends[0], cs, As, k)
    if lo == _over(ends[1], cs, As, k):
        _rec_const(rec, y, x, lo)
    else:
        _rec_blend(rec, y, x, _OVER, cs, As)


@jit
def _blit(dst, kind, value, sums_c, sums_a, x0, y0, k, kc, keep):
    h, w = kind.shape
    n = 0
    for j in range(h):
        drow = dst[y0 + j, x0 : x0 + w]
        krow = kind[j]
        vrow = value[j]
        for i in range(w):
            t = krow[i]
            if t == _SKIP:
                continue
            if t == _CONST:
                drow[i] = vrow[i]
            elif t == _OVER:
                drow[i] = _over(drow[i], sums_c[n], sums_a[n], k)
                n += 1
            else:
                drow[i] = _mix(drow[i], sums_c[n], kc, keep)
                n += 1
