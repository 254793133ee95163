"""Warp-and-mix of two whole planes with edge modes, and block pixelation (pure, no I/O).

The geometric transitions (push, slide, zoom, rotation) and the shake effect move whole
pictures, so unlike :mod:`.warp` (a layer composited over a canvas) every destination
pixel is *written*: samples that fall outside a source come from its edge rule.

:func:`warp_mix` — for every destination pixel centre ``(x + ½, y + ½)`` inside ``box``::

    A = sample(a, inv_a · (x+½, y+½))        B = sample(b, inv_b · (x+½, y+½))
    dst = round(A + (B − A)·w)               (w = 0: only A is read; w = 1: only B)

``sample`` is bilinear (pixel centres at +½, like :mod:`.warp`); a tap outside the source
is resolved by ``edge``: ``EDGE_FILL`` (the constant ``fill``), ``EDGE_CLAMP`` (nearest edge
pixel) or ``EDGE_MIRROR`` (reflected, period 2·size, so a shifted picture tiles with its own
mirror image and never shows a seam). ``taps > 1`` averages that many samples spread
evenly along the destination vector ``(blur_dx, blur_dy)`` (centred on the pixel): a cheap
motion blur for fast moves.

:func:`pixelate_mix` — the picture in ``block × block`` tiles (anchored at ``(ox, oy)``),
each tile the mean of its pixels: ``dst = round(meanA + (meanB − meanA)·w)``.

Both read ``a`` and ``b`` and write ``dst``, which must not overlap either of them.
"""
from __future__ import annotations

import math

import numpy as np

from ._jit import (check_disjoint, check_finite, check_int, check_plane, check_u8, check_unit, clip_box,
                   jit)

__all__ = ["warp_mix", "pixelate_mix", "EDGE_FILL", "EDGE_CLAMP", "EDGE_MIRROR"]

EDGE_FILL = 0
EDGE_CLAMP = 1
EDGE_MIRROR = 2
_LIMIT = 1 << 24


def _matrix(name, inv) -> tuple[float, ...]:
    m = np.asarray(inv, dtype=np.float64)
    if m.shape != (2, 3):
        raise ValueError(f"{name} must have shape (2, 3), got {m.shape}")
    if not np.all(np.abs(m) <= _LIMIT):
        raise ValueError(f"{name} entries must be finite with magnitude <= {_LIMIT}, got {m.tolist()}")
    return tuple(float(v) for v in m.reshape(-1))


def warp_mix(dst, a, inv_a, b, inv_b, w, box=None, *, edge=EDGE_MIRROR, fill=0, taps=1,
             blur_dx=0.0, blur_dy=0.0) -> None:
    """Write ``round(A + (B − A)·w)`` of two warped planes into ``dst`` inside ``box``.

    dst:   uint8 (h, w), writable, column stride 1, not overlapping ``a`` or ``b``.
    a, b:  uint8 planes (any sizes, at least 1×1); ``b`` may be None when ``w`` is 0.
    inv_a, inv_b: (2, 3) destination → source matrices (continuous pixel coordinates).
    w:     mix weight in [0, 1].  box: destination pixels to write (default: all).
    edge:  EDGE_FILL | EDGE_CLAMP | EDGE_MIRROR; fill: 0..255 for EDGE_FILL.
    taps:  1..64 samples per pixel along (blur_dx, blur_dy) destination pixels.
    """
    check_plane("dst", dst, writable=True)
    check_plane("a", a)
    check_disjoint("a and dst", a, dst)
    ww = check_unit("w", w)
    if b is None:
        if ww != 0.0:
            raise ValueError("b is required when w > 0")
        b, inv_b = a, inv_a
    else:
        check_plane("b", b)
        check_disjoint("b and dst", b, dst)
    for name, p in (("a", a), ("b", b)):
        if not (1 <= p.shape[0] <= _LIMIT and 1 <= p.shape[1] <= _LIMIT):
            raise ValueError(f"{name} must be between 1×1 and {_LIMIT}×{_LIMIT}, got {p.shape}")
    ma = _matrix("inv_a", inv_a)
    mb = _matrix("inv_b", inv_b)
    e = check_int("edge", edge)
    if e not in (EDGE_FILL, EDGE_CLAMP, EDGE_MIRROR):
        raise ValueError(f"edge must be EDGE_FILL, EDGE_CLAMP or EDGE_MIRROR, got {edge!r}")
    f = check_u8("fill", fill)
    n = check_int("taps", taps)
    if not 1 <= n <= 64:
        raise ValueError(f"taps must be in 1..64, got {taps!r}")
    bdx, bdy = check_finite("blur_dx", blur_dx), check_finite("blur_dy", blur_dy)
    x0, y0, x1, y1 = clip_box(box if box is not None else (0, 0, dst.shape[1], dst.shape[0]), dst.shape)
    if x0 >= x1 or y0 >= y1:
        return
    _warp_mix(dst, a, b, ma[0], ma[1], ma[2], ma[3], ma[4], ma[5], mb[0], mb[1], mb[2], mb[3], mb[4], mb[5],
              ww, e, float(f), n, bdx, bdy, x0, y0, x1, y1)


