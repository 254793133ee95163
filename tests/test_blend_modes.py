"""Mix modes (docs/effects.md#mix-modes): the ten separable blend modes against their RGB twin, hand-computed
pixels, the layer warp, the timeline/plan path and golden frames."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compositor.effects.blend_modes import ENTRIES
from compositor.pixels.compose import Compositor
from compositor.geometry import Affine, pixel_box
from compositor.kernels.blend_mode import MODES, blend_yuv, warp_layer
from compositor.plan import DrawOp, plan_frame
from compositor.resolve import resolve
from tests import naive
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material
from tests.effects_support import check_golden, picture_a, picture_b, planes_of_rgb, rgb_of

EXAMPLES = int(os.environ.get("KERNEL_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# Valid YUV (inside the RGB cube) so that RGB clipping does not blur the comparison.
def _valid_planes(rng, h, w):
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    p = planes_of_rgb(rgb)
    return p.y, p.u, p.v


@SETTINGS
@given(st.sampled_from(sorted(MODES)), st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 6), st.booleans())
def test_blend_yuv_matches_the_rgb_twin(mode, seed, hh, hw, partial):
    rng = np.random.default_rng(seed)
    h, w = 2 * hh, 2 * hw
    dy, du, dv = _valid_planes(rng, h, w)
    sy, su, sv = _valid_planes(rng, h, w)
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8) if partial else np.full((h, w), 255, np.uint8)
    want = naive.blend_yuv(dy, du, dv, sy, su, sv, alpha, mode)
    gy, gu, gv = dy.copy(), du.copy(), dv.copy()
    blend_yuv(gy, gu, gv, sy, su, sv, alpha, MODES[mode], (0, 0, w, h))
    for g, want_ in zip((gy, gu, gv), want):
        assert np.abs(g.astype(int) - want_.astype(int)).max() <= 1, mode


def _solid(rgb, w=8, h=8):
    return planes_of_rgb(np.full((h, w, 3), rgb, np.uint8))


@pytest.mark.parametrize(
    "mode, backdrop, layer, want",
    [
        ("multiply", (200, 100, 50), (255, 255, 255), (200, 100, 50)),
        ("multiply", (200, 100, 50), (0, 0, 0), (0, 0, 0)),
        ("multiply", (200, 100, 50), (128, 128, 128), (100, 50, 25)),
        ("screen", (200, 100, 50), (0, 0, 0), (200, 100, 50)),
        ("screen", (100, 100, 100), (100, 100, 100), (161, 161, 161)),
        ("lighten", (200, 20, 90), (100, 120, 90), (200, 120, 90)),
        ("darken", (200, 20, 90), (100, 120, 90), (100, 20, 90)),
        ("linear_burn", (200, 100, 50), (128, 200, 255), (73, 45, 50)),
        ("color_dodge", (100, 0, 50), (128, 255, 0), (199, 0, 50)),
        ("color_burn", (200, 250, 50), (128, 100, 255), (145, 242, 50)),
        ("overlay", (64, 192, 128), (200, 200, 200), (100, 228, 200)),
        ("hard_light", (64, 192, 128), (200, 60, 128), (173, 90, 129)),
    ],
)
def test_hand_computed_pixels(mode, backdrop, layer, want):
    d, s = _solid(backdrop), _solid(layer)
    alpha = np.full((8, 8), 255, np.uint8)
    blend_yuv(d.y, d.u, d.v, s.y, s.u, s.v, alpha, MODES[mode], (0, 0, 8, 8))
    got = rgb_of(d)[4, 4].astype(int)
    assert np.abs(got - np.array(want)).max() <= 4, (mode, got, want)


def test_zero_coverage_leaves_the_canvas_alone():
    d, s = _solid((10, 200, 30)), _solid((255, 0, 255))
    before = (d.y.copy(), d.u.copy(), d.v.copy())
    blend_yuv(d.y, d.u, d.v, s.y, s.u, s.v, np.zeros((8, 8), np.uint8), MODES["multiply"], (0, 0, 8, 8))
    for a, b in zip((d.y, d.u, d.v), before):
        np.testing.assert_array_equal(a, b)


def test_warp_layer_gives_straight_colour_and_coverage():
    src = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    a = np.full((6, 8), 128, np.uint8)
    dc, da = np.zeros((10, 12), np.uint8), np.zeros((10, 12), np.uint8)
    warp_layer(dc, da, src, a, [[1, 0, -2], [0, 1, -3]], 0.5, (0, 0, 12, 10), empty=7)
    np.testing.assert_array_equal(dc[3:9, 2:10], src)  # colour is not premultiplied
    assert (da[3:9, 2:10] == 64).all() and da[0, 0] == 0 and dc[0, 0] == 7


# -- timeline / plan / compositor --------------------------------------------------------------


def _tl(name, rid=""):
    half = {
        "alpha": 1.0,
        "rotation": 0.0,
        "flip": {"horizontal": False, "vertical": False},
        "scale": {"x": 1.0, "y": 1.0},
        "transform": {"x": 0.0, "y": 0.0},
    }
    obj = minimal_draft(
        videos=[video_material("a"), video_material("b")],
        effects=[{"id": "mm", "type": "mix_mode", "name": name, "resource_id": rid}],
        tracks=[
            track("t1", "video", [segment("A", "a", 0, 10**6)]),
            track("t2", "video", [segment("B", "b", 0, 10**6, refs=["mm"], clip=half, render_index=2)]),
        ],
    )
    d = parse(obj)
    return resolve(d, facts_from_json(d))


def test_timeline_and_plan_keep_the_layers_below_a_blended_one():
    tl = _tl("正片叠底")
    plan = plan_frame(tl, 0)
    draws = [op for op in plan.ops if isinstance(op, DrawOp)]
    assert [op.segment_id for op in draws] == ["A", "B"]  # B is full-frame but not culled
    assert draws[1].blend == "multiply" and not [w for w in tl.warnings if w.kind == "mix_mode"]
    assert _tl("whatever", "6758325439212556814").tracks[1].clips[0].mix_mode == "soft_light"
    assert [w.status for w in _tl("柔光").warnings if w.kind == "mix_mode"] == ["approximated"]
    unknown = _tl("神秘混合")
    assert unknown.tracks[1].clips[0].mix_mode == ""
    assert [w.status for w in unknown.warnings if w.kind == "mix_mode"] == ["skipped"]


def test_registry_has_the_ten_modes():
    assert {e.impl for e in ENTRIES} == set(MODES) and len(ENTRIES) == 10


def _blended(mode, W=96, H=54):
    comp = Compositor(W, H)
    dst = planes_of_rgb(picture_b(W, H))
    src = planes_of_rgb(picture_a(W, H))
    m = (
        Affine.translate(-W / 2, -H / 2)
        .then(Affine.scale(0.8))
        .then(Affine.rotate_cw(12))
        .then(Affine.translate(W / 2, H / 2))
    )
    op = DrawOp(
        segment_id="s",
        media_key="k",
        is_still=True,
        has_alpha=False,
        source_us=None,
        crop_px=(0, 0, W, H),
        matrix=m,
        opacity=0.9,
        box=pixel_box(m.bounds(W, H), W, H),
        blend=mode,
    )
    comp.draw(dst, op, src)
    return rgb_of(dst)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_golden(mode):
    check_golden(f"blend_{mode}", _blended(mode))
