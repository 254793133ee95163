"""The animation family: every registered animation at start, middle and end; windows; the planner."""

from __future__ import annotations

import math

import numpy as np
import pytest

from compositor.effects.animation import IDENTITY, IMPLS, AnimationSpec, AnimState, state_at
from compositor.plan import DrawOp, plan_frame
from compositor.registry import default_registry
from compositor.resolve import resolve
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material
from tests.text_helpers import animation_container, engine, spec, text_material, text_segment, text_track

FIELDS = ("alpha", "scale", "dx", "dy", "rotation", "reveal", "wipe_lo", "wipe_hi")


def close(a: AnimState, b: AnimState, tol=1e-9) -> bool:
    return all(abs(getattr(a, f) - getattr(b, f)) <= tol for f in FIELDS)


def entries(kind):
    return default_registry().entries(kind)


# -- every entry at start, middle and end ----------------------------------------------------


@pytest.mark.parametrize("entry", entries("animation_in"), ids=lambda e: e.name)
def test_in_animations_end_at_the_clip_as_it_is(entry):
    fn = IMPLS[entry.impl]
    assert close(fn(1.0), IDENTITY, 1e-6), entry
    assert not close(fn(0.0), IDENTITY) or entry.impl.startswith("shake"), entry  # something happens
    mid = fn(0.5)
    assert all(math.isfinite(getattr(mid, f)) for f in FIELDS)


@pytest.mark.parametrize("entry", entries("animation_out"), ids=lambda e: e.name)
def test_out_animations_start_at_the_clip_as_it_is(entry):
    fn = IMPLS[entry.impl]
    assert close(fn(0.0), IDENTITY, 1e-6), entry
    assert not close(fn(1.0), IDENTITY), entry
    assert all(math.isfinite(getattr(fn(0.5), f)) for f in FIELDS)


@pytest.mark.parametrize("entry", entries("animation_loop"), ids=lambda e: e.name)
def test_loop_animations_are_periodic(entry):
    fn = IMPLS[entry.impl]
    a, b = fn(0.0), fn(1.0)
    if entry.impl == "spin_loop":
        assert b.rotation - a.rotation == pytest.approx(360.0)  # a whole turn: same picture
    elif entry.impl == "scroll_left":
        assert a.dx == 2.0 and b.dx == -2.0  # off-screen at both ends
    else:
        assert close(a, b, 1e-9), entry
    assert not close(fn(0.5), a) or not close(fn(0.25), a)


@pytest.mark.parametrize("entry", entries("animation_group"), ids=lambda e: e.name)
def test_group_animations_settle_at_the_end(entry):
    fn = IMPLS[entry.impl]
    assert close(fn(1.0), IDENTITY, 1e-9), entry
    assert not close(fn(0.5), IDENTITY), entry


# Start / middle / end values of each implementation (p = 0, 0.5, 1).
EXPECTED = {
    "fade_in": [dict(alpha=0), dict(alpha=0.5), {}],
    "fade_out": [{}, dict(alpha=0.5), dict(alpha=0)],
    "slide_in_left": [dict(alpha=0, dx=0.5), dict(alpha=0.5, dx=0.0625), {}],
    "slide_in_right": [dict(alpha=0, dx=-0.5), dict(alpha=0.5, dx=-0.0625), {}],
    "slide_in_up": [dict(alpha=0, dy=-0.5), dict(alpha=0.5, dy=-0.0625), {}],
    "slide_in_down": [dict(alpha=0, dy=0.5), dict(alpha=0.5, dy=0.0625), {}],
    "slide_out_left": [{}, dict(alpha=0.5, dx=-0.0625), dict(alpha=0, dx=-0.5)],
    "slide_out_right": [{}, dict(alpha=0.5, dx=0.0625), dict(alpha=0, dx=0.5)],
    "slide_out_up": [{}, dict(alpha=0.5, dy=0.0625), dict(alpha=0, dy=0.5)],
    "slide_out_down": [{}, dict(alpha=0.5, dy=-0.0625), dict(alpha=0, dy=-0.5)],
    "zoom_in_small": [dict(alpha=0, scale=0.5), dict(alpha=0.5, scale=0.9375), {}],
    "zoom_in_large": [dict(alpha=0, scale=1.5), dict(alpha=0.5, scale=1.0625), {}],
    "zoom_in_slight": [dict(alpha=0, scale=0.9), dict(alpha=0.5, scale=0.9875), {}],
    "zoom_out_grow": [{}, dict(alpha=0.5, scale=1.0625), dict(alpha=0, scale=1.5)],
    "zoom_out_shrink": [{}, dict(alpha=0.5, scale=0.9375), dict(alpha=0, scale=0.5)],
    "zoom_out_slight": [{}, dict(alpha=0.5, scale=1.0125), dict(alpha=0, scale=1.1)],
    "spin_in": [dict(alpha=0, rotation=-360), dict(alpha=0.5, rotation=-45), {}],
    "spin_out": [{}, dict(alpha=0.5, rotation=45), dict(alpha=0, rotation=360)],
    "typewriter_in": [dict(reveal=0), dict(reveal=0.5), {}],
    "typewriter_out": [{}, dict(reveal=0.5), dict(reveal=0)],
    "wipe_in_right": [dict(wipe_hi=0), dict(wipe_hi=0.5), {}],
    "wipe_in_left": [dict(wipe_lo=1), dict(wipe_lo=0.5), {}],
    "wipe_out_right": [{}, dict(wipe_lo=0.5), dict(wipe_lo=1)],
    "wipe_out_left": [{}, dict(wipe_hi=0.5), dict(wipe_hi=0)],
    "blink": [{}, dict(alpha=0), {}],
    "breathe": [{}, dict(scale=1.06), {}],
    "jump": [{}, dict(dy=0.05), {}],
    "jump_small": [{}, dict(dy=0.025), {}],
    "swing": [{}, {}, {}],
    "spin_loop": [{}, dict(rotation=180), dict(rotation=360)],
    "scroll_left": [dict(dx=2), {}, dict(dx=-2)],
    "pulse": [{}, dict(scale=1.15), {}],
    "pulse_ii": [{}, dict(scale=0.85), {}],
}


