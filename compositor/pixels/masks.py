"""Mask family, pixels: the alpha plane of a :class:`compositor.effects.masks.MaskSpec`.

The geometry (a matrix from cropped source pixels to mask-local pixels, sizes, feather) is
resolved in :mod:`compositor.effects.masks`; this module only draws it.
"""

from __future__ import annotations

import numpy as np

from ..effects.masks import MaskSpec
from ..kernels import downsample2x
from ..kernels.mask import MASK_ELLIPSE, MASK_HEART, MASK_LINE, MASK_MIRROR, MASK_RECT, MASK_STAR, mask_alpha

# Kernel shape code of each implementation key of compositor.effects.masks.ENTRIES.
SHAPES = {
    "line": MASK_LINE,
    "mirror": MASK_MIRROR,
    "circle": MASK_ELLIPSE,
    "rectangle": MASK_RECT,
    "heart": MASK_HEART,
    "star": MASK_STAR,
}


def render_mask(spec: MaskSpec, a: np.ndarray, a_half: np.ndarray, base: np.ndarray | None = None) -> None:
    """Write the mask's alpha (× the picture's own alpha ``base``) into ``a`` and its 2×2
    block mean into ``a_half`` (the chroma-resolution alpha)."""
    m = spec.local
    mask_alpha(
        a,
        SHAPES[spec.impl],
        ((m.a, m.b, m.c), (m.d, m.e, m.f)),
        spec.hw,
        spec.hh,
        spec.feather,
        radius=spec.radius,
        invert=spec.invert,
        base=base,
    )
    downsample2x(a, a_half)
