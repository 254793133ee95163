"""Transitions (docs/effects.md#transitions): kernels against their NumPy twins, end points, directions,
is_overlap halves, the registry's names and ids, and golden frames (tests/golden/effects/)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from compositor.pixels import transitions as T
from compositor.kernels.dirblur import directional_blur
from compositor.kernels.resample import EDGE_CLAMP, EDGE_FILL, EDGE_MIRROR, pixelate_mix, warp_mix
from compositor.kernels.reveal import SHAPE_BAND, SHAPE_BLINDS, SHAPE_CIRCLE, SHAPE_CLOCK, SHAPE_LINEAR, reveal_mix
from compositor.plan import TransitionOp, plan_frame
from compositor.registry import default_registry
from compositor.pixels.scratch import Scratch
from compositor.resolve import resolve
from tests import naive
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material
from tests.effects_support import blank, check_golden, copy, picture_a, picture_b, planes_of_rgb, rgb_of, strip

EXAMPLES = int(os.environ.get("KERNEL_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def u8(shape):
    return hnp.arrays(np.uint8, shape, fill=st.nothing())


def within(got, want, lsb=1):
    d = np.abs(got.astype(int) - want.astype(int))
    assert d.size == 0 or d.max() <= lsb, f"max diff {d.max()}"


# -- kernels against their twins -------------------------------------------------------------


@st.composite
def two_planes(draw):
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    return draw(u8((h, w))), draw(u8((h, w)))


@SETTINGS
@given(
    two_planes(),
    st.sampled_from([SHAPE_LINEAR, SHAPE_BAND, SHAPE_CIRCLE, SHAPE_CLOCK, SHAPE_BLINDS]),
    st.lists(st.floats(-12, 12), min_size=5, max_size=5),
    st.sampled_from([1.0, 2.0]),
    st.floats(0.5, 6.0),
)
def test_reveal_mix_matches_twin(ab, shape, params, scale, soft):
    a, b = ab
    if shape == SHAPE_BLINDS:
        params[0] = abs(params[0]) + 1.0
    if shape in (SHAPE_LINEAR, SHAPE_BAND):
        n = math.hypot(params[0], params[1]) or 1.0
        params[0], params[1] = params[0] / n, params[1] / n
    dst = np.zeros_like(a)
    reveal_mix(dst, a, b, shape, params, sx=scale, sy=scale, soft=soft)
    within(dst, naive.reveal_mix(a, b, shape, params, scale, scale, soft))


def test_reveal_mix_may_write_over_its_inputs():
    a = np.arange(60, dtype=np.uint8).reshape(6, 10)
    b = 255 - a
    want = naive.reveal_mix(a, b, SHAPE_LINEAR, (1.0, 0.0, 5.0), soft=2.0)
    bb = b.copy()
    reveal_mix(bb, a, bb, SHAPE_LINEAR, (1.0, 0.0, 5.0), soft=2.0)
    np.testing.assert_array_equal(bb, want)


@st.composite
def matrices(draw):
    s = draw(st.floats(0.3, 3.0))
    th = draw(st.floats(-math.pi, math.pi))
    tx, ty = draw(st.floats(-8, 8)), draw(st.floats(-8, 8))
    c, sn = math.cos(th) / s, math.sin(th) / s
    return np.array([[c, sn, tx], [-sn, c, ty]])


@SETTINGS
@given(
    two_planes(),
    matrices(),
    matrices(),
    st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0, 1)),
    st.sampled_from([EDGE_FILL, EDGE_CLAMP, EDGE_MIRROR]),
    st.integers(0, 255),
    st.sampled_from([1, 3]),
    st.floats(-4, 4),
)
def test_warp_mix_matches_twin(ab, ma, mb, w, edge, fill, taps, blur):
    a, b = ab
    dst = np.zeros((7, 9), np.uint8)
    warp_mix(dst, a, ma, b, mb, w, edge=edge, fill=fill, taps=taps, blur_dx=blur, blur_dy=-blur / 2)
    within(dst, naive.warp_mix(np.zeros((7, 9), np.uint8), a, ma, b, mb, w, None, edge, fill, taps, blur, -blur / 2))


@SETTINGS
@given(
    two_planes(),
    st.floats(0.3, 3.0),
    st.floats(0.3, 3.0),
    st.floats(-12, 12),
    st.floats(-12, 12),
    st.sampled_from([EDGE_FILL, EDGE_CLAMP, EDGE_MIRROR]),
    st.integers(0, 255),
    st.sampled_from([0.0, 1.0]),
)
def test_warp_mix_axis_aligned_matches_twin(ab, sx, sy, tx, ty, edge, fill, w):
    """Scale + translation takes the tabulated-row path of the kernel."""
    a, b = ab
    m = np.array([[1 / sx, 0.0, tx], [0.0, 1 / sy, ty]])
    dst = np.zeros((8, 11), np.uint8)
    warp_mix(dst, a, m, b, m, w, edge=edge, fill=fill)
    within(dst, naive.warp_mix(np.zeros((8, 11), np.uint8), a, m, b, m, w, None, edge, fill))


def test_warp_mix_identity_and_end_points_are_exact():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 256, (2, 12, 16), dtype=np.uint8)
    eye = np.eye(2, 3)
    for w, want in ((0.0, a), (1.0, b)):
        dst = np.zeros_like(a)
        warp_mix(dst, a, eye, b, eye, w)
        np.testing.assert_array_equal(dst, want)
    # mirror edges: shifting by the width shows the mirror image
    dst = np.zeros_like(a)
    warp_mix(dst, a, [[1, 0, 16], [0, 1, 0]], None, None, 0.0, edge=EDGE_MIRROR)
    np.testing.assert_array_equal(dst, a[:, ::-1])


@SETTINGS
@given(two_planes(), st.floats(0, 1), st.integers(1, 5), st.integers(0, 4), st.integers(0, 4))
def test_pixelate_mix_matches_twin(ab, w, block, ox, oy):
    a, b = ab
    dst = np.zeros_like(a)
    pixelate_mix(dst, a, b, w, block, ox, oy)
    within(dst, naive.pixelate_mix(a, b, w, block, ox, oy))


@SETTINGS
@given(
    u8(st.tuples(st.integers(1, 9), st.integers(1, 9))), st.integers(0, 6), st.sampled_from([0, 1]), st.integers(1, 3)
)
def test_directional_blur_matches_twin(src, r, axis, passes):
    dst = np.zeros_like(src)
    directional_blur(src, dst, r, axis, np.zeros_like(src), passes=passes)
    np.testing.assert_array_equal(dst, naive.directional_blur(src, r, axis, passes))


# -- blend(): end points, aliasing, halves ---------------------------------------------------

W, H = 96, 54


@pytest.fixture(scope="module")
def pics():
    return planes_of_rgb(picture_a(W, H)), planes_of_rgb(picture_b(W, H))


def _run(kind, a, b, p, *, overlap=True, below=None, alias=False):
    if alias:
        dst = copy(b)
        T.blend(kind, dst, a, dst, p, overlap=overlap, below=below, scratch=Scratch())
    else:
        dst = blank(W, H)
        T.blend(kind, dst, a, b, p, overlap=overlap, below=below, scratch=Scratch())
    return dst


@pytest.mark.parametrize("kind", sorted(T.IMPL_KEYS))
def test_every_transition_starts_at_a_and_ends_at_b(kind, pics):
    a, b = pics
    for p, want in ((0.0, a), (1.0, b)):
        got = _run(kind, a, b, p)
        for g, w_ in ((got.y, want.y), (got.u, want.u), (got.v, want.v)):
            within(g, w_, 1)


@pytest.mark.parametrize("kind", sorted(T.IMPL_KEYS))
def test_writing_over_b_gives_the_same_picture(kind, pics):
    a, b = pics
    for p in (0.3, 0.5, 0.8):
        sep, alias = _run(kind, a, b, p), _run(kind, a, b, p, alias=True)
        np.testing.assert_array_equal(sep.y, alias.y)
        np.testing.assert_array_equal(sep.u, alias.u)


@pytest.mark.parametrize("kind", sorted(T.IMPL_KEYS))
def test_midway_differs_from_both_ends(kind, pics):
    a, b = pics
    got = _run(kind, a, b, 0.4)
    assert np.abs(got.y.astype(int) - a.y).mean() > 2 or np.abs(got.y.astype(int) - b.y).mean() > 2


def _b_fraction(got, a, b, region):
    """Fraction of pixels of ``region`` (a slice) closer to B than to A (luma)."""
    g, pa, pb = got.y[region].astype(int), a.y[region].astype(int), b.y[region].astype(int)
    sel = np.abs(pa - pb) > 20
    return float((np.abs(g - pb) < np.abs(g - pa))[sel].mean())


@pytest.mark.parametrize(
    "kind, p, b_region, a_region",
    [
        ("wipe_right", 0.25, np.s_[:, :20], np.s_[:, 30:]),
        ("wipe_right", 0.75, np.s_[:, :66], np.s_[:, 78:]),
        ("wipe_left", 0.25, np.s_[:, 76:], np.s_[:, :66]),
        ("wipe_down", 0.25, np.s_[:10, :], np.s_[18:, :]),
        ("wipe_up", 0.25, np.s_[44:, :], np.s_[:36, :]),
        ("curtain_h", 0.5, np.s_[:, 30:66], np.s_[:, :20]),
        ("curtain_v", 0.5, np.s_[17:37, :], np.s_[:10, :]),
        ("circle_open", 0.3, np.s_[22:32, 43:53], np.s_[:6, :10]),
        ("circle_scan", 0.25, np.s_[2:20, 52:90], np.s_[30:, :40]),
        ("blinds", 0.5, np.s_[0:2, :], np.s_[5:6, :]),
    ],
)
def test_reveal_directions(kind, p, b_region, a_region, pics):
    a, b = pics
    got = _run(kind, a, b, p)
    assert _b_fraction(got, a, b, b_region) > 0.95
    assert _b_fraction(got, a, b, a_region) < 0.05


def test_wipe_edge_sits_at_the_progress(pics):
    a, b = pics
    soft = max(2.0, 0.01 * W)
    for p in (0.25, 0.5, 0.75):
        got = _run("wipe_right", a, b, p)
        edge = -soft / 2 + p * (W + soft)
        cols = [x for x in range(W) if _b_fraction(got, a, b, np.s_[:, x : x + 1]) > 0.5]
        assert abs(max(cols) + 1 - edge) <= 1.5


def test_push_moves_both_pictures_together(pics):
    a, b = pics
    got = _run("push_left", a, b, 0.5)  # eased 0.5 -> half a frame
    np.testing.assert_array_equal(got.y[:, : W // 2], a.y[:, W // 2 :])
    np.testing.assert_array_equal(got.y[:, W // 2 :], b.y[:, : W // 2])
    got = _run("push_down", a, b, 0.5)
    np.testing.assert_array_equal(got.y[H // 2 + 1 :, :], a.y[: H - H // 2 - 1, :][: H - (H // 2 + 1)])


def test_slide_is_a_out_then_b_in(pics):
    a, b = pics
    first = _run("slide_left", a, b, 0.2)
    second = _run("slide_left", a, b, 0.8)
    assert np.abs(first.y.astype(int) - a.y).mean() < np.abs(first.y.astype(int) - b.y).mean()
    assert np.abs(second.y.astype(int) - b.y).mean() < np.abs(second.y.astype(int) - a.y).mean()


def test_zoom_in_scales_a_about_the_centre(pics):
    a, b = pics
    got = _run("zoom_in", a, b, 0.25)  # first half, eased 0.5 -> scale 1.5
    ref = blank(W, H)
    warp_mix(ref.y, a.y, [[1 / 1.5, 0, W / 2 * (1 - 1 / 1.5)], [0, 1 / 1.5, H / 2 * (1 - 1 / 1.5)]], None, None, 0)
    within(got.y, ref.y, 1)


def test_not_overlapping_plays_a_out_then_b_in(pics):
    a, b = pics
    below = planes_of_rgb(np.zeros((H, W, 3), np.uint8))
    first = _run("wipe_right", a, b, 0.25, overlap=False, below=below)  # A wiped away to `below`
    assert _b_fraction(first, a, below, np.s_[:, :40]) > 0.95 and _b_fraction(first, a, below, np.s_[:, 56:]) < 0.05
    second = _run("wipe_right", a, b, 0.75, overlap=False, below=below)  # then B wiped in
    assert _b_fraction(second, below, b, np.s_[:, :40]) > 0.95
    assert _b_fraction(second, below, b, np.s_[:, 56:]) < 0.05
    # halves-style kinds ignore the flag
    for kind in T.HALVES:
        x, y = _run(kind, a, b, 0.3), _run(kind, a, b, 0.3, overlap=False)
        np.testing.assert_array_equal(x.y, y.y)


def test_fades_go_through_black_and_white(pics):
    a, b = pics
    mid = _run("fade_black", a, b, 0.5)
    assert mid.y.max() == 16 and mid.u.min() == mid.u.max() == 128
    mid = _run("fade_white", a, b, 0.5)
    assert mid.y.min() == 235


# -- registry ------------------------------------------------------------------------------------

REQUIRED = {
    "叠化": "dissolve",
    "闪黑": "fade_black",
    "闪白": "fade_white",
    "向左擦除": "wipe_left",
    "向右擦除": "wipe_right",
    "向上擦除": "wipe_up",
    "向下擦除": "wipe_down",
    "左移": "push_left",
    "右移": "push_right",
    "上移": "push_up",
    "下移": "push_down",
    "向左": "slide_left",
    "向右": "slide_right",
    "向上": "slide_up",
    "向下": "slide_down",
    "推近": "zoom_in",
    "拉远": "zoom_out",
    "圆形遮罩": "circle_open",
    "圆形扫描": "circle_scan",
    "百叶窗": "blinds",
    "马赛克": "mosaic",
    "横向拉幕": "curtain_h",
    "竖向拉幕": "curtain_v",
    "模糊": "blur",
    "顺时针旋转": "rotate_cw",
    "逆时针旋转": "rotate_ccw",
    "中心旋转": "spin",
    "色彩溶解": "dissolve",
}


def test_registry_names_the_most_used_transitions():
    reg = default_registry()
    for name, impl in REQUIRED.items():
        e = reg.lookup("transition", name)
        assert e is not None and e.impl == impl, name
        assert e.impl in T.IMPL_KEYS
    assert len({e.impl for e in reg.entries("transition")}) >= 20
    # looked up by catalogue resource id whatever the name says
    assert reg.lookup("transition", "renamed", "6724849898857959950").impl == "wipe_right"
    assert reg.lookup("transition", "", "6724239388189921806").impl == "fade_black"


def _draft(name, is_overlap=True, rid=""):
    v = [video_material("a"), video_material("b")]
    tr = {
        "id": "tr",
        "type": "transition",
        "name": name,
        "duration": 1_000_000,
        "is_overlap": is_overlap,
        "resource_id": rid,
    }
    obj = minimal_draft(
        videos=v,
        transitions=[tr],
        tracks=[
            track("t", "video", [segment("A", "a", 0, 2_000_000, refs=["tr"]), segment("B", "b", 2_000_000, 2_000_000)])
        ],
    )
    d = parse(obj)
    return resolve(d, facts_from_json(d))


def test_timeline_resolves_names_and_the_overlap_flag():
    tl = _draft("向左", is_overlap=False)
    op = plan_frame(tl, 60).ops[-1]  # t = 2 s, the cut
    assert isinstance(op, TransitionOp) and op.impl == "slide_left" and op.overlap is False
    assert op.progress == pytest.approx(0.5)
    warned = [w for w in tl.warnings if w.kind == "transition"]
    assert len(warned) == 1 and warned[0].status == "approximated" and warned[0].segment_id == "A"
    assert (warned[0].start_us, warned[0].end_us) == (1_500_000, 2_500_000)


def test_layers_below_are_kept_when_the_halves_show_them():
    v = [video_material("bg"), video_material("a"), video_material("b")]
    tr = {"id": "tr", "type": "transition", "name": "向右擦除", "duration": 1_000_000, "is_overlap": False}
    obj = minimal_draft(
        videos=v,
        transitions=[tr],
        tracks=[
            track("under", "video", [segment("BG", "bg", 0, 4_000_000)]),
            track(
                "t",
                "video",
                [
                    segment("A", "a", 0, 2_000_000, refs=["tr"], render_index=2),
                    segment("B", "b", 2_000_000, 2_000_000, render_index=2),
                ],
            ),
        ],
    )
    d = parse(obj)
    tl = resolve(d, facts_from_json(d))
    ops = plan_frame(tl, 60).ops
    assert [type(o).__name__ for o in ops] == ["DrawOp", "TransitionOp"] and ops[0].segment_id == "BG"
    tr["is_overlap"] = True
    d = parse(obj)
    assert [type(o).__name__ for o in plan_frame(resolve(d, facts_from_json(d)), 60).ops] == ["TransitionOp"]


def test_unknown_transition_falls_back_to_a_dissolve_with_a_warning():
    tl = _draft("不存在的转场")
    assert tl.tracks[0].clips[0].transition_out.impl == "dissolve"
    w = [w for w in tl.warnings if w.kind == "transition"]
    assert len(w) == 1 and "unknown" in w[0].message


def test_exact_dissolve_is_not_reported():
    tl = _draft("叠化")
    assert not [w for w in tl.warnings if w.kind == "transition"]


# -- golden frames -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(T.IMPL_KEYS))
def test_golden(kind, pics):
    a, b = pics
    frames = [rgb_of(_run(kind, a, b, p)) for p in (0.25, 0.5, 0.75)]
    check_golden(f"transition_{kind}", strip(frames))
