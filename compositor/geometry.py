"""2-D affine transforms in pixel space (pure).

Coordinates are continuous pixel coordinates, origin at the top-left corner of the image,
y growing down, pixel centres at +0.5. ``Affine(a, b, c, d, e, f)`` maps (x, y) to
(a·x + b·y + c, d·x + e·y + f).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Affine:
    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    e: float = 1.0
    f: float = 0.0

    @staticmethod
    def translate(tx: float, ty: float) -> "Affine":
        return Affine(1.0, 0.0, tx, 0.0, 1.0, ty)

    @staticmethod
    def scale(sx: float, sy: float | None = None) -> "Affine":
        return Affine(sx, 0.0, 0.0, 0.0, sx if sy is None else sy, 0.0)

    @staticmethod
    def rotate_cw(degrees: float) -> "Affine":
        """Clockwise rotation on screen (y down) about the origin."""
        r = math.radians(degrees)
        c, s = math.cos(r), math.sin(r)
        # Snap the values that multiples of 90° should give exactly.
        c, s = _snap(c), _snap(s)
        return Affine(c, -s, 0.0, s, c, 0.0)

    def then(self, other: "Affine") -> "Affine":
        """The transform that applies ``self`` first, then ``other``."""
        o = other
        return Affine(
            o.a * self.a + o.b * self.d,
            o.a * self.b + o.b * self.e,
            o.a * self.c + o.b * self.f + o.c,
            o.d * self.a + o.e * self.d,
            o.d * self.b + o.e * self.e,
            o.d * self.c + o.e * self.f + o.f,
        )

    def inverse(self) -> "Affine":
        det = self.a * self.e - self.b * self.d
        if det == 0:
            raise ZeroDivisionError("singular transform")
        ia, ib, id_, ie = self.e / det, -self.b / det, -self.d / det, self.a / det
        return Affine(ia, ib, -(ia * self.c + ib * self.f), id_, ie, -(id_ * self.c + ie * self.f))

    def apply(self, x: float, y: float) -> tuple[float, float]:
        return self.a * x + self.b * y + self.c, self.d * x + self.e * y + self.f

    @property
    def determinant(self) -> float:
        return self.a * self.e - self.b * self.d

    def is_axis_aligned(self) -> bool:
        return self.b == 0.0 and self.d == 0.0

    def rows(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        return (self.a, self.b, self.c), (self.d, self.e, self.f)

    def halved(self) -> "Affine":
        """The same mapping between two images that are both subsampled by 2 (chroma planes)."""
        return Affine(self.a, self.b, self.c / 2.0, self.d, self.e, self.f / 2.0)

    def bounds(self, width: float, height: float) -> tuple[float, float, float, float]:
        """Bounding box (x0, y0, x1, y1) of the image rectangle [0,w]×[0,h] after the map."""
        pts = [self.apply(x, y) for x, y in ((0, 0), (width, 0), (0, height), (width, height))]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        return min(xs), min(ys), max(xs), max(ys)


def _snap(v: float) -> float:
    for target in (-1.0, 0.0, 1.0):
        if abs(v - target) < 1e-12:
            return target
    return v


def pixel_box(
    bounds: tuple[float, float, float, float], width: int, height: int, margin: int = 1
) -> tuple[int, int, int, int] | None:
    """Integer destination box covering ``bounds`` (+ margin for filtering), clipped to the image."""
    x0 = max(0, math.floor(bounds[0]) - margin)
    y0 = max(0, math.floor(bounds[1]) - margin)
    x1 = min(width, math.ceil(bounds[2]) + margin)
    y1 = min(height, math.ceil(bounds[3]) + margin)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def metadata_rotation(coded_w: int, coded_h: int, degrees_cw: int) -> Affine:
    """Map coded frame coordinates to display coordinates for a container rotation tag."""
    r = degrees_cw % 360
    if r == 0:
        return Affine()
    if r == 90:
        return Affine(0.0, -1.0, float(coded_h), 1.0, 0.0, 0.0)
    if r == 180:
        return Affine(-1.0, 0.0, float(coded_w), 0.0, -1.0, float(coded_h))
    if r == 270:
        return Affine(0.0, 1.0, 0.0, -1.0, 0.0, float(coded_w))
    raise ValueError(f"rotation metadata must be a multiple of 90°, got {degrees_cw}")
