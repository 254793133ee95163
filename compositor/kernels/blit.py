"""Integer-offset copy and constant-opacity blend of a whole plane (pure, no I/O).

The fast path for an opaque, unscaled, integer-positioned layer (typically a
full-frame video): no resampling, no alpha plane.  ``src`` lands with its top-left
pixel at ``(dx, dy)`` in ``dst``; whatever falls outside either array is clipped::

        dst ┌──────────────────┐
            │ (dx,dy)          │
            │    ┌─────────┐   │
            │    │   src   │   │     copy:  dst = src
            │    └─────────┘   │     blend: dst = round(op·src + (1 − op)·dst)
            └──────────────────┘
"""

from __future__ import annotations

from ._jit import check_disjoint, check_int, check_plane, check_unit, jit

__all__ = ["copy_region", "blend_region"]


def clip_offset(dst_shape, src_shape, dx: int, dy: int):
    """Overlap of ``src`` placed at ``(dx, dy)`` with ``dst``.

    Returns ``(x0, y0, x1, y1, sx0, sy0)`` (destination rectangle and the source pixel
    that lands on its top-left corner) or None when they do not overlap.
    """
    h, w = dst_shape
    sh, sw = src_shape
    x0, y0 = max(dx, 0), max(dy, 0)
    x1, y1 = min(dx + sw, w), min(dy + sh, h)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1, x0 - dx, y0 - dy


def copy_region(dst, src, dx, dy) -> None:
    """Copy ``src`` into ``dst`` with its top-left at integer ``(dx, dy)``, clipped.

    dst: uint8 (h, w), writable, column stride 1.  src: uint8 (sh, sw), column stride 1,
    not overlapping dst.
    """
    check_plane("dst", dst, writable=True)
    check_plane("src", src)
    check_disjoint("src and dst", src, dst)
    r = clip_offset(dst.shape, src.shape, check_int("dx", dx), check_int("dy", dy))
    if r is not None:
        _copy_region(dst, src, *r)


def blend_region(dst, src, dx, dy, opacity) -> None:
    """Blend ``src`` over ``dst`` at integer ``(dx, dy)`` with constant ``opacity`` in [0, 1].

    ``dst = round(opacity·src + (1 − opacity)·dst)`` on the overlap; opacity 1 is a copy,
    opacity 0 changes nothing.
    """
    check_plane("dst", dst, writable=True)
    check_plane("src", src)
    check_disjoint("src and dst", src, dst)
    op = check_unit("opacity", opacity)
    r = clip_offset(dst.shape, src.shape, check_int("dx", dx), check_int("dy", dy))
    if r is None or op == 0.0:
        return
    if op == 1.0:
        _copy_region(dst, src, *r)
    else:
        _blend_region(dst, src, *r, op)


@jit
def _copy_region(dst, src, x0, y0, x1, y1, sx0, sy0):
    n = x1 - x0
    for y in range(y0, y1):
        drow = dst[y, x0:x1]
        srow = src[sy0 + y - y0, sx0 : sx0 + n]
        for i in range(n):
            drow[i] = srow[i]


@jit
def _blend_region(dst, src, x0, y0, x1, y1, sx0, sy0, opacity):
    n = x1 - x0
    keep = 1.0 - opacity
    for y in range(y0, y1):
        drow = dst[y, x0:x1]
        srow = src[sy0 + y - y0, sx0 : sx0 + n]
        for i in range(n):
            # convex combination of two bytes: always in [0, 255], so no clamp needed
            drow[i] = int(opacity * srow[i] + keep * drow[i] + 0.5)
