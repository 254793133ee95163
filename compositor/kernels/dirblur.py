"""One-directional box blur of a plane (pure, no I/O): motion / directional blur.

``directional_blur(src, dst, radius, axis, tmp)``: the mean of the ``2·radius + 1`` pixels
along rows (axis 1, horizontal) or columns (axis 0, vertical), edges repeated, rounded half
up, as a running sum (cost does not depend on the radius).  ``passes`` repeats it (two or
three passes approach a Gaussian along that axis).  ``dst`` may be ``src``.
"""

from __future__ import annotations


from ._jit import check_int, jit
from .blur import _blur_cols, _blur_rows, check_blur_args, check_radius

__all__ = ["directional_blur"]


def directional_blur(src, dst, radius, axis, tmp, passes=1) -> None:
    """Box-blur ``src`` along ``axis`` (1 = horizontal, 0 = vertical) into ``dst``.

    src, dst, tmp: uint8 planes of one shape; tmp is scratch overlapping neither.
    radius: int >= 0 (0 copies); passes: 1..8.
    """
    check_blur_args(src, dst, tmp)
    r = check_radius(radius)
    ax = check_int("axis", axis)
    if ax not in (0, 1):
        raise ValueError(f"axis must be 0 or 1, got {axis!r}")
    n = check_int("passes", passes)
    if not 1 <= n <= 8:
        raise ValueError(f"passes must be in 1..8, got {passes!r}")
    if not src.size:
        return
    cur = src
    for _ in range(n):
        if ax == 1:
            _blur_rows(cur, tmp, r)
        else:
            _blur_cols(cur, tmp, r)
        _copy(tmp, dst)
        cur = dst


@jit
def _copy(src, dst):
    h, w = src.shape
    for y in range(h):
        for x in range(w):
            dst[y, x] = src[y, x]
