"""Warp-and-mix of two whole planes with edge modes, and block pixelation (pure, no I/O).

The geometric transitions (push, slide, zoom, rotation) and the shake effect move whole
pictures, so unlike :mod:`.warp` (a layer composited over a canvas) every destination
pixel is *written*: samples that fall outside a source come from its edge rule.

:func:`warp_mix` — for every destination pixel centre ``(x + ½, y + ½)`` inside ``box``::

    A = sample(a, inv_a · (x+½, y+½))        B = sample(b, inv_b · (x+½, y+½))
    dst = round(A + (B − A)·w)               (w = 0: only A is read; w = 1: only B)

``sample`` is bilinear (pixel centres at +½, like :mod:`.warp`, and like it in fixed point:
tap coordinates in 32.32, weights in 1/4096, so results are within 1 LSB of the exact
formula); a tap outside the source is resolved by ``edge``: ``EDGE_FILL`` (the constant ``fill``), ``EDGE_CLAMP`` (nearest edge
pixel) or ``EDGE_MIRROR`` (reflected, period 2·size, so a shifted picture tiles with its own
mirror image and never shows a seam). ``taps > 1`` averages that many samples spread
evenly along the destination vector ``(blur_dx, blur_dy)`` (centred on the pixel): a cheap
motion blur for fast moves.

:func:`pixelate_mix` — the picture in ``block × block`` tiles (anchored at ``(ox, oy)``),
each tile the mean of its pixels: ``dst = round(meanA + (meanB − meanA)·w)``.

Both read ``a`` and ``b`` and write ``dst``; ``warp_mix``'s ``dst`` must not overlap them.

Speed: a single unrotated picture (zoom, slide, shake) tabulates its x taps once per call
and reads two source rows per destination row; other single-picture rows step fixed-point
coordinates and only take the edge rule for taps outside the source.
"""

from __future__ import annotations

import numpy as np

from ._jit import check_disjoint, check_finite, check_int, check_plane, check_u8, check_unit, clip_box, jit

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


def warp_mix(
    dst, a, inv_a, b, inv_b, w, box=None, *, edge=EDGE_MIRROR, fill=0, taps=1, blur_dx=0.0, blur_dy=0.0
) -> None:
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
    _warp_mix(
        dst,
        a,
        b,
        ma[0],
        ma[1],
        ma[2],
        ma[3],
        ma[4],
        ma[5],
        mb[0],
        mb[1],
        mb[2],
        mb[3],
        mb[4],
        mb[5],
        ww,
        e,
        f,
        n,
        bdx,
        bdy,
        x0,
        y0,
        x1,
        y1,
    )


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
        if -n <= i < 0:  # the neighbouring tiles need no modulo
            return -1 - i
        if n <= i < 2 * n:
            return 2 * n - 1 - i
        period = 2 * n
        m = i % period
        if m < 0:
            m += period
        return m if m < n else period - 1 - m
    return -1


# Fixed point, as in :mod:`.warp`: tap coordinates t = u − ½ in int64 with 32 fraction bits,
# stepped by a constant per pixel; bilinear weights keep 12 bits, so a sample is an integer
# with 24 fraction bits (error < 0.07 LSB before the final rounding).
_ONE = 1 << 32
_FRAC = _ONE - 1
_W_ONE = 1 << 12
_W_SHIFT = 20
_W_HALF = 1 << 19
_S_BITS = 24


@jit
def _tap(src, tu, tv, edge, fill):
    """Bilinear sample at fixed-point tap coordinates, scaled by 2**24."""
    h, w = src.shape
    ix = tu >> 32
    iy = tv >> 32
    wx1 = ((tu & _FRAC) + _W_HALF) >> _W_SHIFT
    wy1 = ((tv & _FRAC) + _W_HALF) >> _W_SHIFT
    wx0 = _W_ONE - wx1
    wy0 = _W_ONE - wy1
    if ix >= 0 and iy >= 0 and ix + 1 < w and iy + 1 < h:
        c00 = np.int64(src[iy, ix])
        c01 = np.int64(src[iy, ix + 1])
        c10 = np.int64(src[iy + 1, ix])
        c11 = np.int64(src[iy + 1, ix + 1])
    else:
        x0 = _edge_index(ix, w, edge)
        x1 = _edge_index(ix + 1, w, edge)
        y0 = _edge_index(iy, h, edge)
        y1 = _edge_index(iy + 1, h, edge)
        c00 = fill if (x0 < 0 or y0 < 0) else np.int64(src[y0, x0])
        c01 = fill if (x1 < 0 or y0 < 0) else np.int64(src[y0, x1])
        c10 = fill if (x0 < 0 or y1 < 0) else np.int64(src[y1, x0])
        c11 = fill if (x1 < 0 or y1 < 0) else np.int64(src[y1, x1])
    return (c00 * wx0 + c01 * wx1) * wy0 + (c10 * wx0 + c11 * wx1) * wy1


