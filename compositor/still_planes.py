"""Decode a still image file into YUV(A) 4:2:0 planes (I/O).

Opaque images (modes RGB, L, CMYK, YCbCr without a transparency key: every JPEG photo)
go straight from Pillow's decoded image to Y, U, V planes in bands of
:data:`BAND_ROWS` rows, each band cropped, put into display orientation and converted on
its own (:func:`~compositor.kernels.rgb_to_yuv420_into`): no RGBA copy, no alpha planes,
and the only full-size buffers are Pillow's image and the planes.  Other images (alpha,
palettes, 16-bit grey) go through straight-alpha RGBA
(:func:`~compositor.media.still.load_still`'s conversion); their alpha is dropped when it
is fully opaque.  Both paths give the same bytes for the same picture.

:func:`defer_still` reads only the header of a JPEG photo: its display size is known
without decoding, and it is opaque, so the catalogue can hand the timeline its facts and
leave the decoding to the picture pool, shortly before the photo is drawn
(:class:`DeferredStill`).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image

from .errors import MediaError
from .kernels import rgb_to_yuv420_into, rgba_to_yuva420
from .media.planes import Planes
from .media.still import DEFAULT_MAX_PIXELS, decoding, open_still, orientation_transpose, to_rgba

__all__ = ["load_still_planes", "still_planes", "defer_still", "DeferredStill", "BAND_ROWS"]

#: rows converted at a time on the opaque path (even: a band holds whole 2×2 chroma blocks)
BAND_ROWS = 128

#: Pillow modes whose pixels are opaque (unless ``info["transparency"]`` names a colour key)
_OPAQUE_MODES = frozenset({"RGB", "L", "CMYK", "YCbCr"})

# transpositions that swap width and height
_SWAPS_SIDES = frozenset(
    {Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE}
)


def still_planes(rgba: np.ndarray) -> Planes:
    """YUVA 4:2:0 planes of an RGBA still; alpha dropped when fully opaque."""
    y, u, v, a, a_half = rgba_to_yuva420(rgba)
    if bool((a == 255).all()):
        return Planes(y, u, v)
    return Planes(y, u, v, a, a_half)


def load_still_planes(
    path: str | os.PathLike,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    on_size: Callable[[int, int], None] | None = None,
    admit: Callable[[int], AbstractContextManager] | None = None,
) -> Planes:
    """Decode ``path`` into planes in display orientation (MediaError if it cannot be).

    ``on_size(width, height)`` is called with the header's size before any pixel is decoded
    (a budget may raise there). ``admit(pixels)`` is entered around the decoding (e.g. a
    :class:`~compositor.pixel_gate.PixelGate` that bounds the pixels being decoded at once)."""
    path = os.fspath(path)
    with open_still(path, max_pixels, on_size=on_size) as im:
        w, h = im.size
        with admit(w * h) if admit is not None else nullcontext(), decoding(path):
            im.load()
            method = orientation_transpose(im)
            if im.mode in _OPAQUE_MODES and "transparency" not in im.info:
                return _opaque_planes(im, method)
            rgba = to_rgba(im.transpose(method) if method is not None else im)
            im.close()  # the decoded image is no longer needed: free it before converting
            return still_planes(rgba)


@dataclass(frozen=True, slots=True)
class DeferredStill:
    """An opaque photo whose header was read (display ``width`` × ``height``) and whose
    pixels are decoded on demand by :meth:`decode`."""

    path: str
    width: int
    height: int
    max_pixels: int = DEFAULT_MAX_PIXELS

    def decode(self) -> Planes:
        """The planes (MediaError if the file cannot be decoded or no longer matches its header)."""
        planes = load_still_planes(self.path, self.max_pixels)
        if (planes.width, planes.height, planes.a is None) != (self.width, self.height, True):
            raise MediaError(
                f"image changed since it was opened ({planes.width}x{planes.height}, "
                f"{'opaque' if planes.a is None else 'with alpha'}; was {self.width}x{self.height}, opaque)",
                self.path,
            )
        return planes


def defer_still(
    path: str | os.PathLike,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    on_size: Callable[[int, int], None] | None = None,
) -> DeferredStill | None:
    """A :class:`DeferredStill` when the header says all the timeline needs (a JPEG in an
    opaque mode: its EXIF orientation is in the header too), else None (decode it now).
    Raises like :func:`load_still_planes` for what the header shows (unreadable, too large)."""
    path = os.fspath(path)
    with open_still(path, max_pixels, on_size=on_size) as im, decoding(path):
        if im.format not in ("JPEG", "MPO") or im.mode not in _OPAQUE_MODES or "transparency" in im.info:
            return None
        w, h = im.size
        if orientation_transpose(im) in _SWAPS_SIDES:
            w, h = h, w
        return DeferredStill(path, w, h, max_pixels)


def _opaque_planes(im: Image.Image, method: Image.Transpose | None) -> Planes:
    w, h = im.size
    if method in _SWAPS_SIDES:
        w, h = h, w
    cw, ch = (w + 1) // 2, (h + 1) // 2
    y, u, v = np.empty((h, w), np.uint8), np.empty((ch, cw), np.uint8), np.empty((ch, cw), np.uint8)
    for y0 in range(0, h, BAND_ROWS):
        y1 = min(y0 + BAND_ROWS, h)
        band = im.crop(_source_box(method, y0, y1, im.size))
        if method is not None:
            band = band.transpose(method)
        if band.mode != "RGB":
            band = band.convert("RGB")
        c0, c1 = y0 // 2, (y1 + 1) // 2
        rgb_to_yuv420_into(np.asarray(band), y[y0:y1], u[c0:c1], v[c0:c1])
    return Planes(y, u, v)


def _source_box(method: Image.Transpose | None, y0: int, y1: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The box of the stored image that becomes display rows [y0, y1) after ``method``."""
    w, h = size
    if method is None or method == Image.Transpose.FLIP_LEFT_RIGHT:
        return 0, y0, w, y1
    if method in (Image.Transpose.ROTATE_180, Image.Transpose.FLIP_TOP_BOTTOM):
        return 0, h - y1, w, h - y0
    if method in (Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270):
        return y0, 0, y1, h  # display rows are stored columns, in order
    return w - y1, 0, w - y0, h  # ROTATE_90, TRANSVERSE: stored columns from the right