@pytest.mark.parametrize("impl", sorted(EXPECTED))
def test_start_middle_end_values(impl):
    for p, want in zip((0.0, 0.5, 1.0), EXPECTED[impl]):
        got = IMPLS[impl](p)
        ref = AnimState(**want)
        for f in FIELDS:
            assert getattr(got, f) == pytest.approx(getattr(ref, f), abs=1e-9), (impl, p, f)


def test_swing_pop_and_shakes_between_the_ends():
    assert IMPLS["swing"](0.25).rotation == pytest.approx(10.0)
    assert IMPLS["swing"](0.75).rotation == pytest.approx(-10.0)
    pop = [IMPLS["pop_in"](p / 100).scale for p in range(101)]
    assert (
        pop[0] == pytest.approx(0.0, abs=1e-12) and pop[-1] == pytest.approx(1.0) and 1.05 < max(pop) < 1.15
    )  # overshoot
    assert IMPLS["pop_out"](0.0).scale == pytest.approx(1.0) and IMPLS["pop_out"](1.0).scale == 0.0
    for impl, amp in (("shake_in", 0.02), ("shake_in_x", 0.05), ("shake_in_y", 0.05)):
        offs = [IMPLS[impl](p / 200) for p in range(201)]
        assert max(max(abs(s.dx), abs(s.dy)) for s in offs) <= amp + 1e-12
        assert max(max(abs(s.dx), abs(s.dy)) for s in offs) > amp / 3
    assert all(IMPLS["shake_in_x"](p / 10).dy == 0 for p in range(11))
    assert all(IMPLS["shake_in_y"](p / 10).dx == 0 for p in range(11))


def test_every_entry_has_an_honest_status_and_resource_ids_are_unique_per_kind():
    reg = default_registry()
    for kind in ("animation_in", "animation_out", "animation_loop", "animation_group"):
        seen = set()
        for e in reg.entries(kind):
            assert e.status in ("exact", "approximated") and e.note
            assert not (set(e.resource_ids) & seen), e
            seen.update(e.resource_ids)
    exact = {e.name for e in reg.entries() if e.kind.startswith("animation_") and e.status == "exact"}
    assert exact == {"渐显", "渐隐"}
    assert reg.lookup("animation_in", "", "6724920249654710791").name == "打字机 I"  # text catalogue id
    assert reg.lookup("animation_in", "", "6798332871267324423").name == "向左滑动"  # video catalogue id


# -- windows ----------------------------------------------------------------------------------


def test_in_out_and_loop_windows():
    specs = (
        AnimationSpec("in", "渐显", "fade_in", 0, 500_000),
        AnimationSpec("loop", "闪烁", "blink", 500_000, 400_000),
        AnimationSpec("out", "渐隐", "fade_out", 2_500_000, 500_000),
    )
    d = 3_000_000
    assert state_at(specs, 0, d).alpha == 0.0
    assert state_at(specs, 250_000, d).alpha == 0.5
    assert state_at(specs, 500_000, d).alpha == pytest.approx(1.0)  # loop at phase 0
    assert state_at(specs, 700_000, d).alpha == pytest.approx(0.0)  # half a blink
    assert state_at(specs, 1_100_000, d).alpha == pytest.approx(0.0)  # again, one period later
    assert state_at(specs, 2_499_999, d).alpha < 1.0  # still looping
    assert state_at(specs, 2_750_000, d).alpha == pytest.approx(0.5)  # loop stopped, out running
    assert state_at(specs, 3_000_000, d).alpha == 0.0


