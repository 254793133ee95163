"""Text segments through the timeline, the planner and the picture pool (no media files)."""

from __future__ import annotations

import numpy as np
import pytest

from compositor.pixels.compose import Compositor
from compositor.kernels import rgb_to_yuv709
from compositor.media.planes import Planes
from compositor.plan import DrawOp, plan_frame
from compositor.text.pool import TextRasters
from compositor.resolve import resolve
from compositor.timeline import OutputOptions
from tests.draft_helpers import facts_from_json, kf, minimal_draft, parse
from tests.text_helpers import BLACK, YELLOW, style, text_material, text_segment, text_track


def clip_obj(*, x=0.0, y=0.0, scale=1.0, rotation=0.0, alpha=1.0, flip_h=False):
    return {
        "alpha": alpha,
        "rotation": rotation,
        "flip": {"horizontal": flip_h, "vertical": False},
        "scale": {"x": scale, "y": scale},
        "transform": {"x": x, "y": y},
    }


def draft(text="你好世界", *styles, w=1920, h=1080, clip=None, refs=(), effects=(), keyframes=(), **fields):
    mat = text_material("m", text, *styles, **fields)
    seg = text_segment("s", "m", 0, 2_000_000, clip=clip or clip_obj(), refs=refs, keyframes=keyframes)
    return parse(minimal_draft(width=w, height=h, texts=[mat], effects=list(effects), tracks=[text_track("tt", [seg])]))


def timeline(d, **opts):
    return resolve(d, facts_from_json(d), OutputOptions(**opts))


def text_ops(plan):
    return [op for op in plan.ops if isinstance(op, DrawOp) and op.kind == "text"]


def test_the_block_is_centred_at_the_clip_centre_and_scaled_like_any_clip():
    tl = timeline(draft(clip=clip_obj(x=0.5, y=-0.5, scale=2.0)))
    clip = tl.tracks[0].clips[0]
    layer = clip.text
    assert layer.geo.scale == 2.0  # rasterised at the drawn size: sharp
    (op,) = text_ops(plan_frame(tl, 0))
    cx, cy = op.matrix.apply(*layer.centre)
    assert (cx, cy) == pytest.approx((1440, 810), abs=1.0)
    bw, bh = layer.block_size
    assert (bw, bh) == pytest.approx((360, 90))  # 4 ideographs at em 90
    x0, _ = op.matrix.apply(*layer.geo.to_raster(0, 0))
    x1, _ = op.matrix.apply(*layer.geo.to_raster(bw, 0))
    assert x1 - x0 == pytest.approx(2 * bw)


def test_rotation_flip_alpha_and_keyframes_apply():
    kfs = [kf("KFTypePositionX", (0, 0.0), (2_000_000, 1.0))]
    tl = timeline(draft(clip=clip_obj(rotation=90, alpha=0.5, flip_h=True), keyframes=kfs))
    (op,) = text_ops(plan_frame(tl, 0))
    assert op.opacity == 0.5
    m = op.matrix
    assert m.a == pytest.approx(0, abs=1e-9) and abs(m.d) == pytest.approx(1)  # turned 90°
    (late,) = text_ops(plan_frame(tl, 30))  # t = 1 s: x = 0.5 → 480 px right
    c0 = op.matrix.apply(*tl.tracks[0].clips[0].text.centre)
    c1 = late.matrix.apply(*tl.tracks[0].clips[0].text.centre)
    assert c1[0] - c0[0] == pytest.approx(480, abs=1)


def test_output_scaling_rasterises_at_the_output_size():
    tl = timeline(draft(), width=960)
    assert tl.tracks[0].clips[0].text.geo.scale == 0.5


def test_static_caption_lands_on_even_whole_pixels():
    tl = timeline(draft(clip=clip_obj(y=-0.7407407407407407)))
    (op,) = text_ops(plan_frame(tl, 0))
    m = op.matrix
    assert (m.a, m.b, m.d, m.e) == (1.0, 0.0, 0.0, 1.0)
    assert m.c == pytest.approx(round(m.c), abs=1e-6) and round(m.c) % 2 == 0
    assert m.f == pytest.approx(round(m.f), abs=1e-6) and round(m.f) % 2 == 0