@jit
def _taps(src, tu, tv, dtu, dtv, taps, edge, fill):
    """Mean of ``taps`` samples spread from (tu, tv) − ½·(dtu, dtv) to + ½·(dtu, dtv)."""
    if taps == 1:
        return float(_tap(src, tu, tv, edge, fill))
    s = 0.0
    for k in range(taps):
        f = k / (taps - 1) - 0.5
        s += _tap(src, tu + np.int64(round(dtu * f)), tv + np.int64(round(dtv * f)), edge, fill)
    return s / taps


@jit
def _row_one(row, src, x0, x1, tu, tv, su, sv, edge, fill):
    """One destination row sampled from one picture (the common case: w = 0 or 1, no blur)."""
    h, w = src.shape
    half = np.int64(1) << (_S_BITS - 1)
    for x in range(x0, x1):
        ix = tu >> 32
        iy = tv >> 32
        if ix >= 0 and iy >= 0 and ix + 1 < w and iy + 1 < h:
            v = _interior(src, tu, tv)
        elif edge == EDGE_FILL and (ix < -1 or iy < -1 or ix >= w or iy >= h):
            v = fill << _S_BITS  # all four taps outside
        else:
            v = _tap(src, tu, tv, edge, fill)
        row[x] = (v + half) >> _S_BITS
        tu += su
        tv += sv


@jit
def _interior(src, tu, tv):
    """Bilinear sample (scaled by 2**24) of a tap known to lie inside ``src``."""
    ix = tu >> 32
    iy = tv >> 32
    wx1 = ((tu & _FRAC) + _W_HALF) >> _W_SHIFT
    wy1 = ((tv & _FRAC) + _W_HALF) >> _W_SHIFT
    wx0 = _W_ONE - wx1
    wy0 = _W_ONE - wy1
    r0 = src[iy]
    r1 = src[iy + 1]
    return (np.int64(r0[ix]) * wx0 + np.int64(r0[ix + 1]) * wx1) * wy0 + (
        np.int64(r1[ix]) * wx0 + np.int64(r1[ix + 1]) * wx1
    ) * wy1


@jit
def _inside(src, tu, tv):
    h, w = src.shape
    ix = tu >> 32
    iy = tv >> 32
    return ix >= 0 and iy >= 0 and ix + 1 < w and iy + 1 < h


@jit
def _row_mix(row, a, b, x0, x1, tau, tav, sau, sav, tbu, tbv, sbu, sbv, w16, edge, fill):
    """One destination row mixing two pictures: A + (B − A)·w, w in 1/65536."""
    half = np.int64(1) << (_S_BITS - 1)
    for x in range(x0, x1):
        va = _interior(a, tau, tav) if _inside(a, tau, tav) else _tap(a, tau, tav, edge, fill)
        vb = _interior(b, tbu, tbv) if _inside(b, tbu, tbv) else _tap(b, tbu, tbv, edge, fill)
        v = va + (((vb - va) * w16) >> 16)
        row[x] = (v + half) >> _S_BITS
        tau += sau
        tav += sav
        tbu += sbu
        tbv += sbv


