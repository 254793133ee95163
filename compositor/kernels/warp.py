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

Taps outside the source count as transparent (colour 0, alpha 0), so a layer's edges
come out antialiased over about one pixel.  Alpha is straight; the kernel
premultiplies while sampling.  Pixels with ``A == 0`` are not written.

Exactness: an integer translation (including identity) at opacity 1 over an opaque
source reproduces the source bytes; opacity 0 leaves ``dst`` unchanged.
"""
from __future__ import annotations

import math

import numpy as np

from ._jit import check_finite, check_plane, check_same_shape, check_unit, clip_box, jit
from .blit import _blend_region, _copy_region, clip_offset

__all__ = ["warp_blend"]

# |inv| entries above this are a degenerate (zero-scale) layer, not something to draw.
_MAX_COEFF = 1e9


def warp_blend(dst, src, src_alpha, inv, opacity, box) -> None:
    """Warp ``src`` through ``inv`` and composite it over ``dst`` inside ``box``.

    dst:       uint8 (h, w), writable, column stride 1 (row padding is fine).
    src:       uint8 (sh, sw), column stride 1, at least 1×1.
    src_alpha: uint8 (sh, sw) straight alpha (255 = opaque) or None for opaque.
    inv:       (2, 3) float: destination continuous (x, y) → source continuous (u, v).
    opacity:   layer opacity in [0, 1].
    box:       (x0, y0, x1, y1) destination pixels to consider; clipped to dst.
    """
    check_plane("dst", dst, writable=True)
    check_plane("src", src)
    if src.shape[0] < 1 or src.shape[1] < 1:
        raise ValueError(f"src must be at least 1×1, got shape {src.shape}")
    if src_alpha is not None:
        check_plane("src_alpha", src_alpha)
        check_same_shape("src and src_alpha", src, src_alpha)
    m = np.asarray(inv, dtype=np.float64)
    if m.shape != (2, 3):
        raise ValueError(f"inv must have shape (2, 3), got {m.shape}")
    if not np.all(np.isfinite(m)) or np.any(np.abs(m) > _MAX_COEFF):
        raise ValueError(f"inv must be finite with entries of magnitude <= {_MAX_COEFF:g}, got {m.tolist()}")
    op = check_unit("opacity", opacity)
    x0, y0, x1, y1 = clip_box(box, dst.shape)
    if op == 0.0 or x0 >= x1 or y0 >= y1:
        return
    a00, a01, a02 = (float(c) for c in m[0])
    a10, a11, a12 = (float(c) for c in m[1])

    if src_alpha is None and a00 == 1.0 and a01 == 0.0 and a10 == 0.0 and a11 == 1.0:
        # Integer translation of an opaque source: bilinear weights are exactly 1/0, so
        # the warp is a (clipped) copy or constant-opacity blend.  Same bytes, less work.
        dx, dy = -a02, -a12
        if dx == math.floor(dx) and dy == math.floor(dy) and abs(dx) < 2**31 and abs(dy) < 2**31:
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


@jit
def _narrow(a, b, n, xa, xb):
    """Narrow [xa, xb) to the x where t = a·x + b can have a non-zero tap weight.

    That needs −1 < t < n.  The result is conservative (one pixel wider than exact);
    the pixel loop still checks every tap, so rounding here never changes output.
    """
    if a > 1e-9:
        lo = (-1.0 - b) / a
        hi = (n - b) / a
    elif a < -1e-9:
        lo = (n - b) / a
        hi = (-1.0 - b) / a
    else:
        return xa, xb  # (almost) constant along the row: let the pixel loop decide
    lo = min(max(lo, xa - 1.0), xb + 1.0)
    hi = min(max(hi, xa - 1.0), xb + 1.0)
    return max(xa, int(math.floor(lo))), min(xb, int(math.floor(hi)) + 2)


@jit
def _warp_blend(dst, src, alpha, has_alpha, a00, a01, a02, a10, a11, a12, opacity, x0, y0, x1, y1):
    sh, sw = src.shape
    k = opacity * (1.0 / 255.0)  # opacity · (alpha byte → 0..1)
    for y in range(y0, y1):
        yc = y + 0.5
        # tap coordinate t = u − ½ = a00·x + ub along this row (likewise v)
        ub = a00 * 0.5 + (a01 * yc + a02) - 0.5
        vb = a10 * 0.5 + (a11 * yc + a12) - 0.5
        xa, xb = _narrow(a00, ub, sw, x0, x1)
        xa, xb = _narrow(a10, vb, sh, xa, xb)
        for x in range(xa, xb):
            tu = ub + a00 * x
            tv = vb + a10 * x
            fu = math.floor(tu)
            fv = math.floor(tv)
            ix = int(fu)
            iy = int(fv)
            if ix < -1 or iy < -1 or ix >= sw or iy >= sh:
                continue
            wx1 = tu - fu
            wy1 = tv - fv
            wx0 = 1.0 - wx1
            wy0 = 1.0 - wy1
            d = float(dst[y, x])
            if ix >= 0 and iy >= 0 and ix + 1 < sw and iy + 1 < sh:
                # interior: all four taps exist
                c00 = float(src[iy, ix])
                c01 = float(src[iy, ix + 1])
                c10 = float(src[iy + 1, ix])
                c11 = float(src[iy + 1, ix + 1])
                if has_alpha:
                    p00 = float(alpha[iy, ix])
                    p01 = float(alpha[iy, ix + 1])
                    p10 = float(alpha[iy + 1, ix])
                    p11 = float(alpha[iy + 1, ix + 1])
                    cs = wy0 * (wx0 * p00 * c00 + wx1 * p01 * c01) + wy1 * (wx0 * p10 * c10 + wx1 * p11 * c11)
                    As = wy0 * (wx0 * p00 + wx1 * p01) + wy1 * (wx0 * p10 + wx1 * p11)
                    if As == 0.0:
                        continue
                    r = k * cs + (1.0 - k * As) * d
                else:
                    c = wy0 * (wx0 * c00 + wx1 * c01) + wy1 * (wx0 * c10 + wx1 * c11)
                    r = opacity * c + (1.0 - opacity) * d
            else:
                # border: taps outside the source are transparent
                cs = 0.0
                As = 0.0
                kk = k if has_alpha else opacity
                for j in range(2):
                    yy = iy + j
                    if yy < 0 or yy >= sh:
                        continue
                    wy = wy1 if j else wy0
                    for i in range(2):
                        xx = ix + i
                        if xx < 0 or xx >= sw:
                            continue
                        w = wy * (wx1 if i else wx0)
                        p = float(alpha[yy, xx]) if has_alpha else 1.0
                        cs += w * p * float(src[yy, xx])
                        As += w * p
                if As == 0.0:
                    continue
                r = kk * cs + (1.0 - kk * As) * d
            if r <= 0.0:
                dst[y, x] = 0
            elif r >= 254.5:
                dst[y, x] = 255
            else:
                dst[y, x] = int(r + 0.5)
