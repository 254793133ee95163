"""Pixel kernels against their NumPy twins (tests/naive.py), plus properties and hand-made pixels.

Exact equality on integer paths (copy, fill, identity warp, crossfade end points, blur,
downsample); at most 1 LSB where the kernel and the twin round floats differently.
Set KERNEL_EXAMPLES to change the number of hypothesis examples per test (e.g. lower
it when running with NUMBA_DISABLE_JIT=1).
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from compositor import kernels as K
from compositor.kernels import warp as warp_mod
from tests import naive

EXAMPLES = int(os.environ.get("KERNEL_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

sides = st.integers(1, 12)
opacities = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0))


def u8(shape):
    """uint8 arrays with every element drawn (no constant fill, which hides bugs here)."""
    return hnp.arrays(np.uint8, shape, fill=st.nothing())


@st.composite
def plane(draw, h=None, w=None):
    return draw(u8((h or draw(sides), w or draw(sides))))


@st.composite
def strided(draw, h, w):
    """A writable (h, w) uint8 view with padded rows: ``big[:, off:off + w]``; returns (big, view, off)."""
    off = draw(st.integers(0, 3))
    pad = draw(st.integers(0, 5))
    big = draw(u8((h, off + w + pad)))
    return big, big[:, off : off + w], off


def assert_outside_untouched(before, after, off, w):
    """Columns of ``big`` outside the view ``[off, off + w)`` must be unchanged."""
    np.testing.assert_array_equal(after[:, :off], before[:, :off])
    np.testing.assert_array_equal(after[:, off + w :], before[:, off + w :])


def assert_within(got, want, lsb):
    diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
    assert diff.size == 0 or diff.max() <= lsb, f"max diff {diff.max()} > {lsb} LSB\n{got}\n{want}"


@st.composite
def boxes(draw, h, w):
    """The whole plane half of the time, else boxes that may poke out on any side or be empty."""
    if draw(st.booleans()):
        return 0, 0, w, h
    x0 = draw(st.integers(-3, w))
    y0 = draw(st.integers(-3, h))
    return x0, y0, x0 + draw(st.integers(-1, w + 3)), y0 + draw(st.integers(-1, h + 3))


@st.composite
def offsets(draw, n):
    """Integer offsets, half/quarter pixels, and fractions just past a pixel edge."""
    fraction = draw(st.one_of(st.sampled_from([0.0, 0.5, 0.25, 0.0625, 0.9375]), st.floats(0, 1)))
    return draw(st.integers(-n, n)) + fraction


@st.composite
def aligned_matrices(draw):
    """Scales (up, down, flipped, nearly degenerate) and moves without rotation: the
    separable path of the warp."""
    scales = st.one_of(st.sampled_from([1.0, 0.5, 2.0, 0.25, 1.15, 1e-10]), st.floats(0.05, 6))
    sx = draw(scales) * draw(st.sampled_from([1, -1]))
    sy = draw(scales) * draw(st.sampled_from([1, -1]))
    return np.array([[sx, 0.0, draw(offsets(12))], [0.0, sy, draw(offsets(12))]])


@st.composite
def matrices(draw):
    """Inverse matrices: translations, 90° turns, rotations/scales/flips, arbitrary."""
    kind = draw(st.sampled_from(["translate", "quarter", "scale", "similarity", "general"]))
    t = st.floats(-8, 8, allow_nan=False)
    if kind == "scale":
        return draw(aligned_matrices())
    if kind == "translate":
        return np.array([[1, 0, draw(offsets(8))], [0, 1, draw(offsets(8))]])
    if kind == "quarter":  # 90° turns and flips: one coordinate is constant along each row
        c, s = [(1, 0), (0, 1), (-1, 0), (0, -1)][draw(st.integers(0, 3))]
        f = draw(st.sampled_from([1, -1]))
        return np.array([[c, -s, draw(offsets(12))], [f * s, f * c, draw(offsets(12))]])
    if kind == "similarity":
        th = draw(st.floats(-math.pi, math.pi))
        sx = draw(st.floats(0.2, 4)) * draw(st.sampled_from([1, -1]))
        sy = draw(st.floats(0.2, 4)) * draw(st.sampled_from([1, -1]))
        c, s = math.cos(th), math.sin(th)
        return np.array([[sx * c, -sy * s, draw(t)], [sx * s, sy * c, draw(t)]])
    return np.array([[draw(st.floats(-3, 3)) for _ in range(3)] for _ in range(2)])


@pytest.fixture(scope="module", autouse=True)
def warm_jit():
    """Compile (or load from cache) every kernel once through its public wrapper."""
    d = np.zeros((4, 4), np.uint8)
    s = np.ones((3, 3), np.uint8)
    K.warp_blend(d, s, s, [[0.9, 0.1, 0], [0.1, 0.9, 0]], 0.5, (0, 0, 4, 4))
    K.warp_blend(d, s, None, [[0.9, 0.1, 0], [0.1, 0.9, 0]], 0.5, (0, 0, 4, 4))
    K.copy_region(d, s, 1, 1)
    K.blend_region(d, s, 1, 1, 0.5)
    K.fill(d, 1, (0, 0, 2, 2))
    K.fill_blend(d, 1, 0.5, (0, 0, 2, 2))
    K.crossfade(d, d, d, 0.5)
    K.rgba_to_yuva420(np.zeros((3, 3, 4), np.uint8))
    K.yuv420_to_rgb(d, d[:2, :2], d[:2, :2])
    K.gaussian_like_blur(d, d, 1.0, np.empty_like(d))
    K.downsample2x(d, np.empty((2, 2), np.uint8))


# --------------------------------------------------------------------------- warp


@SETTINGS
@given(st.data(), plane(), st.booleans(), matrices(), opacities)
def test_warp_matches_twin(data, src, with_alpha, inv, opacity):
    h, w = data.draw(sides), data.draw(sides)
    big, dst, off = data.draw(strided(h, w))
    alpha = data.draw(u8(src.shape)) if with_alpha else None
    box = data.draw(boxes(h, w))
    want = naive.warp_blend(dst, src, alpha, inv, opacity, box)
    before = big.copy()
    K.warp_blend(dst, src, alpha, inv, opacity, box)
    assert_within(dst, want, 1)
    assert_outside_untouched(before, big, off, w)


@SETTINGS
@given(st.data(), plane(), st.booleans(), matrices(), opacities)
def test_warp_touches_only_box(data, src, with_alpha, inv, opacity):
    h, w = data.draw(sides), data.draw(sides)
    dst = data.draw(plane(h, w))
    before = dst.copy()
    alpha = data.draw(u8(src.shape)) if with_alpha else None
    x0, y0, x1, y1 = box = data.draw(boxes(h, w))
    K.warp_blend(dst, src, alpha, inv, opacity, box)
    inside = np.zeros((h, w), bool)
    inside[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    np.testing.assert_array_equal(dst[~inside], before[~inside])


@SETTINGS
@given(st.data(), plane(), st.booleans(), matrices())
def test_warp_opacity_zero_leaves_dst_unchanged(data, src, with_alpha, inv):
    dst = data.draw(plane())
    before = dst.copy()
    alpha = data.draw(u8(src.shape)) if with_alpha else None
    K.warp_blend(dst, src, alpha, inv, 0.0, (0, 0, dst.shape[1], dst.shape[0]))
    np.testing.assert_array_equal(dst, before)


@SETTINGS
@given(st.data(), plane(), st.integers(-6, 6), st.integers(-6, 6))
def test_warp_integer_translation_is_exact_copy(data, src, dx, dy):
    """Identity and integer shifts at opacity 1 over an opaque source copy bytes exactly."""
    h, w = data.draw(sides), data.draw(sides)
    big, dst, off = data.draw(strided(h, w))
    inv = np.array([[1.0, 0, -dx], [0, 1.0, -dy]])
    want = naive.copy_region(dst, src, dx, dy)
    before = big.copy()
    K.warp_blend(dst, src, None, inv, 1.0, (0, 0, w, h))
    np.testing.assert_array_equal(dst, want)
    assert_outside_untouched(before, big, off, w)
    # the general bilinear loop (bypassing the wrapper's copy fast path) is exact too
    dst2 = before[:, off : off + w].copy()
    warp_mod._warp_blend(dst2, src, src, False, 1.0, 0.0, float(-dx), 0.0, 1.0, float(-dy), 1.0, 0, 0, w, h)
    np.testing.assert_array_equal(dst2, want)


@SETTINGS
@given(st.data(), plane(), st.integers(-6, 6), st.integers(-6, 6), opacities)
def test_warp_translation_fast_path_equals_general_loop(data, src, dx, dy, opacity):
    dst = data.draw(plane())
    h, w = dst.shape
    box = data.draw(boxes(h, w))
    general = dst.copy()
    K.warp_blend(dst, src, None, [[1, 0, -dx], [0, 1, -dy]], opacity, box)
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
    if opacity > 0 and x0 < x1 and y0 < y1:
        warp_mod._warp_blend(
            general, src, src, False, 1.0, 0.0, float(-dx), 0.0, 1.0, float(-dy), opacity, x0, y0, x1, y1
        )
    np.testing.assert_array_equal(dst, general)


@SETTINGS
@given(st.data(), st.integers(0, 2**32 - 1), aligned_matrices(), opacities)
def test_warp_separable_path_equals_per_pixel_loop(data, seed, inv, opacity):
    """An opaque unrotated layer takes the separable path; it gives the per-pixel loop's
    bytes exactly (same fixed-point taps, same blends), rows and edges included. (Pixels
    from a seeded generator: hypothesis's near-constant planes round alike either way.)"""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, 256, (data.draw(sides), data.draw(sides)), dtype=np.uint8)
    h, w = data.draw(sides), data.draw(sides)
    big, dst, off = data.draw(strided(h, w))
    dst[:] = rng.integers(0, 256, dst.shape, dtype=np.uint8)
    box = data.draw(boxes(h, w))
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
    per_pixel = dst.copy()
    before = big.copy()
    (a00, _, a02), (_, a11, a12) = inv.tolist()
    if x0 < x1 and y0 < y1:
        warp_mod._warp_separable(dst, src, a00, a02, a11, a12, opacity, x0, y0, x1, y1)
        warp_mod._warp_rows(per_pixel, src, src, False, a00, 0.0, a02, 0.0, a11, a12, opacity, x0, y0, x1, y1, None)
    np.testing.assert_array_equal(dst, per_pixel)
    assert_outside_untouched(before, big, off, w)


@pytest.mark.parametrize("rows", [37, 38])  # the separable pass pairs destination rows: odd and even counts
@pytest.mark.parametrize("scale", [0.58, 0.4, 0.93, 1.0, 1.7, 3.0])
@pytest.mark.parametrize("opacity", [1.0, 0.6])
def test_warp_separable_large_planes_equal_per_pixel_loop(rows, scale, opacity):
    """Planes larger than the hypothesis ones, scaled down (vertical pass first, two
    destination rows per pass) and up (horizontal passes reused), with all four edges in
    view: the separable path gives the per-pixel loop's bytes."""
    rng = np.random.default_rng(round(scale * 100) + rows)
    src = rng.integers(0, 256, (round(rows / scale) + 3, 90), dtype=np.uint8)
    dst = rng.integers(0, 256, (rows + 6, 120), dtype=np.uint8)
    per_pixel = dst.copy()
    a00, a02, a11, a12 = 1 / scale, -3.3 / scale, 1 / scale, -2.6 / scale
    h, w = dst.shape
    warp_mod._warp_separable(dst, src, a00, a02, a11, a12, opacity, 0, 0, w, h)
    warp_mod._warp_rows(per_pixel, src, src, False, a00, 0.0, a02, 0.0, a11, a12, opacity, 0, 0, w, h, None)
    np.testing.assert_array_equal(dst, per_pixel)


def packed_pass_twin(tops, bots, wy1s, rel, wx1s, opacity, dst_rows):
    """NumPy twin of :func:`warp._vcols2` + :func:`warp._gather2`: each row's vertical pass,
    then its horizontal taps, rounded (opacity 1) or mixed, with Python integers."""
    out = []
    for top, bot, wy1, d in zip(tops, bots, wy1s, dst_rows, strict=True):
        v = top.astype(np.int64) * (4096 - wy1) + bot.astype(np.int64) * wy1
        c = v[rel] * (4096 - wx1s) + v[rel + 1] * wx1s
        if opacity == 1.0:
            out.append(((c + (1 << 23)) >> 24).astype(np.uint8))
        else:
            kc, keep = opacity / 2.0**24, 1.0 - opacity
            out.append(np.floor(kc * c.astype(np.float64) + keep * d + 0.5).astype(np.uint8))
    return out


extreme_bytes = st.one_of(st.sampled_from([0, 1, 254, 255]), st.integers(0, 255))
extreme_weights = st.one_of(st.sampled_from([0, 1, 2048, 4095, 4096]), st.integers(0, 4096))


@SETTINGS
@given(st.data(), st.sampled_from([1.0, 0.5, 0.999]))
def test_packed_vertical_pass_and_gather_match_twin(data, opacity):
    """Two destination rows packed in the lanes of a uint64 give each row's own sums: no
    carry crosses the lanes at the extremes (all 255, weights 0 and 2¹²)."""
    span = data.draw(st.integers(2, 24))
    rows = [data.draw(hnp.arrays(np.uint8, span, elements=extreme_bytes)) for _ in range(4)]
    wy1s = [data.draw(extreme_weights), data.draw(extreme_weights)]
    n = data.draw(st.integers(1, 16))
    rel = np.array(sorted(data.draw(st.lists(st.integers(0, span - 2), min_size=n, max_size=n))), np.uint32)
    wx1s = np.array(data.draw(st.lists(extreme_weights, min_size=n, max_size=n)), np.uint32)
    dst = [data.draw(hnp.arrays(np.uint8, n, elements=extreme_bytes)) for _ in range(2)]
    want = packed_pass_twin(rows[0::2], rows[1::2], wy1s, rel.astype(np.int64), wx1s.astype(np.int64), opacity, dst)
    packed = np.empty(span, np.uint64)
    warp_mod._vcols2(packed, rows[0], rows[1], wy1s[0], rows[2], rows[3], wy1s[1])
    got = [d.copy() for d in dst]
    kc, keep = opacity / 2.0**24, 1.0 - opacity
    warp_mod._gather2(got[0], got[1], packed, rel, 4096 - wx1s, wx1s, opacity == 1.0, kc, keep)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@SETTINGS
@given(st.data(), plane(), st.booleans())
def test_warp_identity_with_alpha_is_alpha_over(data, src, opaque_alpha):
    """Identity matrix with an alpha plane is a plain per-pixel alpha-over."""
    alpha = np.full(src.shape, 255, np.uint8) if opaque_alpha else data.draw(u8(src.shape))
    dst = data.draw(u8(src.shape))
    a = alpha / 255.0
    want = naive.round_u8(a * src + (1 - a) * dst)
    K.warp_blend(dst, src, alpha, np.eye(2, 3), 1.0, (0, 0, src.shape[1], src.shape[0]))
    if opaque_alpha:
        np.testing.assert_array_equal(dst, src)
    else:
        assert_within(dst, want, 1)


@pytest.mark.parametrize("with_alpha", [False, True])
@pytest.mark.parametrize("scale", [1 / 37, 1 / 8.3, 0.77])
def test_warp_bilinear_is_accurate_at_many_subpixel_offsets(with_alpha, scale):
    """High-contrast 3×3 source sampled on a fine, irrational-ish grid: within 1 LSB of exact bilinear."""
    src = np.array([[0, 255, 0], [255, 0, 255], [0, 255, 0]], np.uint8)
    alpha = np.array([[255, 0, 255], [90, 255, 0], [255, 255, 170]], np.uint8) if with_alpha else None
    size = int(3 / scale) + 2
    inv = np.array([[scale, scale * 0.013, -0.3], [-scale * 0.011, scale, -0.2]])
    dst = np.full((size, size), 77, np.uint8)
    want = naive.warp_blend(dst, src, alpha, inv, 0.9, (0, 0, size, size))
    K.warp_blend(dst, src, alpha, inv, 0.9, (0, 0, size, size))
    assert_within(dst, want, 1)
    inv[0, 1] = inv[1, 0] = 0.0  # axis-aligned rows take a separate loop
    want = naive.warp_blend(dst, src, alpha, inv, 1.0, (0, 0, size, size))
    K.warp_blend(dst, src, alpha, inv, 1.0, (0, 0, size, size))
    assert_within(dst, want, 1)


def quadrants(n):
    """2n×2n image: top-left 10, top-right 20, bottom-right 30, bottom-left 40."""
    img = np.empty((2 * n, 2 * n), np.uint8)
    img[:n, :n], img[:n, n:], img[n:, n:], img[n:, :n] = 10, 20, 30, 40
    return img


@pytest.mark.parametrize("n", [1, 2, 3])
def test_warp_rotate_90_moves_quadrants_clockwise(n):
    size = 2 * n
    src = quadrants(n)
    # forward (x, y) -> (size - y, x) about the centre, i.e. clockwise with y down;
    # inverse: u = y, v = size - x
    inv = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, float(size)]])
    dst = np.zeros_like(src)
    K.warp_blend(dst, src, None, inv, 1.0, (0, 0, size, size))
    want = np.empty_like(src)
    want[:n, n:], want[n:, n:], want[n:, :n], want[:n, :n] = 10, 20, 30, 40
    np.testing.assert_array_equal(dst, want)