@jit
def _warp_axis(dst, src, a00, a02, a11, a12, edge, fill, x0, y0, x1, y1):
    """Single picture, no rotation: the x taps and weights are the same on every row, so they
    are tabulated once (edge rule included) and each row reads two source rows."""
    h, w = src.shape
    n = x1 - x0
    xi0 = np.empty(n, np.int64)
    xi1 = np.empty(n, np.int64)
    wx1 = np.empty(n, np.int64)
    su = np.int64(round(a00 * _ONE))
    tu = np.int64(round((a00 * (x0 + 0.5) + a02 - 0.5) * _ONE))
    for i in range(n):
        ix = tu >> 32
        xi0[i] = _edge_index(ix, w, edge)
        xi1[i] = _edge_index(ix + 1, w, edge)
        wx1[i] = ((tu & _FRAC) + _W_HALF) >> _W_SHIFT
        tu += su
    half = np.int64(1) << (_S_BITS - 1)
    fill24 = fill << _S_BITS
    for y in range(y0, y1):
        tv = np.int64(round((a11 * (y + 0.5) + a12 - 0.5) * _ONE))
        iy = tv >> 32
        j0 = _edge_index(iy, h, edge)
        j1 = _edge_index(iy + 1, h, edge)
        wy1 = ((tv & _FRAC) + _W_HALF) >> _W_SHIFT
        wy0 = _W_ONE - wy1
        row = dst[y]
        if j0 < 0 and j1 < 0:
            for i in range(n):
                row[x0 + i] = fill
            continue
        r0 = src[j0 if j0 >= 0 else j1]
        r1 = src[j1 if j1 >= 0 else j0]
        simple = j0 >= 0 and j1 >= 0
        for i in range(n):
            k0 = xi0[i]
            k1 = xi1[i]
            b1 = wx1[i]
            b0 = _W_ONE - b1
            if simple and k0 >= 0 and k1 >= 0:
                v = (np.int64(r0[k0]) * b0 + np.int64(r0[k1]) * b1) * wy0 + (
                    np.int64(r1[k0]) * b0 + np.int64(r1[k1]) * b1
                ) * wy1
            else:  # a tap in the fill (EDGE_FILL only)
                c00 = np.int64(r0[k0]) if (k0 >= 0 and j0 >= 0) else fill
                c01 = np.int64(r0[k1]) if (k1 >= 0 and j0 >= 0) else fill
                c10 = np.int64(r1[k0]) if (k0 >= 0 and j1 >= 0) else fill
                c11 = np.int64(r1[k1]) if (k1 >= 0 and j1 >= 0) else fill
                v = (c00 * b0 + c01 * b1) * wy0 + (c10 * b0 + c11 * b1) * wy1
                if k0 < 0 and k1 < 0:
                    v = fill24
            row[x0 + i] = (v + half) >> _S_BITS


@jit
def _warp_mix(
    dst, a, b, a00, a01, a02, a10, a11, a12, b00, b01, b02, b10, b11, b12, w, edge, fill, taps, bdx, bdy, x0, y0, x1, y1
):
    fl = np.int64(fill)
    # blur vector in each source's coordinates (linear part of the inverse matrices), fixed point
    adu = (a00 * bdx + a01 * bdy) * _ONE
    adv = (a10 * bdx + a11 * bdy) * _ONE
    bdu = (b00 * bdx + b01 * bdy) * _ONE
    bdv = (b10 * bdx + b11 * bdy) * _ONE
    sau = np.int64(round(a00 * _ONE))
    sav = np.int64(round(a10 * _ONE))
    sbu = np.int64(round(b00 * _ONE))
    sbv = np.int64(round(b10 * _ONE))
    use_a = w < 1.0
    use_b = w > 0.0
    if taps == 1 and not use_b and a01 == 0.0 and a10 == 0.0:
        _warp_axis(dst, a, a00, a02, a11, a12, edge, fl, x0, y0, x1, y1)
        return
    if taps == 1 and not use_a and b01 == 0.0 and b10 == 0.0:
        _warp_axis(dst, b, b00, b02, b11, b12, edge, fl, x0, y0, x1, y1)
        return
    w16 = np.int64(round(w * 65536.0))
    scale = 1.0 / (1 << _S_BITS)
    for y in range(y0, y1):
        yc = y + 0.5
        xc = x0 + 0.5
        tau = np.int64(round((a00 * xc + a01 * yc + a02 - 0.5) * _ONE))
        tav = np.int64(round((a10 * xc + a11 * yc + a12 - 0.5) * _ONE))
        tbu = np.int64(round((b00 * xc + b01 * yc + b02 - 0.5) * _ONE))
        tbv = np.int64(round((b10 * xc + b11 * yc + b12 - 0.5) * _ONE))
        row = dst[y]
        if taps == 1 and not use_b:
            _row_one(row, a, x0, x1, tau, tav, sau, sav, edge, fl)
            continue
        if taps == 1 and not use_a:
            _row_one(row, b, x0, x1, tbu, tbv, sbu, sbv, edge, fl)
            continue
        if taps == 1:
            _row_mix(row, a, b, x0, x1, tau, tav, sau, sav, tbu, tbv, sbu, sbv, w16, edge, fl)
            continue
        for x in range(x0, x1):
            va = _taps(a, tau, tav, adu, adv, taps, edge, fl) if use_a else 0.0
            vb = _taps(b, tbu, tbv, bdu, bdv, taps, edge, fl) if use_b else 0.0
            r = (va + (vb - va) * w) * scale
            if r <= 0.0:
                row[x] = 0
            elif r >= 254.5:
                row[x] = 255
            else:
                row[x] = int(r + 0.5)
            tau += sau
            tav += sav
            tbu += sbu
            tbv += sbv


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
