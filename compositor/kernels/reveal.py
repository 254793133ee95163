"""Shape-revealed mix of two planes: wipes, curtains, circles, clock sweeps, blinds (pure, no I/O).

Every pixel is mixed independently, so ``dst`` may be ``a`` or ``b``::

    X = (x + ½)·sx,  Y = (y + ½)·sy          (plane pixel → frame coordinates; sx = sy = 2 on
                                               4:2:0 chroma planes, 1 on luma)
    d = signed distance (frame pixels) of (X, Y) inside the revealed region of B
    w = clamp(d / soft + ½, 0, 1)             (a ``soft``-pixel ramp centred on the edge)
    dst = round(a + (b − a)·w)

Shapes (``p0 … p3`` are shape parameters in frame pixels / radians):

============  =========================================================================
SHAPE_LINEAR  ``d = p2 − (p0·X + p1·Y)``: half plane behind a moving line with unit
              normal (p0, p1) at offset p2 (directional wipes)
SHAPE_BAND    ``d = p2 − |p0·(X − cx) + p1·(Y − cy)|`` with centre (cx, cy) = (p3, p4):
              a band of half width p2 around a line through the centre (curtains)
SHAPE_CIRCLE  ``d = p2 − hypot(X − p0, Y − p1)``: disc of radius p2 (circle open)
SHAPE_CLOCK   ``d = (p2 − θ)·max(r, 1)`` where θ ∈ [0, 2π) is the clockwise angle from
              12 o'clock about (p0, p1), r the distance to it: a clock sweep to p2
SHAPE_BLINDS  ``d = p2 − ((Y − p1) mod p0)``: horizontal slats of period p0, each open
              over its first p2 pixels (venetian blinds)
============  =========================================================================
"""
from __future__ import annotations

import math

from ._jit import check_finite, check_int, check_plane, check_same_shape, jit

__all__ = ["reveal_mix", "SHAPE_LINEAR", "SHAPE_BAND", "SHAPE_CIRCLE", "SHAPE_CLOCK", "SHAPE_BLINDS"]

SHAPE_LINEAR = 0
SHAPE_BAND = 1
SHAPE_CIRCLE = 2
SHAPE_CLOCK = 3
SHAPE_BLINDS = 4
_SHAPES = (SHAPE_LINEAR, SHAPE_BAND, SHAPE_CIRCLE, SHAPE_CLOCK, SHAPE_BLINDS)


def reveal_mix(dst, a, b, shape, params, *, sx=1.0, sy=1.0, soft=1.0) -> None:
    """Mix ``b`` into ``a`` where the shape reveals it (see module doc); writes ``dst``.

    dst, a, b: uint8 planes of one shape (dst may be a or b).  shape: one of SHAPE_*.
    params: up to five floats (p0 … p4).  sx, sy: plane → frame scale (> 0).
    soft: edge ramp width in frame pixels (> 0).
    """
    check_plane("dst", dst, writable=True)
    check_plane("a", a)
    check_plane("b", b)
    check_same_shape("dst, a and b", dst, a, b)
    s = check_int("shape", shape)
    if s not in _SHAPES:
        raise ValueError(f"unknown shape {shape!r}")
    p = [check_finite("params", v) for v in params]
    if len(p) > 5:
        raise ValueError(f"at most 5 params, got {len(p)}")
    p += [0.0] * (5 - len(p))
    fx, fy, so = check_finite("sx", sx), check_finite("sy", sy), check_finite("soft", soft)
    if fx <= 0 or fy <= 0 or so <= 0:
        raise ValueError("sx, sy and soft must be > 0")
    if s == SHAPE_BLINDS and p[0] <= 0:
        raise ValueError("blinds period p0 must be > 0")
    _reveal_mix(dst, a, b, s, p[0], p[1], p[2], p[3], p[4], fx, fy, 1.0 / so)


@jit
def _distance(shape, X, Y, p0, p1, p2, p3, p4):
    if shape == SHAPE_LINEAR:
        return p2 - (p0 * X + p1 * Y)
    if shape == SHAPE_BAND:
        return p2 - abs(p0 * (X - p3) + p1 * (Y - p4))
    if shape == SHAPE_CIRCLE:
        return p2 - math.hypot(X - p0, Y - p1)
    if shape == SHAPE_CLOCK:
        dx = X - p0
        dy = Y - p1
        th = math.atan2(dx, -dy)  # 0 at 12 o'clock, growing clockwise (y down)
        if th < 0.0:
            th += 2.0 * math.pi
        return (p2 - th) * max(math.hypot(dx, dy), 1.0)
    # SHAPE_BLINDS
    m = (Y - p1) % p0
    if m < 0.0:
        m += p0
    return p2 - m


@jit
def _reveal_mix(dst, a, b, shape, p0, p1, p2, p3, p4, sx, sy, inv_soft):
    h, w = dst.shape
    for y in range(h):
        Y = (y + 0.5) * sy
        ra = a[y]
        rb = b[y]
        rd = dst[y]
        for x in range(w):
            d = _distance(shape, (x + 0.5) * sx, Y, p0, p1, p2, p3, p4)
            t = d * inv_soft + 0.5
            va = float(ra[x])
            if t <= 0.0:
                rd[x] = ra[x]
            elif t >= 1.0:
                rd[x] = rb[x]
            else:
                rd[x] = int(va + (float(rb[x]) - va) * t + 0.5)
