"""Pixel kernels: arrays in, buffer out, no knowledge of clips or time (pure, no I/O).

Every public function validates its arguments once and raises ``ValueError``; the
work is done by a private Numba function (``nogil``, cached) that allocates and
raises nothing per pixel.  Planes are 2-D uint8 arrays with column stride 1 (rows may
be padded), composited one plane at a time (Y, then U and V at half resolution).
"""

from .blit import blend_region, copy_region
from .blur import box_blur, downsample2x, gauss_box_radii, gaussian_like_blur
from .colour import rgb_to_yuv420_into, rgb_to_yuv709, rgba_to_yuva420, rgba_to_yuva420_into, yuv420_to_rgb
from .crossfade import crossfade
from .fill import fill, fill_blend
from .warp import warp_blend

__all__ = [
    "blend_region",
    "box_blur",
    "copy_region",
    "crossfade",
    "downsample2x",
    "fill",
    "fill_blend",
    "gauss_box_radii",
    "gaussian_like_blur",
    "rgb_to_yuv420_into",
    "rgb_to_yuv709",
    "rgba_to_yuva420",
    "rgba_to_yuva420_into",
    "warp_blend",
    "yuv420_to_rgb",
]