def test_warp_hand_computed_half_opacity():
    src = np.array([[100, 200], [50, 0]], np.uint8)
    dst = np.full((2, 2), 20, np.uint8)
    K.warp_blend(dst, src, None, np.eye(2, 3), 0.5, (0, 0, 2, 2))
    # round(0.5·c + 0.5·20)
    np.testing.assert_array_equal(dst, [[60, 110], [35, 10]])


def test_warp_hand_computed_alpha():
    src = np.full((1, 2), 200, np.uint8)
    alpha = np.array([[128, 0]], np.uint8)
    dst = np.array([[100, 100]], np.uint8)
    K.warp_blend(dst, src, alpha, np.eye(2, 3), 1.0, (0, 0, 2, 2))
    # 200·128/255 + (1 − 128/255)·100 = 150.196 -> 150; alpha 0 leaves 100
    np.testing.assert_array_equal(dst, [[150, 100]])


def test_warp_hand_computed_half_pixel_shift_antialiases_edge():
    src = np.array([[0, 200]], np.uint8)
    dst = np.full((1, 3), 40, np.uint8)
    # u = x + 1: pixel 0 samples half/half between taps 0 and 1 -> 100, alpha 1;
    # pixel 1 samples tap 1 (200) and the transparent outside half/half:
    # C = 100, A = 0.5 -> 100 + 0.5·40 = 120; pixel 2 samples only outside -> untouched.
    K.warp_blend(dst, src, None, [[1, 0, 0.5], [0, 1, 0]], 1.0, (0, 0, 3, 1))
    np.testing.assert_array_equal(dst, [[100, 120, 40]])


