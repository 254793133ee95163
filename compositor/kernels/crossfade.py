"""Per-pixel linear crossfade of two planes (pure, no I/O).

``dst = round(a + (b − a)·p)``: p = 0 gives exactly ``a``, p = 1 exactly ``b``.
Used for dissolve transitions, plane by plane.
"""

from __future__ import annotations

from ._jit import check_plane, check_same_shape, check_unit, jit

__all__ = ["crossfade"]


def crossfade(dst, a, b, p) -> None:
    """Write ``round(a + (b − a)·p)`` into ``dst``.

    dst, a, b: uint8 planes of one shape, column stride 1; ``dst`` may be ``a`` or ``b``.
    p: progress in [0, 1].
    """
    check_plane("dst", dst, writable=True)
    check_plane("a", a)
    check_plane("b", b)
    check_same_shape("dst, a and b", dst, a, b)
    _crossfade(dst, a, b, check_unit("p", p))


@jit
def _crossfade(dst, a, b, p):
    h, w = dst.shape
    for y in range(h):
        ra = a[y]
        rb = b[y]
        rd = dst[y]
        for x in range(w):
            va = float(ra[x])
            # a + (b − a)·p lies between a and b, so it needs no clamp
            rd[x] = int(va + (float(rb[x]) - va) * p + 0.5)
