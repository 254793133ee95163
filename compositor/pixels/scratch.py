"""Reusable scratch pictures for the compositor's effects (pixels, no I/O).

Transitions, filters and blend modes need temporary YUV 4:2:0 pictures (a blurred copy,
the incoming clip moved aside …). :class:`Scratch` hands out named pictures of a given
size, allocating each once and reusing it for every later frame, so memory stays flat.
"""

from __future__ import annotations

import numpy as np

from ..kernels import copy_region
from ..media.planes import Planes
from .yuv import BLACK_YUV


def new_planes(width: int, height: int, *, alpha: bool = False) -> Planes:
    cw, ch = (width + 1) // 2, (height + 1) // 2
    return Planes(
        np.zeros((height, width), np.uint8),
        np.zeros((ch, cw), np.uint8),
        np.zeros((ch, cw), np.uint8),
        np.zeros((height, width), np.uint8) if alpha else None,
        np.zeros((ch, cw), np.uint8) if alpha else None,
    )


class Scratch:
    """Named, lazily allocated pictures (and single planes) reused across frames."""

    def __init__(self):
        self._pictures: dict[tuple[str, int, int, bool], Planes] = {}  # (name, width, height, alpha)
        self._planes: dict[tuple[str, int, int], np.ndarray] = {}  # (name, width, height)

    def picture(self, name: str, width: int, height: int, *, alpha: bool = False) -> Planes:
        key = (name, width, height, alpha)
        p = self._pictures.get(key)
        if p is None:
            p = self._pictures[key] = new_planes(width, height, alpha=alpha)
        return p

    def plane(self, name: str, width: int, height: int) -> np.ndarray:
        """A single ``height × width`` uint8 plane (width first, as for :meth:`picture`)."""
        key = (name, width, height)
        p = self._planes.get(key)
        if p is None:
            p = self._planes[key] = np.zeros((height, width), np.uint8)
        return p

    def plane_like(self, name: str, like: np.ndarray) -> np.ndarray:
        """A single plane of the same shape as ``like``."""
        height, width = like.shape
        return self.plane(name, width, height)

    def copy_of(self, name: str, src: Planes) -> Planes:
        """A scratch picture holding a copy of ``src``'s Y, U and V."""
        dst = self.picture(name, src.width, src.height)
        for d, s in ((dst.y, src.y), (dst.u, src.u), (dst.v, src.v)):
            copy_region(d, s, 0, 0)
        return dst

    def black(self, name: str, width: int, height: int) -> Planes:
        """A scratch picture filled with black (Y 16, U V 128)."""
        p = self.picture(name, width, height)
        for plane, value in zip((p.y, p.u, p.v), BLACK_YUV):
            plane.fill(value)
        return p