def test_warp_upscale_2x_hand_computed():
    src = np.array([[0, 100]], np.uint8)
    dst = np.zeros((1, 4), np.uint8)
    # u = x/2: centres 0.25, 0.75, 1.25, 1.75 -> t = -0.25, 0.25, 0.75, 1.25
    # x=0: taps -1 (clamped to 0) and 0 -> colour 0; coverage min(.25/.5 + .5, 1) = 1 -> 0
    # x=1: taps 0 (.75), 1 (.25) -> 25; x=2: .25·0 + .75·100 = 75
    # x=3: taps 1 (.75) and 2 (clamped to 1) -> 100; coverage (2 − 1.75)/.5 + .5 = 1 -> 100
    # (no dark fringe at the edge of an up-scaled layer)
    K.warp_blend(dst, src, None, [[0.5, 0, 0], [0, 1, 0]], 1.0, (0, 0, 4, 1))
    np.testing.assert_array_equal(dst, [[0, 25, 75, 100]])


# --------------------------------------------------------------------------- blit


@SETTINGS
@given(st.data(), plane(), st.integers(-14, 14), st.integers(-14, 14))
def test_copy_region_matches_twin(data, src, dx, dy):
    h, w = data.draw(sides), data.draw(sides)
    big, dst, off = data.draw(strided(h, w))
    want = naive.copy_region(dst, src, dx, dy)
    before = big.copy()
    K.copy_region(dst, src, dx, dy)
    np.testing.assert_array_equal(dst, want)
    assert_outside_untouched(before, big, off, w)