@jit
def _edge_index(i, n, edge):
    """Index of tap ``i`` in a source of ``n`` pixels, or −1 for 'use the fill'."""
    if 0 <= i < n:
        return i
    if edge == EDGE_CLAMP:
        return 0 if i < 0 else n - 1
    if edge == EDGE_MIRROR:
        if n == 1:
            return 0
        period = 2 * n
        m = i % period
        if m < 0:
            m += period
        return m if m < n else period - 1 - m
    return -1


@jit
def _sample(src, u, v, edge, fill):
    """Bilinear sample of ``src`` at continuous (u, v) (pixel centres at +½)."""
    h, w = src.shape
    tu = u - 0.5
    tv = v - 0.5
    fu = math.floor(tu)
    fv = math.floor(tv)
    wx = tu - fu
    wy = tv - fv
    ix = int(fu)
    iy = int(fv)
    if 0 <= ix and ix + 1 < w and 0 <= iy and iy + 1 < h:
        c00 = float(src[iy, ix])
        c01 = float(src[iy, ix + 1])
        c10 = float(src[iy + 1, ix])
        c11 = float(src[iy + 1, ix + 1])
    else:
        x0 = _edge_index(ix, w, edge)
        x1 = _edge_index(ix + 1, w, edge)
        y0 = _edge_index(iy, h, edge)
        y1 = _edge_index(iy + 1, h, edge)
        c00 = fill if (x0 < 0 or y0 < 0) else float(src[y0, x0])
        c01 = fill if (x1 < 0 or y0 < 0) else float(src[y0, x1])
        c10 = fill if (x0 < 0 or y1 < 0) else float(src[y1, x0])
        c11 = fill if (x1 < 0 or y1 < 0) else float(src[y1, x1])
    top = c00 + (c01 - c00) * wx
    bot = c10 + (c11 - c10) * wx
    return top + (bot - top) * wy


@jit
def _sample_taps(src, u, v, du, dv, taps, edge, fill):
    if taps == 1:
        return _sample(src, u, v, edge, fill)
    s = 0.0
    for k in range(taps):
        f = k / (taps - 1) - 0.5
        s += _sample(src, u + du * f, v + dv * f, edge, fill)
    return s / taps


@jit
def _warp_mix(dst, a, b, a00, a01, a02, a10, a11, a12, b00, b01, b02, b10, b11, b12,
              w, edge, fill, taps, bdx, bdy, x0, y0, x1, y1):
    # blur vector in each source's coordinates (linear part of the inverse matrices)
    adu = a00 * bdx + a01 * bdy
    adv = a10 * bdx + a11 * bdy
    bdu = b00 * bdx + b01 * bdy
    bdv = b10 * bdx + b11 * bdy
    use_a = w < 1.0
    use_b = w > 0.0
    for y in range(y0, y1):
        yc = y + 0.5
        row = dst[y]
        for x in range(x0, x1):
            xc = x + 0.5
            va = 0.0
            vb = 0.0
            if use_a:
                va = _sample_taps(a, a00 * xc + a01 * yc + a02, a10 * xc + a11 * yc + a12, adu, adv, taps, edge, fill)
            if use_b:
                vb = _sample_taps(b, b00 * xc + b01 * yc + b02, b10 * xc + b11 * yc + b12, bdu, bdv, taps, edge, fill)
            r = va + (vb - va) * w
            if r <= 0.0:
                row[x] = 0
            elif r >= 254.5:
                row[x] = 255
            else:
                row[x] = int(r + 0.5)


def pixelate_mix(dst, a, b, w, block, ox=0, oy=0) -> None:
    """Tile-mean pixelation of ``a`` and ``b`` mixed by ``w`` (see module doc).

    dst, a, b: uint8 planes of one shape; ``dst`` may be ``a`` or ``b`` (each tile is read
    completely before it is written).  ``b`` may be None when ``w`` is 0.
    block: tile size in pixels (>= 1); ox, oy: tile grid origin in pixels.
    """
    check_plane("dst", dst, writable=True)
    check_plane("a", a)
    ww = check_unit("w", w)
    if b is None:
        if ww != 0.0:
            raise ValueError("b is required when w > 0")
        b = a
    else:
        check_plane("b", b)
    if a.shape != dst.shape or b.shape != dst.shape:
        raise ValueError(f"dst, a and b must have the same shape, got {dst.shape}, {a.shape}, {b.shape}")
    n = check_int("block", block)
    if n < 1:
        raise ValueError(f"block must be >= 1, got {block!r}")
    _pixelate_mix(dst, a, b, ww, n, check_int("ox", ox) % n, check_int("oy", oy) % n)


@jit
def _pixelate_mix(dst, a, b, w, n, ox, oy):
    h, wd = dst.shape
    use_b = w > 0.0
    ty = -((n - oy) % n)
    while ty < h:
        ya, yb = max(ty, 0), min(ty + n, h)
        tx = -((n - ox) % n)
        while tx < wd:
            xa, xb = max(tx, 0), min(tx + n, wd)
            sa = 0.0
            sb = 0.0
            for yy in range(ya, yb):
                for xx in range(xa, xb):
                    sa += a[yy, xx]
                    if use_b:
                        sb += b[yy, xx]
            cnt = (yb - ya) * (xb - xa)
            ma = sa / cnt
            r = ma + (sb / cnt - ma) * w if use_b else ma
            v = int(r + 0.5)
            for yy in range(ya, yb):
                for xx in range(xa, xb):
                    dst[yy, xx] = v
            tx += n
        ty += n
