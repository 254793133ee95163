"""Constant-value fills of one plane inside a box (pure, no I/O).

Used for solid backgrounds and colour layers: convert the colour once with
``colour.rgb_to_yuv709`` and fill each plane with its component.
"""

from __future__ import annotations

import numpy as np

from ._jit import check_plane, check_u8, check_unit, clip_box, jit

__all__ = ["fill", "fill_blend"]


def fill(dst, value, box) -> None:
    """Set every pixel of ``dst`` inside ``box = (x0, y0, x1, y1)`` to ``value`` (0..255)."""
    check_plane("dst", dst, writable=True)
    v = check_u8("value", value)
    x0, y0, x1, y1 = clip_box(box, dst.shape)
    if x0 < x1 and y0 < y1:
        _fill(dst, v, x0, y0, x1, y1)


def fill_blend(dst, value, alpha, box) -> None:
    """Composite a constant ``value`` (0..255) at opacity ``alpha`` (0..1) over ``dst`` in ``box``.

    ``dst = round(alpha·value + (1 − alpha)·dst)``; alpha 1 is :func:`fill`, alpha 0 is a no-op.
    """
    check_plane("dst", dst, writable=True)
    v = check_u8("value", value)
    a = check_unit("alpha", alpha)
    x0, y0, x1, y1 = clip_box(box, dst.shape)
    if a == 0.0 or x0 >= x1 or y0 >= y1:
        return
    if a == 1.0:
        _fill(dst, v, x0, y0, x1, y1)
    else:
        _fill_blend(dst, v, a, x0, y0, x1, y1)


@jit
def _fill(dst, value, x0, y0, x1, y1):
    v = np.uint8(value)
    for y in range(y0, y1):
        row = dst[y, x0:x1]
        for i in range(x1 - x0):
            row[i] = v


@jit
def _fill_blend(dst, value, alpha, x0, y0, x1, y1):
    add = alpha * value
    keep = 1.0 - alpha
    for y in range(y0, y1):
        row = dst[y, x0:x1]
        for i in range(x1 - x0):
            # convex combination of two bytes: in [0, 255], no clamp needed
            row[i] = int(add + keep * row[i] + 0.5)
