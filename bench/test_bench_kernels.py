"""Per-call timings of the pixel kernels at 1920×1080 (pytest-benchmark).

Not part of the default test run (``testpaths = ["tests"]``); run with::

    pytest bench/test_bench_kernels.py --benchmark-only

Destination planes are row-padded views (``big[:, :w]``) like FFmpeg frame buffers.
Each benchmark times one call on one plane unless its name says ``yuv420`` (Y + U + V).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from compositor import kernels as K

W, H = 1920, 1080
RNG = np.random.default_rng(1234)


def padded(h, w, pad=64):
    """Random (h, w) uint8 plane whose rows are ``pad`` bytes longer than its width."""
    return RNG.integers(0, 256, (h, w + pad), dtype=np.uint8)[:, :w]


def plane(h, w):
    return RNG.integers(0, 256, (h, w), dtype=np.uint8)


def scale_about(s, dst_x, dst_y):
    """Inverse of: scale by ``s`` and put the source's top-left at (dst_x, dst_y)."""
    return np.array([[1 / s, 0.0, -dst_x / s], [0.0, 1 / s, -dst_y / s]])


@pytest.fixture(scope="module")
def frame():
    return {"y": padded(H, W), "u": padded(H // 2, W // 2), "v": padded(H // 2, W // 2)}


@pytest.fixture(scope="module")
def source():
    return {"y": plane(H, W), "u": plane(H // 2, W // 2), "v": plane(H // 2, W // 2)}


def test_warp_full_frame_identity(benchmark, frame, source):
    """Identity matrix: the wrapper takes its exact integer-translation copy path."""
    benchmark(K.warp_blend, frame["y"], source["y"], None, np.eye(2, 3), 1.0, (0, 0, W, H))


def test_warp_full_frame_subpixel_bilinear(benchmark, frame, source):
    """Same full frame through the general bilinear loop (a quarter-pixel shift)."""
    inv = np.array([[1.0, 0.0, 0.25], [0.0, 1.0, 0.25]])
    benchmark(K.warp_blend, frame["y"], source["y"], None, inv, 1.0, (0, 0, W, H))


def test_warp_full_frame_rotated_5deg_with_opacity(benchmark, frame, source):
    c, s = math.cos(math.radians(5)), math.sin(math.radians(5))
    inv = np.array([[c, s, -20.0], [-s, c, 80.0]])
    benchmark(K.warp_blend, frame["y"], source["y"], None, inv, 0.8, (0, 0, W, H))


PIP_S, PIP_X, PIP_Y = 0.4, 1056, 594  # 768×432 in the bottom-right corner


def test_warp_pip_40_percent(benchmark, frame, source):
    box = (PIP_X, PIP_Y, PIP_X + int(W * PIP_S), PIP_Y + int(H * PIP_S))
    benchmark(K.warp_blend, frame["y"], source["y"], None, scale_about(PIP_S, PIP_X, PIP_Y), 1.0, box)


def test_warp_pip_40_percent_yuv420(benchmark, frame, source):
    box = (PIP_X, PIP_Y, PIP_X + int(W * PIP_S), PIP_Y + int(H * PIP_S))
    cbox = (box[0] // 2, box[1] // 2, (box[2] + 1) // 2, (box[3] + 1) // 2)
    inv, cinv = scale_about(PIP_S, PIP_X, PIP_Y), scale_about(PIP_S, PIP_X / 2, PIP_Y / 2)

    def pip():
        K.warp_blend(frame["y"], source["y"], None, inv, 1.0, box)
        K.warp_blend(frame["u"], source["u"], None, cinv, 1.0, cbox)
        K.warp_blend(frame["v"], source["v"], None, cinv, 1.0, cbox)

    benchmark(pip)


@pytest.fixture(scope="module")
def logo():
    rgba = RNG.integers(0, 256, (300, 300, 4), dtype=np.uint8)
    return K.rgba_to_yuva420(rgba)


def test_warp_logo_300_rgba(benchmark, frame, logo):
    """300×300 RGBA logo (Y plane + alpha) at an integer position."""
    y, _, _, a, _ = logo
    inv = np.array([[1.0, 0.0, -1560.0], [0.0, 1.0, -60.0]])
    benchmark(K.warp_blend, frame["y"], y, a, inv, 1.0, (1560, 60, 1860, 360))


def test_warp_logo_300_rgba_rotated_yuv420(benchmark, frame, logo):
    """Same logo rotated 30° and scaled 1.2, all three planes."""
    y, u, v, a, a_half = logo
    th, s = math.radians(30), 1.2
    c, sn = math.cos(th) / s, math.sin(th) / s
    cx, cy = 1700.0, 220.0  # logo centre on the canvas

    def inv_for(k):  # k = 1 for luma, 2 for chroma
        return np.array([[c, sn, 150 / k - c * cx / k - sn * cy / k], [-sn, c, 150 / k + sn * cx / k - c * cy / k]])

    r = int(150 * s * math.sqrt(2)) + 2
    box = (int(cx) - r, int(cy) - r, int(cx) + r, int(cy) + r)
    cbox = tuple(b // 2 for b in box)
    inv1, inv2 = inv_for(1), inv_for(2)

    def logo_frame():
        K.warp_blend(frame["y"], y, a, inv1, 1.0, box)
        K.warp_blend(frame["u"], u, a_half, inv2, 1.0, cbox)
        K.warp_blend(frame["v"], v, a_half, inv2, 1.0, cbox)

    benchmark(logo_frame)


def test_copy_region_full_frame(benchmark, frame, source):
    benchmark(K.copy_region, frame["y"], source["y"], 0, 0)


def test_blend_region_full_frame(benchmark, frame, source):
    benchmark(K.blend_region, frame["y"], source["y"], 0, 0, 0.5)


def test_crossfade_full_frame(benchmark, frame, source):
    a = padded(H, W)
    benchmark(K.crossfade, frame["y"], a, source["y"], 0.37)


def test_fill_full_frame(benchmark, frame):
    benchmark(K.fill, frame["y"], 16, (0, 0, W, H))


def test_fill_blend_full_frame(benchmark, frame):
    benchmark(K.fill_blend, frame["y"], 16, 0.5, (0, 0, W, H))


def test_rgba_to_yuva420_full_frame(benchmark):
    rgba = RNG.integers(0, 256, (H, W, 4), dtype=np.uint8)
    benchmark(K.rgba_to_yuva420, rgba)


def test_rgb_to_yuv420_into_full_frame(benchmark):
    """The opaque-photo path: RGB → Y, U, V without alpha planes (same bytes as above)."""
    rgb = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)
    y, u, v = np.empty((H, W), np.uint8), np.empty((H // 2, W // 2), np.uint8), np.empty((H // 2, W // 2), np.uint8)
    benchmark(K.rgb_to_yuv420_into, rgb, y, u, v)


def test_downsample2x_full_frame(benchmark, source):
    dst = np.empty((H // 2, W // 2), np.uint8)
    benchmark(K.downsample2x, source["y"], dst)


def test_gaussian_like_blur_quarter_res(benchmark):
    """Blurred-background plane at 1/4 resolution (480×270), sigma 10 px there."""
    src = plane(H // 4, W // 4)
    dst, tmp = np.empty_like(src), np.empty_like(src)
    benchmark(K.gaussian_like_blur, src, dst, 10.0, tmp)


def test_gaussian_like_blur_full_res(benchmark, source):
    """For comparison: the same blur on a full 1920×1080 plane."""
    dst, tmp = np.empty_like(source["y"]), np.empty_like(source["y"])
    benchmark(K.gaussian_like_blur, source["y"], dst, 10.0, tmp)


# A Ken Burns frame of the photo short (fixtures/shorts.py): a 4032×3024 photo's mip level 1
# (2016×1512) fitted to the 1080-wide portrait canvas at zoom 1.08 with a pan, Y + U + V. The
# separable path (what warp_blend runs for an opaque unrotated layer) against the per-pixel
# loop it replaced (same bytes), in the same run.
KB_W, KB_H = 1080, 1920
KB_S = 1080 / 2016 * 1.08  # destination pixels per mip-level pixel
KB_X, KB_Y = -43.2, 351.7


@pytest.fixture(scope="module")
def ken_burns():
    dst = {"y": padded(KB_H, KB_W), "u": padded(KB_H // 2, KB_W // 2), "v": padded(KB_H // 2, KB_W // 2)}
    src = {"y": plane(1512, 2016), "u": plane(756, 1008), "v": plane(756, 1008)}
    box = (0, int(KB_Y), KB_W, int(KB_Y + 1512 * KB_S) + 1)
    cbox = (0, box[1] // 2, KB_W // 2, (box[3] + 1) // 2)
    calls = [
        (dst["y"], src["y"], scale_about(KB_S, KB_X, KB_Y), box),
        (dst["u"], src["u"], scale_about(KB_S, KB_X / 2, KB_Y / 2), cbox),
        (dst["v"], src["v"], scale_about(KB_S, KB_X / 2, KB_Y / 2), cbox),
    ]
    return calls


def test_warp_ken_burns_1080x1920_yuv420_separable(benchmark, ken_burns):
    def frame():
        for d, s, inv, box in ken_burns:
            K.warp_blend(d, s, None, inv, 1.0, box)

    benchmark(frame)


def test_warp_ken_burns_1080x1920_yuv420_per_pixel_loop(benchmark, ken_burns):
    from compositor.kernels import warp as warp_mod

    def frame():
        for d, s, inv, (x0, y0, x1, y1) in ken_burns:
            (a00, a01, a02), (a10, a11, a12) = inv.tolist()
            warp_mod._warp_rows(d, s, s, False, a00, a01, a02, a10, a11, a12, 1.0, x0, y0, x1, y1, None)

    benchmark(frame)