def test_group_spans_its_window_and_holds_after():
    specs = (AnimationSpec("group", "缩放", "pulse", 0, 2_000_000),)
    assert state_at(specs, 1_000_000, 2_000_000).scale == pytest.approx(1.15)
    assert state_at(specs, 2_000_000, 2_000_000).scale == pytest.approx(1.0)


def test_wipe_windows_and_reveal_combine_by_intersection():
    a = AnimState(wipe_hi=0.6, reveal=0.5)
    b = AnimState(wipe_lo=0.2, reveal=0.8)
    c = a.combine(b)
    assert (c.wipe_lo, c.wipe_hi, c.reveal) == (0.2, 0.6, 0.5)


# -- the planner: video and text clips ---------------------------------------------------------


def _video_draft(*anims):
    cont = animation_container("anim", *anims)
    return minimal_draft(
        videos=[video_material("v")],
        material_animations=[cont],
        tracks=[track("t", "video", [segment("s", "v", 0, 2_000_000, refs=("anim",))])],
    )


def test_a_video_slide_in_moves_the_clip_in_the_plan():
    d = parse(_video_draft(("in", "向左滑动", 0, 500_000, "6798332871267324423")))
    tl = resolve(d, facts_from_json(d))
    assert [w.status for w in tl.warnings if w.kind == "animation"] == ["approximated"]
    assert not [op for op in plan_frame(tl, 0).ops if isinstance(op, DrawOp)]  # opacity 0 at p = 0
    op = plan_frame(tl, 3).ops[-1]  # t = 0.1 s, p = 0.2
    p = 0.2
    assert op.opacity == pytest.approx(p)
    assert op.matrix.c == pytest.approx(0.5 * 960 * (1 - p) ** 3)  # entering from the right
    late = plan_frame(tl, 30).ops[-1]
    assert late.matrix.c == pytest.approx(0.0) and late.opacity == 1.0


def test_unknown_animation_is_skipped_with_a_warning():
    d = parse(_video_draft(("in", "不存在的动画", 0, 500_000, "1")))
    tl = resolve(d, facts_from_json(d))
    (w,) = [w for w in tl.warnings if w.kind == "animation"]
    assert w.status == "skipped" and "不存在的动画" in w.name
    assert tl.tracks[0].clips[0].animations == ()


def _text_draft(text, *anims, dur=1_000_000):
    cont = animation_container("anim", *anims)
    return minimal_draft(
        texts=[text_material("m", text)],
        material_animations=[cont],
        tracks=[text_track("tt", [text_segment("s", "m", 0, dur, refs=("anim",))])],
    )


def test_typewriter_reveals_characters_progressively_in_the_plan():
    d = parse(_text_draft("一二三四", ("in", "打字机 I", 0, 400_000, "6724920249654710791")))
    tl = resolve(d, facts_from_json(d))
    clip = tl.tracks[0].clips[0]
    assert clip.kind == "text" and clip.text.chars == 4
    reveals = []
    for n in range(15):
        ops = [op for op in plan_frame(tl, n).ops if getattr(op, "kind", "") == "text"]
        reveals.append(ops[0].reveal if ops else 0)
    # 30 fps, 0.4 s: p = n / 12; chars shown = floor(4 p); -1 (all) from t >= 0.4 s
    assert reveals[:12] == [int(4 * n / 12 + 1e-9) for n in range(12)]
    assert reveals[12:] == [-1, -1, -1]


def test_typewriter_raster_at_start_middle_end():
    layer = engine().layer(spec("一二三四", type="text"), 1920, 1080)
    full = layer.rgba()
    none = layer.rgba(reveal=0)
    half = layer.rgba(reveal=2)
    assert none[..., 3].max() == 0
    cols = lambda im: np.nonzero(im[..., 3].max(axis=0) > 0)[0]
    assert cols(half).max() < layer.centre[0] + 5  # only the left half is drawn
    assert cols(half).min() == cols(full).min()
    np.testing.assert_array_equal(layer.rgba(reveal=4), full)


def test_feathered_wipe_raster_at_start_middle_end():
    layer = engine().layer(spec("一二三四", type="text"), 1920, 1080)
    full = layer.rgba()
    w = full.shape[1]
    assert layer.rgba(wipe=(0.0, 0.0))[..., 3].max() == 0
    mid = layer.rgba(wipe=(0.0, 0.5))
    a = mid[..., 3].astype(int).max(axis=0)
    assert a[: w // 4].max() == full[..., 3][:, : w // 4].max()  # left quarter as before
    assert a[int(0.62 * w) :].max() == 0  # right part hidden
    np.testing.assert_array_equal(layer.rgba(wipe=(0.0, 1.0)), full)