@SETTINGS
@given(st.data(), plane(), st.integers(-14, 14), st.integers(-14, 14), opacities)
def test_blend_region_matches_twin(data, src, dx, dy, opacity):
    h, w = data.draw(sides), data.draw(sides)
    big, dst, off = data.draw(strided(h, w))
    want = naive.blend_region(dst, src, dx, dy, opacity)
    before = big.copy()
    K.blend_region(dst, src, dx, dy, opacity)
    assert_within(dst, want, 1)
    assert_outside_untouched(before, big, off, w)
    if opacity == 0.0:
        np.testing.assert_array_equal(big, before)
    if opacity == 1.0:
        np.testing.assert_array_equal(dst, naive.copy_region(before[:, off : off + w], src, dx, dy))


def test_blend_region_hand_computed():
    dst = np.array([[0, 255, 10]], np.uint8)
    K.blend_region(dst, np.array([[255, 0]], np.uint8), 1, 0, 0.25)
    # x=1: 0.25·255 + 0.75·255 = 255; x=2: 0.25·0 + 0.75·10 = 7.5 -> 8
    np.testing.assert_array_equal(dst, [[0, 255, 8]])


# --------------------------------------------------------------------------- fill


@SETTINGS
@given(st.data(), st.integers(0, 255), opacities)
def test_fill_and_fill_blend_match_twins(data, value, alpha):
    h, w = data.draw(sides), data.draw(sides)
    box = data.draw(boxes(h, w))
    big, dst, off = data.draw(strided(h, w))
    before = big.copy()
    want = naive.fill_blend(dst, value, alpha, box)
    K.fill_blend(dst, value, alpha, box)
    assert_within(dst, want, 1)
    if alpha == 0.0:
        np.testing.assert_array_equal(big, before)
    want = naive.fill(dst, value, box)
    K.fill(dst, value, box)
    np.testing.assert_array_equal(dst, want)
    assert_outside_untouched(before, big, off, w)


