"""Masks (docs/effects.md#masks): the alpha kernel against its twin, shape membership, material-space
geometry (centre, size, rotation, feather, invert), the plan/compositor path, golden frames."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from compositor.pixels.compose import Compositor
from compositor.draft import MaskConfig, MaskMaterial
from compositor.geometry import Affine, pixel_box
from compositor.kernels.mask import (
    MASK_ELLIPSE,
    MASK_HEART,
    MASK_LINE,
    MASK_MIRROR,
    MASK_RECT,
    MASK_STAR,
    STAR_BOX,
    mask_alpha,
    multiply_alpha,
)
from compositor.effects.masks import mask_spec
from compositor.pixels.masks import render_mask
from compositor.plan import DrawOp, plan_frame
from compositor.registry import default_registry
from compositor.resolve import resolve
from tests import naive
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material
from tests.effects_support import check_golden, picture_a, picture_b, planes_of_rgb, rgb_of

EXAMPLES = int(os.environ.get("KERNEL_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# -- kernel ----------------------------------------------------------------------------------


@st.composite
def local_matrix(draw):
    th = draw(st.floats(-math.pi, math.pi))
    cx, cy = draw(st.floats(0, 12)), draw(st.floats(0, 10))
    c, s = math.cos(th), math.sin(th)
    # local = R(−θ)·(p − c)
    return np.array([[c, s, -(c * cx + s * cy)], [-s, c, -(-s * cx + c * cy)]])


@SETTINGS
@given(
    st.sampled_from([MASK_LINE, MASK_MIRROR, MASK_ELLIPSE, MASK_RECT]),
    local_matrix(),
    st.floats(0.5, 8),
    st.floats(0.5, 8),
    st.floats(0, 5),
    st.floats(0, 6),
    st.booleans(),
    st.booleans(),
    st.data(),
)
def test_mask_alpha_matches_twin(shape, m, hw, hh, feather, radius, invert, with_base, data):
    h, w = data.draw(st.integers(1, 10)), data.draw(st.integers(1, 12))
    base = data.draw(hnp.arrays(np.uint8, (h, w))) if with_base else None
    dst = np.zeros((h, w), np.uint8)
    mask_alpha(dst, shape, m, hw, hh, feather, radius=radius, invert=invert, base=base)
    want = naive.mask_alpha_simple(shape, m, hw, hh, feather, h, w, radius, invert, base)
    d = np.abs(dst.astype(int) - want.astype(int))
    assert d.max() <= 1


@SETTINGS
@given(hnp.arrays(np.uint8, (5, 7)), hnp.arrays(np.uint8, (5, 7)))
def test_multiply_alpha_matches_twin(a, b):
    dst = np.zeros_like(a)
    multiply_alpha(dst, a, b)
    np.testing.assert_array_equal(dst, naive.multiply_alpha(a, b))


def _coverage(shape, hw, hh, size=(64, 64), feather=0.0, rot=0.0, invert=False, radius=0.0):
    h, w = size
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    cx, cy = w / 2, h / 2
    m = [[c, s, -(c * cx + s * cy)], [-s, c, -(-s * cx + c * cy)]]
    out = np.zeros(size, np.uint8)
    mask_alpha(out, shape, m, hw, hh, feather, radius=radius, invert=invert)
    return out


def test_line_keeps_the_part_above():
    a = _coverage(MASK_LINE, 0, 0)
    assert (a[:31] == 255).all() and (a[33:] == 0).all()
    a = _coverage(MASK_LINE, 0, 0, rot=90)  # turned clockwise: keeps the right side... (y down local)
    assert a[32, 50] != a[32, 10]


def test_mirror_keeps_a_band():
    a = _coverage(MASK_MIRROR, 0, 8)
    assert (a[26:38] == 255).all() and (a[:22] == 0).all() and (a[42:] == 0).all()


def test_rectangle_round_corners_and_invert():
    sharp = _coverage(MASK_RECT, 20, 12)
    round_ = _coverage(MASK_RECT, 20, 12, radius=10)
    assert sharp[21, 13] == 255 and round_[21, 13] == 0  # the corner is cut
    assert round_[32, 32] == 255
    inv = _coverage(MASK_RECT, 20, 12, invert=True)
    np.testing.assert_array_equal(inv.astype(int), 255 - sharp.astype(int))


def test_feather_widens_the_edge_ramp():
    hard = _coverage(MASK_ELLIPSE, 20, 20)
    soft = _coverage(MASK_ELLIPSE, 20, 20, feather=12)
    ramp = lambda a: int(((a > 0) & (a < 255)).sum())
    assert ramp(soft) > 5 * ramp(hard)
    assert soft[32, 32] == 255 and soft[0, 0] == 0


def _point_in_polygon(x, y, pts):
    inside = False
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def test_star_matches_a_polygon_away_from_its_edges():
    hw = hh = 28.0
    a = _coverage(MASK_STAR, hw, hh)
    x0, y0, x1, y1 = STAR_BOX
    sx, sy = (x1 - x0) / (2 * hw), (y1 - y0) / (2 * hh)
    pts = []
    for k in range(10):  # unit star, point up, y up
        r = 1.0 if k % 2 == 0 else 0.381966011250
        ang = math.pi / 2 + k * math.pi / 5
        ux, uy = r * math.cos(ang), r * math.sin(ang)
        pts.append((32 + (ux - (x0 + x1) / 2) / sx, 32 - (uy - (y0 + y1) / 2) / sy))
    checked = 0
    for y in range(64):
        for x in range(64):
            px, py = x + 0.5, y + 0.5
            d = min(math.dist((px, py), p) for p in pts)
            if d < 3:
                continue
            inside = _point_in_polygon(px, py, pts)
            if any(_seg_dist(px, py, p, q) < 2.0 for p, q in zip(pts, pts[1:] + pts[:1])):
                continue
            assert a[y, x] == (255 if inside else 0), (x, y)
            checked += 1
    assert checked > 3000


def _seg_dist(px, py, p, q):
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    t = max(0.0, min(1.0, ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - x0 - t * dx, py - y0 - t * dy)


def test_heart_is_symmetric_with_the_tip_down_and_a_notch_up():
    a = _coverage(MASK_HEART, 28, 25)
    np.testing.assert_array_equal(a, a[:, ::-1])
    assert a[32, 32] == 255  # centre
    assert a[54, 32] == 255 and a[54, 20] == 0  # tip near the bottom, narrow there
    assert a[8, 32] == 0 and a[14, 20] == 255  # notch at the top centre, lobes beside it
    assert a[0, 0] == 0 and a[63, 63] == 0


# -- geometry in material space ----------------------------------------------------------------


def _material(name, impl, **cfg):
    reg = default_registry()
    e = reg.lookup("mask", name)
    return MaskMaterial(id="m", name=name, resource_id=e.resource_ids[0], config=MaskConfig(**cfg)), e.impl


def test_centre_is_in_half_material_units_with_y_up():
    mat, impl = _material("圆形", "circle", centerX=0.5, centerY=0.5, width=0.1, height=0.1)
    spec = mask_spec(mat, impl, 200, 100, 0)
    # centre = (100 + 0.5·100, 50 − 0.5·50) = (150, 25)
    assert spec.local.apply(150, 25) == pytest.approx((0, 0))
    assert (spec.hw, spec.hh) == pytest.approx((10, 5))


def test_rotation_is_clockwise_and_follows_container_rotation():
    mat, impl = _material("矩形", "rectangle", width=0.5, height=0.2, rotation=90)
    spec = mask_spec(mat, impl, 100, 100, 0)
    # a point right of the centre on screen lies on the local −y axis after a clockwise turn
    lx, ly = spec.local.apply(80, 50)
    assert lx == pytest.approx(0, abs=1e-9) and ly == pytest.approx(-30)
    # coded 100×50 shown rotated 90° (display 50×100): the mask is laid out in display space
    spec = mask_spec(_material("圆形", "circle", centerY=0.5)[0], "circle", 100, 50, 90)
    # display centre (25, 25) ← coded point: display = (coded_h − y, x) for 90°
    assert spec.local.apply(25, 25) == pytest.approx((0, 0))


def test_render_mask_writes_full_and_half_alpha():
    mat, impl = _material("圆形", "circle", width=0.5, height=0.5)
    spec = mask_spec(mat, impl, 40, 40, 0)
    a, ah = np.zeros((40, 40), np.uint8), np.zeros((20, 20), np.uint8)
    render_mask(spec, a, ah)
    np.testing.assert_array_equal(ah, naive.downsample2x(a))
    assert a[20, 20] == 255 and a[0, 0] == 0


# -- timeline, plan and compositor -------------------------------------------------------------

HEART = {
    "id": "mk",
    "type": "mask",
    "name": "爱心",
    "resource_type": "geometric_shape",
    "resource_id": "6794051276482023949",
    "config": {
        "centerX": 0.0,
        "centerY": 0.0,
        "width": 0.5,
        "height": 0.8,
        "rotation": 0,
        "feather": 0,
        "invert": False,
    },
}


def _tl(masks, clip=None, refs=("mk",)):
    obj = minimal_draft(
        width=192,
        height=108,
        videos=[video_material("v", 192, 108)],
        masks=masks,
        tracks=[track("t", "video", [segment("s", "v", 0, 1_000_000, refs=list(refs), clip=clip)])],
    )
    d = parse(obj)
    return resolve(d, facts_from_json(d))


def test_timeline_attaches_masks_and_reports_approximations():
    tl = _tl([HEART])
    clip = tl.tracks[0].clips[0]
    assert clip.mask is not None and clip.mask.impl == "heart"
    w = [w for w in tl.warnings if w.kind == "mask"]
    assert len(w) == 1 and w[0].status == "approximated" and w[0].segment_id == "s"
    op = plan_frame(tl, 0).ops[-1]
    assert isinstance(op, DrawOp) and op.mask == clip.mask and not op.covers(192, 108)
    # a circle is exact: no warning; an unknown shape is skipped with one
    circ = dict(HEART, name="圆形", resource_id="6791700663249146381", resource_type="circle")
    assert not [w for w in _tl([circ]).warnings if w.kind == "mask"]
    odd = dict(HEART, name="云朵", resource_id="1", resource_type="cloud")
    tl = _tl([odd])
    assert tl.tracks[0].clips[0].mask is None
    assert [w.status for w in tl.warnings if w.kind == "mask"] == ["skipped"]


def _draw(spec, matrix, size=(96, 54), src_rgb=None):
    W, H = size
    comp = Compositor(W, H)
    dst = planes_of_rgb(picture_b(W, H))
    src = planes_of_rgb(src_rgb if src_rgb is not None else np.full((H, W, 3), (255, 0, 0), np.uint8))
    box = pixel_box(matrix.bounds(src.width, src.height), W, H)
    op = DrawOp(
        segment_id="s",
        media_key="k",
        is_still=True,
        has_alpha=False,
        source_us=None,
        crop_px=(0, 0, src.width, src.height),
        matrix=matrix,
        opacity=1.0,
        box=box,
        mask=spec,
    )
    comp.draw(dst, op, src)
    return rgb_of(dst)


def test_the_mask_moves_with_the_clip():
    mat, impl = _material("圆形", "circle", width=0.3, height=0.3 * 96 / 54)
    spec = mask_spec(mat, impl, 96, 54, 0)
    red = np.array([255, 0, 0])
    still = _draw(spec, Affine())
    moved = _draw(spec, Affine.scale(0.5).then(Affine.translate(48, 0)))  # half size, top-right quarter
    assert np.abs(still[27, 48].astype(int) - red).max() < 40  # disc at the picture centre
    assert np.abs(still[5, 5].astype(int) - red).max() > 100  # canvas outside
    assert np.abs(moved[13, 72].astype(int) - red).max() < 40  # disc centre moved to (72, 13.5)
    assert np.abs(moved[27, 48].astype(int) - red).max() > 100


GOLDEN_MASKS = [
    ("line", "线性", dict(rotation=20, feather=0.1)),
    ("mirror", "镜面", dict(height=0.35, rotation=-30)),
    ("circle", "圆形", dict(width=0.45, height=0.8, centerX=0.2)),
    ("rectangle", "矩形", dict(width=0.6, height=0.6, roundCorner=0.5, rotation=10)),
    ("heart", "爱心", dict(width=0.45, height=0.75)),
    ("star", "星形", dict(width=0.45, height=0.8, rotation=15)),
    ("circle_feather_invert", "圆形", dict(width=0.4, height=0.7, feather=0.6, invert=True)),
]


@pytest.mark.parametrize("label, name, cfg", GOLDEN_MASKS, ids=[g[0] for g in GOLDEN_MASKS])
def test_golden(label, name, cfg):
    mat, impl = _material(name, None, **cfg)
    spec = mask_spec(mat, impl, 96, 54, 0)
    m = Affine.translate(-48, -27).then(Affine.scale(0.9)).then(Affine.rotate_cw(8)).then(Affine.translate(48, 27))
    check_golden(f"mask_{label}", _draw(spec, m, src_rgb=picture_a(96, 54)))
