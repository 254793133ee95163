"""Shape masks as alpha planes, and alpha multiplication (pure, no I/O).

:func:`mask_alpha` writes, for every pixel centre of an alpha plane, the coverage of a
shape in *mask-local* coordinates::

    (lx, ly) = m · (x + ½, y + ½)        m: (2, 3) affine, plane pixel → local pixel (y down),
                                          origin at the mask centre, axes along the mask
    d        = signed distance to the shape outline in local pixels (negative inside)
    cov      = clamp(½ − d / f, 0, 1)     f = max(feather, 1): feather band centred on the edge
    cov      = 1 − cov                    when invert
    dst      = round(255 · cov · base / 255)   (base = 255 when not given)

Shapes (``hw``, ``hh`` = half width / half height of the shape in local pixels):

=============  ==============================================================================
MASK_LINE      keep the half plane above the line ``ly = 0`` (``d = ly``)
MASK_MIRROR    keep the band ``|ly| < hh``
MASK_ELLIPSE   ellipse with radii (hw, hh) (a cheap distance approximation; exact for circles)
MASK_RECT      rectangle (hw, hh) with corners rounded by ``radius`` pixels
MASK_HEART     heart (tip down) filling the box 2hw × 2hh
MASK_STAR      five-pointed star (point up) filling the box 2hw × 2hh
=============  ==============================================================================

For the heart and the star the distance is computed in the shape's own unit space and
scaled by its smaller box scale (exact when the box has the shape's natural aspect).

:func:`multiply_alpha` writes ``round(a · b / 255)``.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import check_finite, check_int, check_plane, check_same_shape, jit

__all__ = [
    "mask_alpha",
    "multiply_alpha",
    "MASK_LINE",
    "MASK_MIRROR",
    "MASK_ELLIPSE",
    "MASK_RECT",
    "MASK_HEART",
    "MASK_STAR",
    "HEART_BOX",
    "STAR_BOX",
]

MASK_LINE = 0
MASK_MIRROR = 1
MASK_ELLIPSE = 2
MASK_RECT = 3
MASK_HEART = 4
MASK_STAR = 5
_SHAPES = (MASK_LINE, MASK_MIRROR, MASK_ELLIPSE, MASK_RECT, MASK_HEART, MASK_STAR)

# Bounding boxes (x0, y0, x1, y1) of the unit shapes below, y up.
_SQ2_4 = math.sqrt(2.0) / 4.0
HEART_BOX = (-(0.25 + _SQ2_4), 0.0, 0.25 + _SQ2_4, 0.75 + _SQ2_4)
_K1X, _K1Y = 0.809016994375, -0.587785252292  # cos 36°, −sin 36°
_STAR_RF = 0.381966011250  # inner / outer radius of a regular star
STAR_BOX = (-0.951056516295, -0.809016994375, 0.951056516295, 1.0)


def mask_alpha(dst, shape, m, hw, hh, feather, *, radius=0.0, invert=False, base=None) -> None:
    """Write the coverage of a shape (see module doc) into the alpha plane ``dst``.

    dst:  uint8 (h, w) writable.  shape: MASK_*.  m: (2, 3) plane → local affine.
    hw, hh: half sizes (> 0 for every shape but the line); feather, radius: local pixels >= 0.
    base: optional uint8 plane of dst's shape multiplied in (the picture's own alpha).
    """
    check_plane("dst", dst, writable=True)
    s = check_int("shape", shape)
    if s not in _SHAPES:
        raise ValueError(f"unknown mask shape {shape!r}")
    mm = np.asarray(m, dtype=np.float64)
    if mm.shape != (2, 3) or not np.all(np.isfinite(mm)):
        raise ValueError(f"m must be a finite (2, 3) matrix, got {mm.tolist()}")
    hw_, hh_ = check_finite("hw", hw), check_finite("hh", hh)
    f, r = check_finite("feather", feather), check_finite("radius", radius)
    if f < 0 or r < 0 or hw_ < 0 or hh_ < 0:
        raise ValueError("hw, hh, feather and radius must be >= 0")
    if s != MASK_LINE and (hw_ <= 0 or hh_ <= 0) and s != MASK_MIRROR:
        raise ValueError("hw and hh must be > 0 for this shape")
    has_base = base is not None
    if has_base:
        check_plane("base", base)
        check_same_shape("dst and base", dst, base)
    else:
        base = dst
    _mask_alpha(
        dst,
        s,
        mm[0, 0],
        mm[0, 1],
        mm[0, 2],
        mm[1, 0],
        mm[1, 1],
        mm[1, 2],
        hw_,
        hh_,
        max(f, 1.0),
        r,
        bool(invert),
        base,
        has_base,
    )


@jit
def _ellipse(px, py, rx, ry):
    k0 = math.hypot(px / rx, py / ry)
    k1 = math.hypot(px / (rx * rx), py / (ry * ry))
    if k1 == 0.0:
        return -min(rx, ry)
    return k0 * (k0 - 1.0) / k1


@jit
def _round_rect(px, py, hw, hh, r):
    r = min(r, hw, hh)
    qx = abs(px) - hw + r
    qy = abs(py) - hh + r
    out = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return out + min(max(qx, qy), 0.0) - r


@jit
def _heart(x, y):
    """Signed distance to a unit heart (tip at the origin, lobes up to y ≈ 1.10), y up."""
    x = abs(x)
    if y + x > 1.0:
        return math.hypot(x - 0.25, y - 0.75) - _SQ2_4
    a = x * x + (y - 1.0) * (y - 1.0)
    t = 0.5 * max(x + y, 0.0)
    b = (x - t) * (x - t) + (y - t) * (y - t)
    d = math.sqrt(min(a, b))
    return d if x > y else -d


@jit
def _star(x, y):
    """Signed distance to a regular five-pointed star of outer radius 1 (point up), y up."""
    x = abs(x)
    k2x = -_K1X
    dot1 = _K1X * x + _K1Y * y
    if dot1 > 0.0:
        x -= 2.0 * dot1 * _K1X
        y -= 2.0 * dot1 * _K1Y
    dot2 = k2x * x + _K1Y * y
    if dot2 > 0.0:
        x -= 2.0 * dot2 * k2x
        y -= 2.0 * dot2 * _K1Y
    x = abs(x)
    y -= 1.0
    bax = _STAR_RF * (-_K1Y)
    bay = _STAR_RF * _K1X - 1.0
    h = (x * bax + y * bay) / (bax * bax + bay * bay)
    h = min(max(h, 0.0), 1.0)
    d = math.hypot(x - bax * h, y - bay * h)
    return d if (y * bax - x * bay) > 0.0 else -d


@jit
def _unit_shape(shape, lx, ly, hw, hh, x0, y0, x1, y1):
    """Distance for a unit-space shape whose bounding box (x0, y0, x1, y1) fills 2hw × 2hh."""
    sx = (x1 - x0) / (2.0 * hw)
    sy = (y1 - y0) / (2.0 * hh)
    ux = lx * sx + 0.5 * (x0 + x1)
    uy = -ly * sy + 0.5 * (y0 + y1)
    d = _heart(ux, uy) if shape == MASK_HEART else _star(ux, uy)
    return d / max(sx, sy)


@jit
def _mask_alpha(dst, shape, m00, m01, m02, m10, m11, m12, hw, hh, f, r, invert, base, has_base):
    h, w = dst.shape
    inv_f = 1.0 / f
    hx0, hy0, hx1, hy1 = HEART_BOX
    sx0, sy0, sx1, sy1 = STAR_BOX
    for y in range(h):
        yc = y + 0.5
        row = dst[y]
        brow = base[y]
        for x in range(w):
            xc = x + 0.5
            lx = m00 * xc + m01 * yc + m02
            ly = m10 * xc + m11 * yc + m12
            if shape == MASK_LINE:
                d = ly
            elif shape == MASK_MIRROR:
                d = abs(ly) - hh
            elif shape == MASK_ELLIPSE:
                d = _ellipse(lx, ly, hw, hh)
            elif shape == MASK_RECT:
                d = _round_rect(lx, ly, hw, hh, r)
            elif shape == MASK_HEART:
                d = _unit_shape(shape, lx, ly, hw, hh, hx0, hy0, hx1, hy1)
            else:
                d = _unit_shape(shape, lx, ly, hw, hh, sx0, sy0, sx1, sy1)
            c = 0.5 - d * inv_f
            if c < 0.0:
                c = 0.0
            elif c > 1.0:
                c = 1.0
            if invert:
                c = 1.0 - c
            v = 255.0 * c
            if has_base:
                v = v * brow[x] / 255.0
            row[x] = int(v + 0.5)


def multiply_alpha(dst, a, b) -> None:
    """``dst = round(a · b / 255)``; all uint8 planes of one shape (dst may be a or b)."""
    check_plane("dst", dst, writable=True)
    check_plane("a", a)
    check_plane("b", b)
    check_same_shape("dst, a and b", dst, a, b)
    _multiply(dst, a, b)


@jit
def _multiply(dst, a, b):
    h, w = dst.shape
    for y in range(h):
        for x in range(w):
            dst[y, x] = (np.int32(a[y, x]) * np.int32(b[y, x]) + 127) // 255
