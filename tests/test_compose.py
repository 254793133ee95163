"""The Compositor applied to hand-made plans on tiny pictures (hand-computed expectations)."""

import numpy as np
import pytest

from compositor.pixels.compose import Compositor
from compositor.geometry import Affine
from compositor.kernels import rgb_to_yuv709
from compositor.media.planes import Planes
from compositor.plan import BlurFillOp, DrawOp, FillOp, FramePlan, TransitionOp


def solid(w, h, rgb, alpha=None):
    y, u, v = rgb_to_yuv709(*rgb)
    cw, ch = (w + 1) // 2, (h + 1) // 2
    p = Planes(np.full((h, w), y, np.uint8), np.full((ch, cw), u, np.uint8), np.full((ch, cw), v, np.uint8))
    if alpha is not None:
        p.a = np.full((h, w), alpha, np.uint8)
        p.a_half = np.full((ch, cw), alpha, np.uint8)
    return p


def canvas(w=16, h=8):
    return solid(w, h, (0, 0, 0))


def op(key, m, w, h, opacity=1.0, box=None, has_alpha=False):
    return DrawOp(
        segment_id=key,
        media_key=key,
        is_still=True,
        has_alpha=has_alpha,
        source_us=None,
        crop_px=(0, 0, w, h),
        matrix=m,
        opacity=opacity,
        box=box or (0, 0, 16, 8),
    )


def yuv(rgb):
    return rgb_to_yuv709(*rgb)


def test_fill_then_full_frame_copy():
    pics = {"red": solid(16, 8, (255, 0, 0))}
    dst = canvas()
    Compositor(16, 8).compose(
        FramePlan(0, 0, (FillOp((0, 0, 255, 255)), op("red", Affine(), 16, 8))), dst, lambda o: pics[o.media_key]
    )
    assert (dst.y == yuv((255, 0, 0))[0]).all() and (dst.v == yuv((255, 0, 0))[2]).all()


def test_scaled_layer_only_touches_its_box():
    pics = {"red": solid(16, 8, (255, 0, 0))}
    m = Affine.scale(0.5).then(Affine.translate(8, 0))  # right half, top half
    dst = canvas()
    Compositor(16, 8).compose(
        FramePlan(0, 0, (op("red", m, 16, 8, box=(7, 0, 16, 5)),)), dst, lambda o: pics[o.media_key]
    )
    ry = yuv((255, 0, 0))[0]
    assert (dst.y[0:4, 8:16] == ry).all()
    assert (dst.y[:, 0:8] == 16).all() and (dst.y[4:, :] == 16).all()


def test_opacity_and_alpha_blend():
    pics = {"white": solid(16, 8, (255, 255, 255), alpha=128)}
    dst = canvas()
    Compositor(16, 8).compose(
        FramePlan(0, 0, (op("white", Affine(), 16, 8, opacity=0.5, has_alpha=True),)), dst, lambda o: pics[o.media_key]
    )
    # 16 + (235 - 16) × 0.5 × 128/255 ≈ 71
    assert abs(int(dst.y[4, 8]) - round(16 + 219 * 0.5 * 128 / 255)) <= 1


def test_dissolve_transition_mixes_a_and_b():
    pics = {"a": solid(16, 8, (255, 255, 255)), "b": solid(16, 8, (0, 0, 0))}
    dst = canvas()
    t = TransitionOp(impl="dissolve", progress=0.25, a=(op("a", Affine(), 16, 8),), b=(op("b", Affine(), 16, 8),))
    Compositor(16, 8).compose(FramePlan(0, 0, (FillOp((0, 0, 0, 255)), t)), dst, lambda o: pics[o.media_key])
    assert abs(int(dst.y[3, 3]) - round(235 - 219 * 0.25)) <= 1


def test_blur_fill_covers_the_frame_with_the_picture_colour():
    pics = {"g": solid(8, 8, (0, 255, 0))}
    m = Affine.scale(2.0)  # 8x8 -> 16x16 covers 16x8
    dst = canvas()
    Compositor(16, 8).compose(FramePlan(0, 0, (BlurFillOp(op("g", m, 8, 8), 0.5),)), dst, lambda o: pics[o.media_key])
    gy = yuv((0, 255, 0))[0]
    assert np.abs(dst.y.astype(int) - gy).max() <= 2


def test_crop_reads_only_the_cropped_region():
    left_red = solid(16, 8, (0, 0, 255))
    left_red.y[:, :8] = yuv((255, 0, 0))[0]
    d = DrawOp(
        segment_id="s",
        media_key="s",
        is_still=True,
        has_alpha=False,
        source_us=None,
        crop_px=(0, 0, 8, 8),
        matrix=Affine.scale(2, 1),
        opacity=1.0,
        box=(0, 0, 16, 8),
    )
    dst = canvas()
    Compositor(16, 8).compose(FramePlan(0, 0, (d,)), dst, lambda o: left_red)
    assert (dst.y == yuv((255, 0, 0))[0]).all()


@pytest.mark.parametrize("dx", [2, 3])
def test_integer_translation_fast_path_matches_warp(dx):
    src = solid(16, 8, (10, 200, 30))
    src.y[:] = np.arange(16, dtype=np.uint8)[None, :] * 10
    a, b = canvas(), canvas()
    c = Compositor(16, 8)
    c.draw(a, op("s", Affine.translate(dx, 0), 16, 8), src)
    # Same geometry through the general bilinear path: a tiny non-integer offset.
    c.draw(b, op("s", Affine.translate(dx + 1e-9, 0), 16, 8), src)
    assert np.abs(a.y.astype(int) - b.y.astype(int)).max() <= 1


def test_strong_downscale_averages_instead_of_aliasing():
    # 1-pixel black/white stripes shrunk 4x: a mip-mapped sample is mid-grey, not a stripe.
    w, h = 64, 32
    src = solid(w, h, (0, 0, 0))
    src.y[:, ::2] = 235
    dst = canvas(16, 8)
    m = Affine.scale(0.25)
    Compositor(16, 8).draw(dst, op("s", m, w, h, box=(0, 0, 16, 8)), src)
    inner = dst.y[1:-1, 1:-1].astype(int)
    assert abs(inner.mean() - (16 + 235) / 2) < 8 and inner.max() - inner.min() <= 6