def test_fill_blend_hand_computed():
    dst = np.array([[100, 100, 100]], np.uint8)
    K.fill_blend(dst, 200, 0.25, (1, 0, 2, 1))
    np.testing.assert_array_equal(dst, [[100, 125, 100]])


# --------------------------------------------------------------------------- crossfade


@SETTINGS
@given(st.data(), opacities)
def test_crossfade_matches_twin(data, p):
    h, w = data.draw(sides), data.draw(sides)
    a, b = data.draw(plane(h, w)), data.draw(plane(h, w))
    big, dst, off = data.draw(strided(h, w))
    before = big.copy()
    K.crossfade(dst, a, b, p)
    assert_within(dst, naive.crossfade(a, b, p), 1)
    assert_outside_untouched(before, big, off, w)


@SETTINGS
@given(st.data())
def test_crossfade_end_points_are_exact_even_in_place(data):
    h, w = data.draw(sides), data.draw(sides)
    a, b = data.draw(plane(h, w)), data.draw(plane(h, w))
    out = np.empty_like(a)
    K.crossfade(out, a, b, 0.0)
    np.testing.assert_array_equal(out, a)
    K.crossfade(out, a, b, 1.0)
    np.testing.assert_array_equal(out, b)
    a2 = a.copy()
    K.crossfade(a2, a2, b, 1.0)  # dst is a
    np.testing.assert_array_equal(a2, b)
    b2 = b.copy()
    K.crossfade(b2, a, b2, 0.0)  # dst is b
    np.testing.assert_array_equal(b2, a)


def test_crossfade_hand_computed():
    a = np.array([[0, 200, 10]], np.uint8)
    b = np.array([[255, 100, 0]], np.uint8)
    out = np.empty_like(a)
    K.crossfade(out, a, b, 0.5)
    # 127.5 -> 128, 150, 5
    np.testing.assert_array_equal(out, [[128, 150, 5]])


# --------------------------------------------------------------------------- colour


@pytest.mark.parametrize(
    ("rgb", "yuv"),
    [
        ((255, 255, 255), (235, 128, 128)),
        ((0, 0, 0), (16, 128, 128)),
        ((255, 0, 0), (63, 102, 240)),
        ((0, 255, 0), (173, 42, 26)),
        ((0, 0, 255), (32, 240, 118)),
    ],
)
def test_rgb_to_yuv709_reference_colours(rgb, yuv):
    assert K.rgb_to_yuv709(*rgb) == yuv
    assert naive.rgb_to_yuv709(*rgb) == yuv


@SETTINGS
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
def test_rgb_to_yuv709_matches_twin(r, g, b):
    assert_within(np.array(K.rgb_to_yuv709(r, g, b)), np.array(naive.rgb_to_yuv709(r, g, b)), 1)


