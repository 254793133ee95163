"""Separable blend modes (multiply, screen, overlay …) of a layer over a YUV 4:2:0 canvas.

Blend modes are defined on RGB, so the layer is first warped into frame-sized scratch
planes as *straight* colour plus coverage (:func:`warp_layer`), then :func:`blend_yuv`
converts each 2×2 block of canvas and layer to BT.709 RGB (0..1), blends per channel
(W3C compositing formulas, backdrop ``b``, source ``s``)::

    result = (1 − α)·b + α·B(b, s)          α = layer coverage × opacity (per pixel)

and converts back: Y per pixel, U/V from the block's mean result RGB. With an opaque
backdrop this is the same as compositing premultiplied pixels with the separable mode.

Modes (``B(b, s)`` per channel):

=================  ======================================================================
MULTIPLY           b·s
SCREEN             b + s − b·s
OVERLAY            HARD_LIGHT with b and s swapped
SOFT_LIGHT         s ≤ ½: b − (1 − 2s)·b·(1 − b);  else b + (2s − 1)·(D(b) − b),
                   D(b) = ((16b − 12)·b + 4)·b for b ≤ ¼ else √b
HARD_LIGHT         s ≤ ½: 2·b·s;  else SCREEN(b, 2s − 1)
LIGHTEN / DARKEN   max(b, s) / min(b, s)
COLOR_DODGE        b = 0 → 0; s = 1 → 1; else min(1, b / (1 − s))
COLOR_BURN         b = 1 → 1; s = 0 → 0; else 1 − min(1, (1 − b) / s)
LINEAR_BURN        max(0, b + s − 1)
=================  ======================================================================
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import check_disjoint, check_int, check_plane, check_same_shape, check_unit, clip_box, jit
from .colour import _round_u8
from ..pixels.yuv import KB, KG, KR  # the BT.709 luma weights, defined once

__all__ = ["warp_layer", "blend_yuv", "MODES", "mode_rgb"]

MULTIPLY, SCREEN, OVERLAY, SOFT_LIGHT, HARD_LIGHT, LIGHTEN, DARKEN, COLOR_DODGE, COLOR_BURN, LINEAR_BURN = range(10)
MODES = {
    "multiply": MULTIPLY,
    "screen": SCREEN,
    "overlay": OVERLAY,
    "soft_light": SOFT_LIGHT,
    "hard_light": HARD_LIGHT,
    "lighten": LIGHTEN,
    "darken": DARKEN,
    "color_dodge": COLOR_DODGE,
    "color_burn": COLOR_BURN,
    "linear_burn": LINEAR_BURN,
}


def warp_layer(dst_c, dst_a, src, src_alpha, inv, opacity, box, empty=0) -> None:
    """Bilinear warp of ``src`` into straight colour ``dst_c`` and coverage ``dst_a``.

    For each destination pixel in ``box``: ``A = Σ w·a`` over the taps (outside the source
    a = 0), ``dst_c = round(Σ w·a·c / A)`` (``empty`` where A = 0) and, when ``dst_a`` is
    given, ``dst_a = round(255 · opacity · A)``.  ``inv``: (2, 3) destination → source.
    """
    check_plane("dst_c", dst_c, writable=True)
    check_plane("src", src)
    check_disjoint("src and dst_c", src, dst_c)
    has_a = dst_a is not None
    if has_a:
        check_plane("dst_a", dst_a, writable=True)
        check_same_shape("dst_c and dst_a", dst_c, dst_a)
    else:
        dst_a = dst_c
    has_src_a = src_alpha is not None
    if has_src_a:
        check_plane("src_alpha", src_alpha)
        check_same_shape("src and src_alpha", src, src_alpha)
    else:
        src_alpha = src
    m = np.asarray(inv, dtype=np.float64)
    if m.shape != (2, 3) or not np.all(np.isfinite(m)):
        raise ValueError(f"inv must be a finite (2, 3) matrix, got {m.tolist()}")
    op = check_unit("opacity", opacity)
    e = check_int("empty", empty)
    x0, y0, x1, y1 = clip_box(box, dst_c.shape)
    if x0 >= x1 or y0 >= y1:
        return
    _warp_layer(
        dst_c,
        dst_a,
        has_a,
        src,
        src_alpha,
        has_src_a,
        m[0, 0],
        m[0, 1],
        m[0, 2],
        m[1, 0],
        m[1, 1],
        m[1, 2],
        op,
        e,
        x0,
        y0,
        x1,
        y1,
    )


_ONE = 1 << 32
_FRAC = _ONE - 1
_W_ONE = 1 << 12


@jit
def _warp_layer(dc, da, has_a, src, sa, has_src_a, a00, a01, a02, a10, a11, a12, op, empty, x0, y0, x1, y1):
    # fixed point as in compositor.kernels.warp: taps in 32.32, weights in 1/4096
    sh, sw = src.shape
    su = np.int64(round(a00 * _ONE))
    sv = np.int64(round(a10 * _ONE))
    full = np.int64(_W_ONE * _W_ONE)
    kop = 255.0 * op / full
    for y in range(y0, y1):
        yc = y + 0.5
        tu = np.int64(round((a00 * (x0 + 0.5) + a01 * yc + a02 - 0.5) * _ONE))
        tv = np.int64(round((a10 * (x0 + 0.5) + a11 * yc + a12 - 0.5) * _ONE))
        crow = dc[y]
        arow = da[y]
        for x in range(x0, x1):
            ix = tu >> 32
            iy = tv >> 32
            wx1 = ((tu & _FRAC) + (1 << 19)) >> 20
            wy1 = ((tv & _FRAC) + (1 << 19)) >> 20
            tu += su
            tv += sv
            wx0 = _W_ONE - wx1
            wy0 = _W_ONE - wy1
            if not has_src_a and ix >= 0 and iy >= 0 and ix + 1 < sw and iy + 1 < sh:
                r0 = src[iy]
                r1 = src[iy + 1]
                cs = (np.int64(r0[ix]) * wx0 + np.int64(r0[ix + 1]) * wx1) * wy0 + (
                    np.int64(r1[ix]) * wx0 + np.int64(r1[ix + 1]) * wx1
                ) * wy1
                crow[x] = (cs + (full >> 1)) // full
                if has_a:
                    arow[x] = int(255.0 * op + 0.5)
                continue
            cs = np.int64(0)
            As = np.int64(0)
            for j in range(2):
                yy = iy + j
                if yy < 0 or yy >= sh:
                    continue
                wy = wy1 if j else wy0
                for i in range(2):
                    xx = ix + i
                    if xx < 0 or xx >= sw:
                        continue
                    wgt = wy * (wx1 if i else wx0)
                    al = np.int64(sa[yy, xx]) if has_src_a else np.int64(255)
                    cs += wgt * al * np.int64(src[yy, xx])
                    As += wgt * al
            if As == 0:
                crow[x] = empty
                if has_a:
                    arow[x] = 0
                continue
            crow[x] = min(255, (cs + (As >> 1)) // As)
            if has_a:
                arow[x] = min(255, int(kop * As / 255.0 + 0.5))


def blend_yuv(dst_y, dst_u, dst_v, src_y, src_u, src_v, alpha, mode, box) -> None:
    """Blend the straight-colour layer (src planes, coverage ``alpha`` at luma resolution)
    over the canvas with ``mode`` inside ``box`` (rounded out to whole 2×2 blocks)."""
    for n, p in (("dst_y", dst_y), ("dst_u", dst_u), ("dst_v", dst_v)):
        check_plane(n, p, writable=True)
    for n, p in (("src_y", src_y), ("src_u", src_u), ("src_v", src_v), ("alpha", alpha)):
        check_plane(n, p)
    check_same_shape("dst_y, src_y and alpha", dst_y, src_y, alpha)
    check_same_shape("dst_u, dst_v, src_u and src_v", dst_u, dst_v, src_u, src_v)
    half = ((dst_y.shape[0] + 1) // 2, (dst_y.shape[1] + 1) // 2)
    if dst_u.shape != half:
        raise ValueError(f"chroma planes must have shape {half}, got {dst_u.shape}")
    md = check_int("mode", mode)
    if not 0 <= md < 10:
        raise ValueError(f"unknown blend mode {mode!r}")
    x0, y0, x1, y1 = clip_box(box, dst_y.shape)
    if x0 >= x1 or y0 >= y1:
        return
    _blend_yuv(dst_y, dst_u, dst_v, src_y, src_u, src_v, alpha, md, x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2)


@jit
def mode_rgb(mode, b, s):
    """B(b, s) for one channel, both in [0, 1]."""
    if mode == MULTIPLY:
        return b * s
    if mode == SCREEN:
        return b + s - b * s
    if mode == OVERLAY:
        if b <= 0.5:
            return 2.0 * b * s
        return 1.0 - 2.0 * (1.0 - b) * (1.0 - s)
    if mode == SOFT_LIGHT:
        if s <= 0.5:
            return b - (1.0 - 2.0 * s) * b * (1.0 - b)
        d = ((16.0 * b - 12.0) * b + 4.0) * b if b <= 0.25 else math.sqrt(b)
        return b + (2.0 * s - 1.0) * (d - b)
    if mode == HARD_LIGHT:
        if s <= 0.5:
            return 2.0 * b * s
        s2 = 2.0 * s - 1.0
        return b + s2 - b * s2
    if mode == LIGHTEN:
        return max(b, s)
    if mode == DARKEN:
        return min(b, s)
    if mode == COLOR_DODGE:
        if b <= 0.0:
            return 0.0
        if s >= 1.0:
            return 1.0
        return min(1.0, b / (1.0 - s))
    if mode == COLOR_BURN:
        if b >= 1.0:
            return 1.0
        if s <= 0.0:
            return 0.0
        return 1.0 - min(1.0, (1.0 - b) / s)
    return max(0.0, b + s - 1.0)  # LINEAR_BURN


@jit
def _to_rgb(yv, cb, cr):
    e = (yv - 16.0) / 219.0
    pb = cb / 224.0
    pr = cr / 224.0
    r = e + 2.0 * (1.0 - KR) * pr
    b = e + 2.0 * (1.0 - KB) * pb
    g = (e - KR * r - KB * b) / KG
    return min(max(r, 0.0), 1.0), min(max(g, 0.0), 1.0), min(max(b, 0.0), 1.0)


@jit
def _blend_yuv(dy, du, dv, sy, su, sv, al, mode, cx0, cy0, cx1, cy1):
    h, w = dy.shape
    for cy in range(cy0, cy1):
        for cx in range(cx0, cx1):
            dcb = float(du[cy, cx]) - 128.0
            dcr = float(dv[cy, cx]) - 128.0
            scb = float(su[cy, cx]) - 128.0
            scr = float(sv[cy, cx]) - 128.0
            rs = 0.0
            gs = 0.0
            bs = 0.0
            n = 0
            touched = False
            for yy in range(2 * cy, min(2 * cy + 2, h)):
                for xx in range(2 * cx, min(2 * cx + 2, w)):
                    br, bg, bb = _to_rgb(float(dy[yy, xx]), dcb, dcr)
                    a = al[yy, xx] / 255.0
                    if a > 0.0:
                        touched = True
                        sr, sg, sb = _to_rgb(float(sy[yy, xx]), scb, scr)
                        br = br + a * (mode_rgb(mode, br, sr) - br)
                        bg = bg + a * (mode_rgb(mode, bg, sg) - bg)
                        bb = bb + a * (mode_rgb(mode, bb, sb) - bb)
                        e = KR * br + KG * bg + KB * bb
                        dy[yy, xx] = _round_u8(16.0 + 219.0 * e)
                    rs += br
                    gs += bg
                    bs += bb
                    n += 1
            if touched:
                r, g, b = rs / n, gs / n, bs / n
                e = KR * r + KG * g + KB * b
                du[cy, cx] = _round_u8(128.0 + 224.0 * (b - e) / (2.0 * (1.0 - KB)))
                dv[cy, cx] = _round_u8(128.0 + 224.0 * (r - e) / (2.0 * (1.0 - KR)))
