"""Load a still image as straight-alpha RGBA uint8 (I/O).

* Formats: PNG, JPEG (incl. MPO), WebP, BMP, GIF (first frame), TIFF, sniffed by content.
* The EXIF orientation is applied (read as ``ImageOps.exif_transpose`` reads it), so the result is in
  display orientation and :class:`~compositor.media.probe.MediaInfo` reports
  ``rotation=0`` for stills.
* Pixel limit: ``Image.open`` only reads the header, so the size is checked against
  ``max_pixels`` *before* any pixel is decoded; an image over the limit raises
  :class:`MediaError`.  Pillow's process-wide ``Image.MAX_IMAGE_PIXELS`` is never
  modified: it stays an outer bound (Pillow refuses images over twice that number and
  those surface as MediaError too), so the effective limit is
  ``min(max_pixels, 2 * Image.MAX_IMAGE_PIXELS)``.
* Modes: P / PA (palette, tRNS transparency), L / LA / 1, RGB, CMYK, YCbCr become RGBA
  through Pillow; 16-bit grey (``I;16*`` / ``I``) is scaled to 8 bits (Pillow's own
  ``convert`` would clip it), ``F`` is clipped to 0..255.
* Colour management (ICC profiles) is not applied: pixels are taken as sRGB.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from compositor.errors import MediaError
from compositor.media.probe import STILL_FORMATS

__all__ = ["load_still", "open_still", "decoding", "orientation_transpose", "DEFAULT_MAX_PIXELS", "to_rgba"]

#: default per-call pixel limit (≈ 10k × 10k)
DEFAULT_MAX_PIXELS = 100_000_000


@contextmanager
def open_still(
    path: str, max_pixels: int = DEFAULT_MAX_PIXELS, *, on_size: Callable[[int, int], None] | None = None
) -> Iterator[Image.Image]:
    """The opened (header only, not yet decoded) Pillow image of ``path``, closed on exit.

    ``on_size(width, height)`` is called with the header's size before any pixel is
    decoded (a budget may raise there); an image over ``max_pixels`` raises MediaError."""
    try:
        im = Image.open(path, formats=STILL_FORMATS)
    except FileNotFoundError as e:
        raise MediaError("image file not found", path) from e
    except Image.DecompressionBombError as e:
        raise MediaError(f"image too large ({e})", path) from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise MediaError(f"not a readable image ({e})", path) from e
    with im:
        w, h = im.size
        if w <= 0 or h <= 0:
            raise MediaError(f"image has an empty size {w}x{h}", path)
        if on_size is not None:
            on_size(w, h)
        if w * h > max_pixels:
            raise MediaError(f"image is {w}x{h} = {w * h} pixels, over the limit of {max_pixels}", path)
        yield im


@contextmanager
def decoding(path: str) -> Iterator[None]:
    """Turn Pillow's decoding errors (truncated or corrupt data, bombs) into MediaError."""
    try:
        yield
    except Image.DecompressionBombError as e:
        raise MediaError(f"image too large ({e})", path) from e
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise MediaError(f"cannot decode image ({e})", path) from e


def orientation_transpose(im: Image.Image) -> Image.Transpose | None:
    """The transposition that brings a *loaded* image into display orientation (its EXIF
    orientation, as ``ImageOps.exif_transpose`` reads it), or None."""
    orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
    return _ORIENTATION_TRANSPOSE.get(orientation) if isinstance(orientation, int) else None


_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def load_still(
    path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS, *, on_size: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Decode ``path`` to a C-contiguous (h, w, 4) uint8 RGBA array in display orientation.

    ``on_size(width, height)`` is called with the header's size before any pixel is decoded
    (a budget may raise there)."""
    path = os.fspath(path)
    with open_still(path, max_pixels, on_size=on_size) as im, decoding(path):
        im.load()
        method = orientation_transpose(im)
        return to_rgba(im.transpose(method) if method is not None else im)


def to_rgba(im: Image.Image) -> np.ndarray:
    """Any Pillow image → owned, C-contiguous (h, w, 4) uint8 straight-alpha RGBA."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        g = np.asarray(im).astype(np.int64)
        g = np.clip(g, 0, 65535)
        g8 = ((g * 255 + 32767) // 65535).astype(np.uint8)
        return _gray_to_rgba(g8)
    if mode == "F":
        g8 = np.clip(np.rint(np.asarray(im, dtype=np.float64)), 0, 255).astype(np.uint8)
        return _gray_to_rgba(g8)
    if mode != "RGBA":
        if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            im = im.convert("RGB")
        im = im.convert("RGBA")
    arr = np.array(im, dtype=np.uint8, copy=True)
    if arr.ndim != 3 or arr.shape[2] != 4:
        raise ValueError(f"unexpected RGBA array shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _gray_to_rgba(g8: np.ndarray) -> np.ndarray:
    out = np.empty(g8.shape + (4,), np.uint8)
    out[..., 0] = g8
    out[..., 1] = g8
    out[..., 2] = g8
    out[..., 3] = 255
    return out