@SETTINGS
@given(st.data(), st.sampled_from([3, 4]))
def test_rgba_to_yuva420_matches_twin(data, channels):
    h, w = data.draw(sides), data.draw(sides)
    rgba = data.draw(u8((h, w, channels)))
    got = K.rgba_to_yuva420(rgba)
    want = naive.rgba_to_yuva420(rgba)
    hh, hw = (h + 1) // 2, (w + 1) // 2
    assert [g.shape for g in got] == [(h, w), (hh, hw), (hh, hw), (h, w), (hh, hw)]
    for g, wnt in zip(got, want):
        assert_within(g, wnt, 1)
    np.testing.assert_array_equal(got[3], want[3])  # alpha is copied, exactly
    np.testing.assert_array_equal(got[4], want[4])  # a_half is an integer mean
    if channels == 3:
        assert (got[3] == 255).all() and (got[4] == 255).all()


@SETTINGS
@given(st.data())
def test_rgba_to_yuva420_into_writes_strided_planes(data):
    h, w = data.draw(sides), data.draw(sides)
    rgba = data.draw(u8((h, w, 4)))
    hh, hw = (h + 1) // 2, (w + 1) // 2
    views = [data.draw(strided(*s)) for s in [(h, w), (hh, hw), (hh, hw), (h, w), (hh, hw)]]
    before = [big.copy() for big, _, _ in views]
    K.rgba_to_yuva420_into(rgba, *(v for _, v, _ in views))
    for (big, view, off), b, want in zip(views, before, K.rgba_to_yuva420(rgba)):
        np.testing.assert_array_equal(view, want)
        assert_outside_untouched(b, big, off, view.shape[1])


@SETTINGS
@given(st.data())
def test_rgb_to_yuv420_into_matches_twin_and_the_rgba_path_exactly(data):
    h, w = data.draw(sides), data.draw(sides)
    rgb = data.draw(u8((h, w, 3)))
    hh, hw = (h + 1) // 2, (w + 1) // 2
    views = [data.draw(strided(*s)) for s in [(h, w), (hh, hw), (hh, hw)]]
    before = [big.copy() for big, _, _ in views]
    K.rgb_to_yuv420_into(rgb, *(v for _, v, _ in views))
    rgba_path = K.rgba_to_yuva420(rgb)[:3]
    for (big, view, off), b, want, twin in zip(views, before, rgba_path, naive.rgb_to_yuv420(rgb)):
        np.testing.assert_array_equal(view, want)  # the same bytes as the RGBA path, always
        assert_within(view, twin, 1)
        assert_outside_untouched(b, big, off, view.shape[1])


@SETTINGS
@given(st.data())
def test_rgb_to_yuv420_into_in_bands_equals_one_call(data):
    h, w = data.draw(st.integers(1, 40)), data.draw(sides)
    rgb = data.draw(u8((h, w, 3)))
    band = 2 * data.draw(st.integers(1, 6))
    y, u, v = K.rgba_to_yuva420(rgb)[:3]
    by, bu, bv = np.zeros_like(y), np.zeros_like(u), np.zeros_like(v)
    for y0 in range(0, h, band):
        y1 = min(y0 + band, h)
        c0, c1 = y0 // 2, (y1 + 1) // 2
        K.rgb_to_yuv420_into(rgb[y0:y1], by[y0:y1], bu[c0:c1], bv[c0:c1])
    for got, want in ((by, y), (bu, u), (bv, v)):
        np.testing.assert_array_equal(got, want)


def test_transparent_pixels_do_not_bleed_into_chroma():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 1] = 255  # green everywhere ...
    rgba[0, 0] = (255, 0, 0, 255)  # ... but only a red pixel is visible
    _, u, v, a, a_half = K.rgba_to_yuva420(rgba)
    assert (u[0, 0], v[0, 0]) == (102, 240)  # pure red chroma
    assert a_half[0, 0] == 64  # (255 + 2) // 4
    rgba[0, 0, 3] = 0  # all transparent: plain mean of 3 green + 1 red
    _, u, v, _, a_half = K.rgba_to_yuva420(rgba)
    want = naive.yuv709(255 / 4, 3 * 255 / 4, 0.0)
    assert (u[0, 0], v[0, 0]) == (naive.round_u8(want[1]), naive.round_u8(want[2]))
    assert a_half[0, 0] == 0


@SETTINGS
@given(st.data())
def test_yuv420_to_rgb_matches_twin(data):
    h, w = data.draw(sides), data.draw(sides)
    hh, hw = (h + 1) // 2, (w + 1) // 2
    y, u, v = data.draw(plane(h, w)), data.draw(plane(hh, hw)), data.draw(plane(hh, hw))
    assert_within(K.yuv420_to_rgb(y, u, v), naive.yuv420_to_rgb(y, u, v), 1)


@SETTINGS
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
def test_flat_colour_round_trips_within_2_lsb(r, g, b):
    rgb = np.empty((3, 3, 3), np.uint8)
    rgb[:] = (r, g, b)
    y, u, v, _, _ = K.rgba_to_yuva420(rgb)
    assert_within(K.yuv420_to_rgb(y, u, v), rgb, 2)


# --------------------------------------------------------------------------- blur


@SETTINGS
@given(st.data(), st.integers(0, 15))
def test_box_blur_matches_twin(data, radius):
    h, w = data.draw(sides), data.draw(sides)
    src = data.draw(plane(h, w))
    big, dst, off = data.draw(strided(h, w))
    before = big.copy()
    K.box_blur(src, dst, radius, np.empty_like(src))
    np.testing.assert_array_equal(dst, naive.box_blur(src, radius))
    assert_outside_untouched(before, big, off, w)
    inplace = src.copy()
    K.box_blur(inplace, inplace, radius, np.empty_like(src))
    np.testing.assert_array_equal(inplace, dst)


