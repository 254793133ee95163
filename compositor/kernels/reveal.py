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

import numpy as np

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
def _interval(shape, Y, level, p0, p1, p2, p3, p4):
    """(lo, hi) frame-X interval where the distance is >= ``level`` along row Y, for the
    shapes whose distance is concave along a row (linear, band, circle); lo > hi = empty."""
    big = 1e18
    if shape == SHAPE_LINEAR:
        c = p2 - p1 * Y - level  # need p0·X <= c
        if p0 > 0.0:
            return -big, c / p0
        if p0 < 0.0:
            return c / p0, big
        return (-big, big) if c >= 0.0 else (big, -big)
    if shape == SHAPE_BAND:
        r = p2 - level  # need |p0·(X − p3) + c| <= r
        c = p1 * (Y - p4)
        if r < 0.0:
            return big, -big
        if p0 == 0.0:
            return (-big, big) if abs(c) <= r else (big, -big)
        a0 = p3 + (-r - c) / p0
        a1 = p3 + (r - c) / p0
        return min(a0, a1), max(a0, a1)
    # SHAPE_CIRCLE
    r = p2 - level
    dy = Y - p1
    if r < 0.0 or dy * dy > r * r:
        return big, -big
    hw = math.sqrt(r * r - dy * dy)
    return p0 - hw, p0 + hw


@jit
def _px_range(lo, hi, sx, w, inner):
    """Pixels x (X = (x + ½)·sx) inside [lo, hi]: shrunk by a pixel when ``inner``, grown when not."""
    a = lo / sx - 0.5
    b = hi / sx - 0.5
    if inner:
        a += 1.0
        b -= 1.0
    else:
        a -= 1.0
        b += 1.0
    xa = 0 if a < 0.0 else (w if a > w else int(math.ceil(a)))
    xb = 0 if b < -1.0 else (w if b >= w else int(math.floor(b)) + 1)
    return xa, max(xa, xb)


@jit
def _copy_span(rd, rs, xa, xb):
    for x in range(xa, xb):
        rd[x] = rs[x]


@jit
def _mix_span(rd, ra, rb, xa, xb, shape, Y, p0, p1, p2, p3, p4, sx, inv_soft):
    for x in range(xa, xb):
        d = _distance(shape, (x + 0.5) * sx, Y, p0, p1, p2, p3, p4)
        t = d * inv_soft + 0.5
        if t <= 0.0:
            rd[x] = ra[x]
        elif t >= 1.0:
            rd[x] = rb[x]
        else:
            va = float(ra[x])
            rd[x] = int(va + (float(rb[x]) - va) * t + 0.5)


@jit
def _clock_row(rd, ra, rb, w, Y, cx, cy, p2, sx, inv_soft):
    """A clock-sweep row: the weight only changes near where the row meets the 12 o'clock ray
    (X = cx above the centre) or the sweep ray (angle p2); pixels further than the ramp from
    both are plain copies, classified by the segment's middle pixel."""
    soft = 1.0 / inv_soft
    dy = Y - cy
    if abs(dy) <= soft + 2.0 * sx:
        _mix_span(rd, ra, rb, 0, w, SHAPE_CLOCK, Y, cx, cy, p2, 0.0, 0.0, sx, inv_soft)
        return
    # boundary crossings (frame X) and the half width of the ramp around each, in pixels
    xs = np.empty(2, np.float64)
    ws = np.empty(2, np.float64)
    n = 0
    if dy < 0.0:
        xs[n] = cx
        ws[n] = soft + 2.0
        n += 1
    s, c = math.sin(p2), -math.cos(p2)  # sweep ray direction (y down)
    if c != 0.0 and dy / c > 0.0:
        xs[n] = cx + dy * s / c
        ws[n] = (soft + 2.0) * math.hypot(s, c) / abs(c) + 2.0
        n += 1
    # pixel windows that need the exact weight
    lo = np.empty(2, np.int64)
    hi = np.empty(2, np.int64)
    for i in range(n):
        a = (xs[i] - ws[i]) / sx - 0.5
        b = (xs[i] + ws[i]) / sx - 0.5
        lo[i] = min(max(int(math.floor(a)), 0), w)
        hi[i] = min(max(int(math.ceil(b)) + 1, 0), w)
    if n == 2 and lo[1] < lo[0]:
        lo[0], lo[1] = lo[1], lo[0]
        hi[0], hi[1] = hi[1], hi[0]
    x = 0
    for i in range(n + 1):
        end = lo[i] if i < n else w
        if end > x:  # a segment away from both rays
            mid = (x + end - 1) // 2
            t = _distance(SHAPE_CLOCK, (mid + 0.5) * sx, Y, cx, cy, p2, 0.0, 0.0) * inv_soft + 0.5
            if t <= 0.0:
                _copy_span(rd, ra, x, end)
            elif t >= 1.0:
                _copy_span(rd, rb, x, end)
            else:
                _mix_span(rd, ra, rb, x, end, SHAPE_CLOCK, Y, cx, cy, p2, 0.0, 0.0, sx, inv_soft)
            x = end
        if i < n and hi[i] > x:
            _mix_span(rd, ra, rb, x, hi[i], SHAPE_CLOCK, Y, cx, cy, p2, 0.0, 0.0, sx, inv_soft)
            x = hi[i]


@jit
def _reveal_mix(dst, a, b, shape, p0, p1, p2, p3, p4, sx, sy, inv_soft):
    h, w = dst.shape
    half = 0.5 / inv_soft
    for y in range(h):
        Y = (y + 0.5) * sy
        ra = a[y]
        rb = b[y]
        rd = dst[y]
        if shape == SHAPE_BLINDS:  # depends on Y only: one weight per row
            t = _distance(shape, 0.5 * sx, Y, p0, p1, p2, p3, p4) * inv_soft + 0.5
            if t <= 0.0:
                _copy_span(rd, ra, 0, w)
            elif t >= 1.0:
                _copy_span(rd, rb, 0, w)
            else:
                _mix_span(rd, ra, rb, 0, w, shape, Y, p0, p1, p2, p3, p4, sx, inv_soft)
            continue
        if shape == SHAPE_CLOCK:
            _clock_row(rd, ra, rb, w, Y, p0, p1, p2, sx, inv_soft)
            continue
        # concave distance along the row: A outside `outer`, B inside `inner`, ramp between
        lo, hi = _interval(shape, Y, -half, p0, p1, p2, p3, p4)
        oa, ob = _px_range(lo, hi, sx, w, False)
        lo, hi = _interval(shape, Y, half, p0, p1, p2, p3, p4)
        ia, ib = _px_range(lo, hi, sx, w, True)
        if ia >= ib:
            ia = ib = oa
        ia, ib = max(ia, oa), min(ib, ob)
        if ia > ib:
            ia = ib = oa
        _copy_span(rd, ra, 0, oa)
        _mix_span(rd, ra, rb, oa, ia, shape, Y, p0, p1, p2, p3, p4, sx, inv_soft)
        _copy_span(rd, rb, ia, ib)
        _mix_span(rd, ra, rb, ib, ob, shape, Y, p0, p1, p2, p3, p4, sx, inv_soft)
        _copy_span(rd, ra, ob, w)
