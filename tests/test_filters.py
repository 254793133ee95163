"""Filters and scene effects (docs/effects.md): kernels against their twins, the exactness of the
YUV colour matrix, name → family rules, intensity, adjustment layers in the plan and the
compositor, and what each family does to a picture."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from compositor.effects import filters as EF
from compositor.pixels import filters as F
from compositor.pixels.compose import Compositor
from compositor.geometry import Affine
from compositor.kernels.adjust import add_grain, colour_matrix, highlights, rgb_split, screen_upsampled, sharpen_luma
from compositor.plan import AdjustOp, DrawOp, FramePlan, plan_frame
from compositor.registry import default_registry
from compositor.pixels.scratch import Scratch
from compositor.resolve import resolve
from tests import naive
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material
from tests.effects_support import picture_a, planes_of_rgb, rgb_of

EXAMPLES = int(os.environ.get("KERNEL_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# -- kernels ----------------------------------------------------------------------------------


@st.composite
def yuv(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    ch, cw = (h + 1) // 2, (w + 1) // 2
    return (
        draw(hnp.arrays(np.uint8, (h, w))),
        draw(hnp.arrays(np.uint8, (ch, cw))),
        draw(hnp.arrays(np.uint8, (ch, cw))),
    )


@SETTINGS
@given(yuv(), hnp.arrays(np.float64, (3, 4), elements=st.floats(-2, 2)), st.booleans())
def test_colour_matrix_matches_twin(planes, k, with_lut):
    y, u, v = planes
    lut = np.arange(255, -1, -1, dtype=np.uint8) if with_lut else None
    want = naive.colour_matrix(y, u, v, k, lut)
    gy, gu, gv = y.copy(), u.copy(), v.copy()
    colour_matrix(gy, gu, gv, k, lut)
    for g, w_ in zip((gy, gu, gv), want):
        assert np.abs(g.astype(int) - w_.astype(int)).max() <= 1


@pytest.mark.parametrize(
    "op",
    [
        F.saturation(0.4),
        F.saturation(1.2),
        F.contrast(0.8),
        F.gains(1.1, 0.95, 0.9, (5, 0, -5)),
        F._COLOUR["cool"],
        F._COLOUR["fade"],
        F.towards((255, 255, 255), 0.3),
    ],
)
def test_the_yuv_matrix_equals_the_rgb_operation(op):
    """An affine RGB colour op applied on the planes = per-pixel RGB op + 4:2:0 conversion."""
    rng = np.random.default_rng(7)
    rgb = rng.integers(60, 190, (12, 16, 3)).astype(np.uint8)
    rgb = np.repeat(np.repeat(rgb[::2, ::2], 2, 0), 2, 1)  # flat 2×2 blocks: no subsampling loss
    p = planes_of_rgb(rgb)
    colour_matrix(p.y, p.u, p.v, F.yuv_matrix(op))
    q = planes_of_rgb(rgb)
    src = naive.yuv420_to_rgb_float(q.y, q.u, q.v)
    out = src @ op[:3, :3].T + op[:3, 3]
    wy, wu, wv = naive.rgb_float_to_yuv420(out)
    assert np.abs(p.y.astype(int) - wy).max() <= 1
    assert np.abs(p.u.astype(int) - wu).max() <= 1 and np.abs(p.v.astype(int) - wv).max() <= 1


def test_desaturate_is_exactly_grey_and_keeps_luma():
    p = planes_of_rgb(picture_a(32, 18))
    y0 = p.y.copy()
    colour_matrix(p.y, p.u, p.v, F.yuv_matrix(F._COLOUR["desaturate"]))
    assert (p.u == 128).all() and (p.v == 128).all()
    np.testing.assert_array_equal(p.y, y0)


def test_strength_mixes_exactly_with_the_identity():
    k = F.yuv_matrix(F._COLOUR["warm"], 0.0)
    np.testing.assert_allclose(k, np.hstack([np.eye(3), np.zeros((3, 1))]), atol=1e-12)
    half = F.yuv_matrix(F._COLOUR["warm"], 0.5)
    full = F.yuv_matrix(F._COLOUR["warm"], 1.0)
    np.testing.assert_allclose(half, (k + full) / 2, atol=1e-12)


@SETTINGS
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9))), st.floats(-2, 3))
def test_sharpen_matches_twin(src, amount):
    dst = np.zeros_like(src)
    sharpen_luma(dst, src, amount)
    assert np.abs(dst.astype(int) - naive.sharpen_luma(src, amount)).max() <= 1


@SETTINGS
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9))), st.integers(0, 254))
def test_highlights_matches_twin(src, t):
    p = src.copy()
    highlights(p, t)
    assert np.abs(p.astype(int) - naive.highlights(src, t)).max() <= 1


def test_grain_is_deterministic_bounded_and_changes_with_the_seed():
    base = np.full((40, 40), 128, np.uint8)
    a, b, c = base.copy(), base.copy(), base.copy()
    add_grain(a, 10.0, 1)
    add_grain(b, 10.0, 1)
    add_grain(c, 10.0, 2)
    np.testing.assert_array_equal(a, b)
    assert (a != c).mean() > 0.5
    assert np.abs(a.astype(int) - 128).max() <= 10 and abs(a.astype(float).mean() - 128) < 1.5


def test_rgb_split_moves_red_right_and_blue_left():
    rgb = np.zeros((8, 32, 3), np.uint8)
    rgb[:, 12:20] = 255  # a white bar
    p = planes_of_rgb(rgb)
    out = planes_of_rgb(np.zeros_like(rgb))
    rgb_split(out.y, out.u, out.v, p.y, p.u, p.v, 3)
    got = rgb_of(out)
    assert got[4, 10, 0] > 150 and got[4, 10, 2] < 100  # left fringe: red (R read 3 px to the right)
    assert got[4, 21, 2] > 150 and got[4, 21, 0] < 100  # right fringe: blue


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 6), st.integers(-4, 4), st.integers(0, 2**32 - 1))
def test_rgb_split_matches_twin(hh, hw, shift, seed):
    rgb = np.random.default_rng(seed).integers(0, 256, (2 * hh, 2 * hw, 3)).astype(np.uint8)
    p = planes_of_rgb(rgb)
    out = planes_of_rgb(np.zeros_like(rgb))
    rgb_split(out.y, out.u, out.v, p.y, p.u, p.v, shift)
    for g, w_ in zip((out.y, out.u, out.v), naive.rgb_split(p.y, p.u, p.v, shift)):
        assert np.abs(g.astype(int) - w_.astype(int)).max() <= 1


def test_screen_upsampled_only_brightens():
    dst = np.full((8, 8), 100, np.uint8)
    small = np.zeros((2, 2), np.uint8)
    small[0, 0] = 255
    screen_upsampled(dst, small, 1.0)
    assert dst[0, 0] > 200 and dst[7, 7] == 100 and (dst >= 100).all()


# -- name rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, name, impl",
    [
        ("effect", "变黑白", "desaturate"),
        ("filter", "默片", "desaturate"),
        ("filter", "高清黑白", "desaturate"),
        ("filter", "黑白记忆", "desaturate"),
        ("effect", "变彩色", "saturation_ramp"),
        ("effect", "变清晰", "blur_in"),
        ("effect", "变清晰 II", "blur_in"),
        ("effect", "失焦", "blur_const"),
        ("effect", "模糊", "blur"),
        ("effect", "动感模糊", "motion_blur_h"),
        ("effect", "纵向模糊", "motion_blur_v"),
        ("effect", "方形模糊", "blur"),
        ("effect", "开幕", "bars_open"),
        ("effect", "X开幕", "bars_open"),
        ("effect", "分屏开幕", "bars_open"),
        ("effect", "闭幕", "bars_close"),
        ("effect", "渐隐闭幕", "bars_close"),
        ("effect", "录制边框 II", "border_rec"),
        ("effect", "DV录制框", "border_rec"),
        ("effect", "取景框 III", "border"),
        ("effect", "基础黑框", "border"),
        ("effect", "噪点", "grain"),
        ("effect", "低像素", "pixelate"),
        ("effect", "像素画", "pixelate"),
        ("effect", "光晕", "bloom"),
        ("effect", "发光", "bloom"),
        ("effect", "复古发光", "bloom"),
        ("effect", "闪白", "flash"),
        ("effect", "曝光", "exposure"),
        ("effect", "色差故障", "rgb_split"),
        ("effect", "抖动", "shake"),
        ("filter", "冷白", "cool"),
        ("filter", "蓝调", "cool"),
        ("filter", "冬日", "cool"),
        ("filter", "暖阳", "warm"),
        ("filter", "落日橘", "warm"),
        ("filter", "夕阳", "warm"),
        ("filter", "奶油", "warm"),
        ("filter", "复古胶片", "vintage"),
        ("filter", "港风", "vintage"),
        ("filter", "旧时光", "vintage"),
        ("filter", "1980", "vintage"),
        ("filter", "VHS", "vintage"),
        ("filter", "高饱和", "saturate"),
        ("filter", "鲜亮", "saturate"),
        ("filter", "浓郁", "saturate"),
        ("filter", "褪色", "fade"),
        ("filter", "灰调日常", "fade"),
        ("filter", "安塞尔灰调", "fade"),
        ("filter", "清晰", "sharpen"),
        ("filter", "高清", "sharpen"),
        ("filter", "明亮", "sharpen"),
        ("filter", "去灰", None),
        ("effect", "下雨", None),
        ("effect", "大雪", None),
        ("effect", "五彩纸屑", None),
        ("effect", "烟花", None),
        ("filter", "神秘滤镜", None),
        ("effect", "冷", None),
    ],
)
def test_name_rules(kind, name, impl):
    e = EF.match(kind, name, registry=default_registry())
    assert (e.impl if e is not None else None) == impl
    e2 = EF.match(kind, name)  # same answer without a registry
    assert (e2.impl if e2 is not None else None) == impl


def test_every_family_has_an_implementation_and_a_note():
    reg = default_registry()
    for kind in ("filter", "effect"):
        for e in reg.entries(kind):
            assert e.impl in EF.IMPL_KEYS and e.status == "approximated" and e.note


def test_strength_and_speed_from_value_and_adjust_params():
    assert EF.strength_and_speed("filter", 0.6, []) == (0.6, 1.0)
    params = [
        {"name": "effects_adjust_speed", "value": 0.66, "default_value": 0.33},
        {"name": "effects_adjust_intensity", "value": 0.4, "default_value": 0.8},
    ]
    s, sp = EF.strength_and_speed("effect", 1.0, params)
    assert s == pytest.approx(0.5) and sp == pytest.approx(2.0)
    assert (
        EF.strength_and_speed("effect", 1.0, [{"name": "effects_adjust_filter", "value": 3, "default_value": 1}])[0]
        == 2.0
    )


# -- families on pictures ------------------------------------------------------------------------

W, H = 64, 36


def _apply(impl, local_us=500_000, dur=2_000_000, strength=1.0, speed=1.0, rgb=None):
    p = planes_of_rgb(rgb if rgb is not None else picture_a(W, H))
    F.apply(F.AdjustSpec("effect", impl, impl, strength=strength, speed=speed, seed=3), p, local_us, dur, Scratch())
    return p


@pytest.mark.parametrize("impl", sorted(EF.IMPL_KEYS))
def test_every_family_changes_the_picture_and_strength_zero_does_not(impl):
    ref = planes_of_rgb(picture_a(W, H))
    local = 0 if impl in ("bars_open", "flash") else (1_999_000 if impl == "bars_close" else 500_000)
    rgb = picture_a(W, H)
    if impl == "bloom":
        rgb = rgb.copy()
        rgb[10:20, 10:20] = 255
        ref = planes_of_rgb(rgb)
    got = _apply(impl, local_us=local, rgb=rgb)
    diff = np.abs(got.y.astype(int) - ref.y).sum() + np.abs(got.u.astype(int) - ref.u).sum()
    assert diff > 0, impl
    zero = _apply(impl, local_us=local, strength=0.0, rgb=rgb)
    np.testing.assert_array_equal(zero.y, ref.y)


def test_bars_open_from_black_and_close_to_black():
    assert (_apply("bars_open", local_us=0).y == 16).all()
    np.testing.assert_array_equal(_apply("bars_open", local_us=1_500_000).y, planes_of_rgb(picture_a(W, H)).y)
    half = _apply("bars_open", local_us=500_000)  # smoothstep(0.5) open
    assert (half.y[:8] == 16).all() and (half.y[H // 2 - 2 : H // 2 + 2] != 16).any()
    assert (_apply("bars_close", local_us=1_999_999).y[H // 2 - 1] == 16).all()


def test_border_paints_the_edges_black():
    p = _apply("border")
    assert (p.y[0] == 16).all() and (p.y[:, 0] == 16).all() and (p.y[H // 2, W // 2] != 16)


def test_pixelate_makes_flat_tiles():
    p = _apply("pixelate", rgb=np.random.default_rng(0).integers(0, 256, (H, W, 3)).astype(np.uint8))
    block = max(2, round(0.025 * W)) + (max(2, round(0.025 * W)) & 1)
    tile = p.y[:block, :block]
    assert (tile == tile[0, 0]).all()


def test_saturation_ramp_goes_from_grey_to_colour():
    start = _apply("saturation_ramp", local_us=0)
    end = _apply("saturation_ramp", local_us=2_000_000)
    assert (start.u == 128).all()
    np.testing.assert_array_equal(end.u, planes_of_rgb(picture_a(W, H)).u)


def test_flash_is_periodic_and_decays():
    peak, late = _apply("flash", local_us=0), _apply("flash", local_us=900_000)
    again = _apply("flash", local_us=1_000_000)
    assert peak.y.mean() > late.y.mean() + 50
    np.testing.assert_array_equal(peak.y, again.y)
    faster = _apply("flash", local_us=500_000, speed=2.0)  # period 0.5 s
    np.testing.assert_array_equal(faster.y, peak.y)


def test_shake_moves_the_picture_and_changes_over_time():
    a, b = _apply("shake", local_us=0), _apply("shake", local_us=300_000)
    ref = planes_of_rgb(picture_a(W, H)).y
    assert (a.y != ref).any() and (a.y != b.y).any()


# -- timeline, plan and compositor ------------------------------------------------------------------

HALF = {
    "alpha": 1.0,
    "rotation": 0.0,
    "flip": {"horizontal": False, "vertical": False},
    "scale": {"x": 0.5, "y": 0.5},
    "transform": {"x": 0.5, "y": 0.0},
}


def _adj_seg(sid, mid, start, dur, ri):
    return {"id": sid, "material_id": mid, "target_timerange": {"start": start, "duration": dur}, "render_index": ri}


def _draft(**extra):
    v = [video_material("a"), video_material("b")]
    tracks = [
        track("bottom", "video", [segment("A", "a", 0, 2_000_000, refs=extra.pop("refs", []))]),
        track("fx", "effect", [_adj_seg("E", "ve", 500_000, 1_000_000, 2)]),
        track("top", "video", [segment("B", "b", 0, 2_000_000, clip=HALF, render_index=3)]),
        track("flt", "filter", [_adj_seg("F", "flt", 0, 2_000_000, 4)]),
    ]
    obj = minimal_draft(
        videos=v,
        tracks=tracks,
        video_effects=[
            {"id": "ve", "type": "video_effect", "name": "变黑白"},
            {"id": "face", "type": "face_effect", "name": "大头"},
        ],
        effects=[
            {"id": "flt", "type": "filter", "name": "暖阳", "value": 0.5},
            {"id": "seg_flt", "type": "filter", "name": "冷白", "value": 1.0},
            {"id": "odd", "type": "filter", "name": "神秘滤镜"},
        ],
        **extra,
    )
    d = parse(obj)
    return resolve(d, facts_from_json(d))


def test_adjustment_layers_sit_at_their_track_position():
    tl = _draft()
    assert [(a.z, a.track_id) for a in tl.adjustments] == [(1, "fx"), (3, "flt")]
    ops = plan_frame(tl, 30).ops  # t = 1 s: both active
    kinds = [type(op).__name__ + ":" + (op.segment_id if hasattr(op, "segment_id") else "") for op in ops]
    assert kinds == ["DrawOp:A", "AdjustOp:E", "DrawOp:B", "AdjustOp:F"]
    e = ops[1]
    assert e.spec.impl == "desaturate" and e.local_us == 500_000 and e.duration_us == 1_000_000
    assert ops[3].spec.impl == "warm" and ops[3].spec.strength == pytest.approx(0.5)
    assert [type(op).__name__ for op in plan_frame(tl, 0).ops] == ["DrawOp", "DrawOp", "AdjustOp"]
    warned = {(w.kind, w.name, w.status) for w in tl.warnings}
    assert ("effect", "变黑白", "approximated") in warned and ("filter", "暖阳", "approximated") in warned


def test_cull_keeps_an_adjustment_above_a_covering_layer_and_drops_it_below():
    full = dict(HALF, scale={"x": 1.0, "y": 1.0}, transform={"x": 0.0, "y": 0.0})
    v = [video_material("a"), video_material("b")]
    obj = minimal_draft(
        videos=v,
        video_effects=[{"id": "ve", "type": "video_effect", "name": "变黑白"}],
        tracks=[
            track("fx", "effect", [_adj_seg("E", "ve", 0, 10**6, 0)]),
            track("v", "video", [segment("B", "b", 0, 10**6, clip=full, render_index=1)]),
            track("fx2", "effect", [_adj_seg("E2", "ve", 0, 10**6, 2)]),
        ],
    )
    d = parse(obj)
    ops = plan_frame(resolve(d, facts_from_json(d)), 0).ops
    assert [getattr(op, "segment_id", "") for op in ops] == ["B", "E2"]


def test_segment_filters_ride_on_the_draw_op():
    tl = _draft(refs=["seg_flt", "face", "odd"])
    a = next(op for op in plan_frame(tl, 15).ops if isinstance(op, DrawOp) and op.segment_id == "A")
    assert [f.spec.impl for f in a.filters] == ["cool"] and a.filters[0].local_us == 500_000
    statuses = {(w.name, w.status) for w in tl.warnings if w.segment_id == "A"}
    assert statuses == {("冷白", "approximated"), ("大头", "skipped"), ("神秘滤镜", "skipped")}


def _solid(rgb, w=W, h=H):
    return planes_of_rgb(np.full((h, w, 3), rgb, np.uint8))


def test_an_adjustment_layer_changes_what_is_below_it_only():
    comp = Compositor(W, H)
    dst = _solid((0, 0, 0))
    red = _solid((255, 0, 0))
    green = _solid((0, 255, 0), W // 2, H)
    desat = F.AdjustSpec("effect", "desaturate", "变黑白")
    draw = lambda sid, src, m: DrawOp(
        segment_id=sid,
        media_key=sid,
        is_still=True,
        has_alpha=False,
        source_us=None,
        crop_px=(0, 0, src.width, src.height),
        matrix=m,
        opacity=1.0,
        box=(0, 0, W, H),
    )
    pics = {"red": red, "green": green}
    plan = FramePlan(
        0, 0, (draw("red", red, Affine()), AdjustOp(desat, 0, 10**6), draw("green", green, Affine.translate(W // 2, 0)))
    )
    comp.compose(plan, dst, lambda op: pics[op.segment_id])
    rgb = rgb_of(dst)
    assert np.abs(rgb[H // 2, 5].astype(int) - 54).max() <= 3  # red → its luma grey
    assert np.abs(rgb[H // 2, W - 5].astype(int) - (0, 255, 0)).max() <= 3  # green above: untouched


def test_segment_filters_change_only_their_clip_and_not_the_source():
    comp = Compositor(W, H)
    dst = _solid((0, 0, 255))
    red = _solid((255, 0, 0), W // 2, H)
    spec = F.AdjustSpec("filter", "desaturate", "黑白")
    op = DrawOp(
        segment_id="r",
        media_key="r",
        is_still=True,
        has_alpha=False,
        source_us=None,
        crop_px=(0, 0, W // 2, H),
        matrix=Affine(),
        opacity=1.0,
        box=(0, 0, W // 2, H),
        filters=(AdjustOp(spec, 0, 10**6, "r"),),
    )
    before = red.u.copy()
    comp.draw(dst, op, red)
    rgb = rgb_of(dst)
    assert np.abs(rgb[5, 5].astype(int) - 54).max() <= 3 and np.abs(rgb[5, W - 3].astype(int) - (0, 0, 255)).max() <= 3
    np.testing.assert_array_equal(red.u, before)  # the (shared) still is untouched