@SETTINGS
@given(st.data(), st.floats(0.0, 8.0))
def test_gaussian_like_blur_matches_twin(data, sigma):
    src = data.draw(plane())
    dst = np.empty_like(src)
    K.gaussian_like_blur(src, dst, sigma, np.empty_like(src))
    np.testing.assert_array_equal(dst, naive.gaussian_like_blur(src, K.gauss_box_radii(sigma)))


@pytest.mark.parametrize("sigma", [0.0, 0.5, 1.0, 2.0, 3.3, 5.0, 10.0, 25.0])
def test_gauss_box_radii_variance_is_close_to_sigma_squared(sigma):
    radii = K.gauss_box_radii(sigma)
    assert len(radii) == 3 and all(r >= 0 for r in radii)
    variance = sum(((2 * r + 1) ** 2 - 1) / 12 for r in radii)
    assert abs(variance - sigma**2) <= 2.0 * (2 * max(radii) + 1) / 3 + 1e-9


@SETTINGS
@given(st.data(), st.integers(0, 255), st.floats(0.0, 20.0))
def test_blur_keeps_flat_plane_flat(data, value, sigma):
    src = np.full((data.draw(sides), data.draw(sides)), value, np.uint8)
    dst = np.empty_like(src)
    K.gaussian_like_blur(src, dst, sigma, np.empty_like(src))
    np.testing.assert_array_equal(dst, src)