def test_global_alpha_is_in_the_raster_and_clip_alpha_in_the_op():
    tl = timeline(draft(global_alpha=0.5, clip=clip_obj(alpha=0.8)))
    clip = tl.tracks[0].clips[0]
    assert clip.text.rgba()[..., 3].max() == 128
    (op,) = text_ops(plan_frame(tl, 0))
    assert op.opacity == pytest.approx(0.8)


def test_a_static_caption_is_rasterised_once_and_dropped_after_its_clip():
    tl = timeline(draft())
    pool = TextRasters(tl)
    first = None
    for n in range(0, 60, 3):
        (op,) = text_ops(plan_frame(tl, n))
        planes = pool(op)
        first = first or planes
        assert planes is first
    assert pool.rasterised == 1
    pool.advance(2_000_000)
    assert not pool._full


def test_missing_glyphs_become_a_text_warning_with_code_points_and_segment():
    tl = timeline(draft("你好\U0001fae8"))
    (w,) = [w for w in tl.warnings if w.kind == "text"]
    assert w.status == "approximated" and "U+1FAE8" in w.message and w.segment_id == "s"
    tl = timeline(draft("\U0001fae8"))
    assert [w.status for w in tl.warnings if w.kind == "text"] == ["skipped"]
    assert not tl.tracks  # nothing to draw


def test_bubble_and_flower_text_are_approximated_with_warnings():
    effects = [
        {"id": "b", "type": "text_shape", "resource_id": "111", "effect_id": "111"},
        {"id": "f", "type": "text_effect", "resource_id": "222", "effect_id": "222"},
    ]
    tl = timeline(draft(refs=("b", "f"), effects=effects))
    ws = sorted((w.resource_id, w.status) for w in tl.warnings if w.kind == "text")
    assert ws == [("111", "approximated"), ("222", "approximated")]
    layer = tl.tracks[0].clips[0].text
    assert layer.box is not None  # the bubble's stand-in box
    assert all(s.stroke is not None for s in layer.layout.styles)  # 花字: contrasting stroke


def test_caption_composited_over_the_frame():
    d = draft("字幕", style(0, 4, color=YELLOW, stroke=BLACK, size=30), w=480, h=270)
    tl = timeline(d)
    pool = TextRasters(tl)
    comp = Compositor(tl.width, tl.height)
    y = np.zeros((270, 480), np.uint8)
    u = np.zeros((135, 240), np.uint8)
    v = np.zeros((135, 240), np.uint8)
    dst = Planes(y, u, v)
    plan = plan_frame(tl, 0)
    comp.compose(plan, dst, pool)
    yy, uu, vv = rgb_to_yuv709(255, 255, 0)
    ky, _, _ = rgb_to_yuv709(0, 0, 0)
    centre = dst.y[100:170, 180:300]
    assert (np.abs(centre.astype(int) - yy) <= 3).sum() > 300  # yellow glyph pixels
    assert (np.abs(dst.y.astype(int) - ky) <= 3)[:, :150].all()  # left of the caption untouched


def test_a_huge_title_is_rasterised_smaller_and_still_drawn_at_its_size():
    tl = timeline(draft("超大标题", style(0, 8, size=300), type="text"))
    layer = tl.tracks[0].clips[0].text
    assert layer.width * layer.height <= 8_000_000 and layer.geo.scale < 1.0
    (op,) = text_ops(plan_frame(tl, 0))
    x0, _ = op.matrix.apply(*layer.geo.to_raster(0, 0))
    x1, _ = op.matrix.apply(*layer.geo.to_raster(layer.block_size[0], 0))
    assert x1 - x0 == pytest.approx(4 * 300 * 6)  # 4 ideographs of em 1800 px
