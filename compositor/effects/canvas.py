"""Canvas family (pure data): the registry entries of the backgrounds behind the bottom track.

The background itself is resolved in :mod:`compositor.resolve` and drawn by the
compositor (:mod:`compositor.pixels.compose`; ``FillOp`` / ``BlurFillOp``).
"""

from __future__ import annotations

from ..registry import Entry

ENTRIES = (
    Entry("canvas", "canvas_color", "fill", note="solid colour behind the bottom track"),
    Entry(
        "canvas",
        "canvas_blur",
        "blur_fill",
        note="the clip's own picture, cover-scaled and Gaussian-blurred (radius uncalibrated)",
    ),
    Entry("canvas", "canvas_image", "image_fill", note="an image, cover-scaled behind the bottom track"),
)