@SETTINGS
@given(plane())
def test_downsample2x_matches_twin(src):
    dst = np.empty(((src.shape[0] + 1) // 2, (src.shape[1] + 1) // 2), np.uint8)
    K.downsample2x(src, dst)
    np.testing.assert_array_equal(dst, naive.downsample2x(src))


def test_downsample2x_hand_computed():
    src = np.array([[0, 1, 10], [2, 3, 21], [100, 200, 7]], np.uint8)
    dst = np.empty((2, 2), np.uint8)
    K.downsample2x(src, dst)
    # (6+2)//4, (31+1)//2, (300+1)//2, 7
    np.testing.assert_array_equal(dst, [[2, 16], [150, 7]])


# --------------------------------------------------------------------------- validation

D = np.zeros((4, 4), np.uint8)  # a destination
S = np.zeros((4, 4), np.uint8)  # a source (separate memory)
H = np.zeros((2, 2), np.uint8)
BOX = (0, 0, 4, 4)
ID = np.eye(2, 3)
READ_ONLY = np.zeros((4, 4), np.uint8)
READ_ONLY.flags.writeable = False
RGBA = np.zeros((4, 4, 4), np.uint8)

# name: (call, fragment of the error message)
INVALID_CALLS = {
    "warp dst float": (lambda: K.warp_blend(D.astype(np.float32), S, None, ID, 1, BOX), "dst must have dtype uint8"),
    "warp dst 3-D": (lambda: K.warp_blend(np.zeros((4, 4, 1), np.uint8), S, None, ID, 1, BOX), "dst must be 2-D"),
    "warp dst column stride": (
        lambda: K.warp_blend(np.zeros((4, 8), np.uint8)[:, ::2], S, None, ID, 1, BOX),
        "column stride 1",
    ),
    "warp dst read-only": (lambda: K.warp_blend(READ_ONLY, S, None, ID, 1, BOX), "dst must be writable"),
    "warp src int16": (lambda: K.warp_blend(D, S.astype(np.int16), None, ID, 1, BOX), "src must have dtype uint8"),
    "warp src empty": (lambda: K.warp_blend(D, np.zeros((0, 4), np.uint8), None, ID, 1, BOX), "between 1×1"),
    "warp alpha shape": (lambda: K.warp_blend(D, S, H, ID, 1, BOX), "same shape"),
    "warp alpha dtype": (lambda: K.warp_blend(D, S, S.astype(bool), ID, 1, BOX), "src_alpha must have dtype"),
    "warp inv shape": (lambda: K.warp_blend(D, S, None, np.eye(3), 1, BOX), "inv must have shape"),
    "warp inv nan": (lambda: K.warp_blend(D, S, None, [[1, 0, np.nan], [0, 1, 0]], 1, BOX), "finite"),
    "warp inv huge": (lambda: K.warp_blend(D, S, None, [[1e30, 0, 0], [0, 1, 0]], 1, BOX), "magnitude"),
    "warp opacity > 1": (lambda: K.warp_blend(D, S, None, ID, 1.5, BOX), "opacity must be in"),
    "warp opacity nan": (lambda: K.warp_blend(D, S, None, ID, float("nan"), BOX), "opacity must be in"),
    "warp opacity str": (lambda: K.warp_blend(D, S, None, ID, "1", BOX), "opacity must be"),
    "warp box float": (lambda: K.warp_blend(D, S, None, ID, 1, (0.5, 0, 4, 4)), "box must be an integer"),
    "warp box length": (lambda: K.warp_blend(D, S, None, ID, 1, (0, 0, 4)), "box must be"),
    "warp src is dst": (lambda: K.warp_blend(D, D, None, ID, 1, BOX), "must not overlap"),
    "warp alpha overlaps dst": (lambda: K.warp_blend(D, H, D[:2, :2], ID, 1, BOX), "must not overlap"),
    "copy src overlaps dst": (lambda: K.copy_region(D[:, :2], D[:, 1:], 0, 0), "must not overlap"),
    "copy dx float": (lambda: K.copy_region(D, S, 0.5, 0), "dx must be an integer"),
    "copy dy bool": (lambda: K.copy_region(D, S, 0, True), "dy must be an integer"),
    "copy src list": (lambda: K.copy_region(D, [[1]], 0, 0), "src must be a numpy array"),
    "blend opacity < 0": (lambda: K.blend_region(D, S, 0, 0, -0.1), "opacity must be in"),
    "fill value 256": (lambda: K.fill(D, 256, BOX), "value must be in 0..255"),
    "fill_blend alpha 2": (lambda: K.fill_blend(D, 1, 2, BOX), "alpha must be in"),
    "crossfade shapes": (lambda: K.crossfade(D, S, H, 0.5), "same shape"),
    "crossfade p": (lambda: K.crossfade(D, S, S, 1.01), "p must be in"),
    "rgba 2 channels": (lambda: K.rgba_to_yuva420(np.zeros((2, 2, 2), np.uint8)), "shape (h, w, 4)"),
    "rgba float": (lambda: K.rgba_to_yuva420(np.zeros((2, 2, 4), np.float32)), "uint8"),
    "rgba_into u shape": (lambda: K.rgba_to_yuva420_into(RGBA, D, H, S, D.copy(), H.copy()), "v must have shape"),
    "rgb_into 4 channels": (lambda: K.rgb_to_yuv420_into(RGBA, D, H, H.copy()), "(h, w, 3) uint8"),
    "rgb_into y shape": (lambda: K.rgb_to_yuv420_into(RGBA[..., :3].copy(), H, H, H.copy()), "y must have shape"),
    "rgb_into readonly": (
        lambda: K.rgb_to_yuv420_into(RGBA[..., :3].copy(), READ_ONLY, H, H.copy()),
        "y must be writable",
    ),
    "rgb_to_yuv 300": (lambda: K.rgb_to_yuv709(300, 0, 0), "r must be in 0..255"),
    "yuv420_to_rgb chroma": (lambda: K.yuv420_to_rgb(D, S, S), "u and v must have shape"),
    "blur tmp aliases": (lambda: K.box_blur(S, D, 1, D), "tmp must not overlap"),
    "blur radius negative": (lambda: K.box_blur(S, D, -1, D.copy()), "radius must be in"),
    "blur tmp shape": (lambda: K.box_blur(S, D, 1, H.copy()), "same shape"),
    "gauss sigma inf": (lambda: K.gaussian_like_blur(S, D, float("inf"), D.copy()), "sigma must be finite"),
    "gauss sigma negative": (lambda: K.gaussian_like_blur(S, D, -1.0, D.copy()), "sigma must be >= 0"),
    "downsample dst shape": (lambda: K.downsample2x(S, D), "dst must have shape (2, 2)"),
}


@pytest.mark.parametrize(("call", "message"), INVALID_CALLS.values(), ids=INVALID_CALLS.keys())
def test_invalid_arguments_raise_value_error(call, message):
    before = D.copy()
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
    np.testing.assert_array_equal(D, before)  # nothing was written


def test_row_padded_and_flipped_views_are_accepted():
    big = np.zeros((4, 16), np.uint8)
    K.warp_blend(big[:, :5], S, S, ID, 1, BOX)
    K.copy_region(big[:, 3:9], S, 0, 0)
    K.crossfade(big[:, :4], big[:, 4:8], big[:, 8:12], 0.5)
    src = np.arange(16, dtype=np.uint8).reshape(4, 4)
    dst = np.zeros((4, 4), np.uint8)
    K.warp_blend(dst, src[::-1], None, [[1, 0, 0.0], [0, 1, 0.5]], 1, BOX)  # negative row stride
    np.testing.assert_array_equal(
        dst, naive.warp_blend(np.zeros((4, 4), np.uint8), src[::-1], None, [[1, 0, 0.0], [0, 1, 0.5]], 1, BOX)
    )


def test_warp_upscaled_layer_has_no_dark_fringe_at_its_edges():
    src = np.full((4, 4), 200, np.uint8)
    dst = np.zeros((16, 16), np.uint8)
    # 4x up-scale filling the destination exactly
    K.warp_blend(dst, src, None, [[0.25, 0, 0], [0, 0.25, 0]], 1.0, (0, 0, 16, 16))
    assert (dst == 200).all()


def test_warp_edge_is_antialiased_over_one_destination_pixel():
    src = np.full((4, 4), 200, np.uint8)
    dst = np.zeros((1, 24), np.uint8)
    # 4x up-scale shifted right by 2.5 destination pixels: pixel 2 is half covered
    K.warp_blend(dst, src, None, [[0.25, 0, -0.625], [0, 0.25, 0]], 1.0, (0, 0, 24, 1))
    assert dst[0, 1] == 0 and abs(int(dst[0, 2]) - 100) <= 1 and dst[0, 3] == 200
