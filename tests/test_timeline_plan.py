"""Pure tests of timeline resolution and the per-frame plan (no media, no pixels)."""

from fractions import Fraction

import pytest

from compositor.draft import parse_draft
from compositor.errors import DraftEmpty, DraftError, OptionsError
from compositor.keyframes import evaluate
from compositor.plan import BlurFillOp, DrawOp, FillOp, TransitionOp, plan_frame
from compositor.resolve import resolve
from compositor.timeline import OutputOptions
from tests.draft_helpers import facts_from_json, fixture_json, minimal_draft, parse, segment, track, video_material


def _resolve(obj, **opts):
    d = parse(obj)
    return resolve(d, facts_from_json(d), OutputOptions(**opts))


def _draws(plan):
    return [op for op in plan.ops if isinstance(op, DrawOp)]


# -- keyframes ------------------------------------------------------------------------------


def test_keyframes_hold_ends_and_interpolate_linearly():
    pts = ((0, 0.5), (4_000_000, 1.0))
    assert evaluate(pts, -5) == 0.5
    assert evaluate(pts, 2_000_000) == pytest.approx(0.75)
    assert evaluate(pts, 9_000_000) == 1.0
    assert evaluate(((100, 3.0),), 0) == 3.0


# -- layer order ----------------------------------------------------------------------------


def test_layer_order_follows_render_index_then_array_position():
    v = [video_material("a"), video_material("b"), video_material("c")]
    half = {
        "alpha": 1.0,
        "rotation": 0.0,
        "flip": {"horizontal": False, "vertical": False},
        "scale": {"x": 0.5, "y": 0.5},
        "transform": {"x": 0.0, "y": 0.0},
    }
    obj = minimal_draft(
        videos=v,
        tracks=[
            track("empty", "video", []),
            track("top", "video", [segment("s_top", "c", 0, 1_000_000, render_index=5, clip=half)]),
            track("bottom", "video", [segment("s_bottom", "a", 0, 1_000_000, render_index=1)]),
            track("middle", "video", [segment("s_mid", "b", 0, 1_000_000, render_index=3, clip=half)]),
        ],
    )
    tl = _resolve(obj)
    assert [t.track_id for t in tl.tracks] == ["bottom", "middle", "top"]
    assert any(w.kind == "layer_order" for w in tl.warnings)
    plan = plan_frame(tl, 0)
    assert [op.segment_id for op in _draws(plan)] == ["s_bottom", "s_mid", "s_top"]


def test_array_order_is_bottom_to_top_for_capcut_mate_drafts():
    tl = _resolve(fixture_json("11_vertical_mixed_fit"))
    assert not any(w.kind == "layer_order" for w in tl.warnings)
    plan = plan_frame(tl, 30)  # t = 1 s: portrait quad, cyan square on top, caption above
    draws = _draws(plan)
    assert [op.kind for op in draws] == ["media", "media", "text"]
    assert tl.tracks[0].clips[0].segment_id == draws[0].segment_id


# -- geometry -------------------------------------------------------------------------------


def test_spec_worked_example_scale_and_translate():
    clip = {
        "alpha": 1.0,
        "rotation": 0.0,
        "flip": {"horizontal": False, "vertical": False},
        "scale": {"x": 0.5, "y": 0.5},
        "transform": {"x": 0.5, "y": 0.5},
    }
    obj = minimal_draft(
        width=1280,
        height=720,
        videos=[video_material("v")],
        tracks=[track("t", "video", [segment("s", "v", 0, 1_000_000, clip=clip)])],
    )
    op = _draws(plan_frame(_resolve(obj), 0))[0]
    x0, y0, x1, y1 = op.matrix.bounds(1920, 1080)
    assert (x0, y0, x1, y1) == pytest.approx((640, 0, 1280, 360))


def test_contain_fit_letterboxes_landscape_on_portrait_canvas():
    obj = minimal_draft(
        width=1080,
        height=1920,
        videos=[video_material("v")],
        tracks=[track("t", "video", [segment("s", "v", 0, 1_000_000)])],
    )
    op = _draws(plan_frame(_resolve(obj), 0))[0]
    assert op.matrix.bounds(1920, 1080) == pytest.approx((0, 656.25, 1080, 1263.75))
    assert op.box == (0, 655, 1080, 1265)


def test_rotation_is_clockwise_and_y_is_up():
    clip = {
        "alpha": 1.0,
        "rotation": 90.0,
        "flip": {"horizontal": False, "vertical": False},
        "scale": {"x": 1.0, "y": 1.0},
        "transform": {"x": 0.0, "y": 0.5},
    }
    obj = minimal_draft(
        videos=[video_material("v")], tracks=[track("t", "video", [segment("s", "v", 0, 1_000_000, clip=clip)])]
    )
    m = _draws(plan_frame(_resolve(obj), 0))[0].matrix
    # Source top-left corner lands top-right after a clockwise quarter turn; y up moves the
    # centre to y = 540 - 0.5 * 540 = 270.
    assert m.apply(0, 0) == pytest.approx((960 + 540, 270 - 960))
    cx, cy = m.apply(960, 540)
    assert (cx, cy) == pytest.approx((960, 270))


def test_flip_mirrors_in_element_frame():
    clip = {
        "alpha": 1.0,
        "rotation": 0.0,
        "flip": {"horizontal": True, "vertical": False},
        "scale": {"x": 1.0, "y": 1.0},
        "transform": {"x": 0.0, "y": 0.0},
    }
    obj = minimal_draft(
        videos=[video_material("v")], tracks=[track("t", "video", [segment("s", "v", 0, 1_000_000, clip=clip)])]
    )
    m = _draws(plan_frame(_resolve(obj), 0))[0].matrix
    assert m.apply(0, 0) == pytest.approx((1920, 0))


def test_crop_selects_part_of_the_frame_before_fitting():
    mat = video_material("v")
    mat["crop"] = {
        "upper_left_x": 0.5,
        "upper_left_y": 0.0,
        "upper_right_x": 1.0,
        "upper_right_y": 0.0,
        "lower_left_x": 0.5,
        "lower_left_y": 1.0,
        "lower_right_x": 1.0,
        "lower_right_y": 1.0,
    }
    obj = minimal_draft(videos=[mat], tracks=[track("t", "video", [segment("s", "v", 0, 1_000_000)])])
    op = _draws(plan_frame(_resolve(obj), 0))[0]
    assert op.crop_px == (960, 0, 1920, 1080)
    # 960x1080 fitted into 1920x1080 -> 960 wide, centred.
    assert op.matrix.bounds(960, 1080) == pytest.approx((480, 0, 1440, 1080))


def test_output_size_option_scales_the_canvas():
    obj = minimal_draft(videos=[video_material("v")], tracks=[track("t", "video", [segment("s", "v", 0, 10**6)])])
    tl = _resolve(obj, width=480)
    assert (tl.width, tl.height) == (480, 270)
    op = _draws(plan_frame(tl, 0))[0]
    assert op.matrix.bounds(1920, 1080) == pytest.approx((0, 0, 480, 270))


# -- keyframes in the plan (draft 04) --------------------------------------------------------


def test_uniform_scale_keyframe_drives_both_axes():
    tl = _resolve(fixture_json("04_images_kenburns_keyframes"))
    op = _draws(plan_frame(tl, 8))[0]  # t = 0.2667 s -> scale 0.5 + 0.5 × 0.2667 / 4 = 0.5333
    x0, y0, x1, y1 = op.matrix.bounds(1920, 1080)
    assert x0 == pytest.approx(448, abs=0.01) and y0 == pytest.approx(252, abs=0.01)


def test_position_alpha_and_rotation_keyframes():
    tl = _resolve(fixture_json("04_images_kenburns_keyframes"))
    op = _draws(plan_frame(tl, 180))[0]  # t = 6 s: x from -0.5 to 0 over 4 s -> -0.25
    assert op.matrix.bounds(1920, 1080)[0] == pytest.approx(-240)
    op = _draws(plan_frame(tl, 270))[0]  # t = 9 s: alpha 0 -> 1 over 2 s -> 0.5
    assert op.opacity == pytest.approx(0.5)
    op = _draws(plan_frame(tl, 330))[0]  # t = 11 s: rotation 90
    assert op.matrix.bounds(1920, 1080) == pytest.approx((420, -420, 1500, 1500))


def test_alpha_keyframe_at_zero_draws_nothing():
    tl = _resolve(fixture_json("04_images_kenburns_keyframes"))
    plan = plan_frame(tl, 240)  # t = 8 s: alpha 0
    assert _draws(plan) == []
    assert isinstance(plan.ops[0], FillOp)


# -- clip boundaries, gaps, trims -----------------------------------------------------------


def test_plan_at_clip_boundaries_and_gaps():
    v = [video_material("a"), video_material("b")]
    obj = minimal_draft(
        videos=v,
        tracks=[
            track(
                "t",
                "video",
                [segment("A", "a", 0, 1_000_000, src_start=2_000_000), segment("B", "b", 2_000_000, 1_000_000)],
            )
        ],
    )
    tl = _resolve(obj)
    assert tl.frame_count == 90
    last_a = plan_frame(tl, 29)
    assert [op.segment_id for op in _draws(last_a)] == ["A"]
    assert _draws(last_a)[0].source_us == 2_000_000 + 966_667
    gap = plan_frame(tl, 30)  # t = 1.0 s: A has ended, gap until 2 s -> black only
    assert gap.ops == (FillOp((0, 0, 0, 255)),)
    first_b = plan_frame(tl, 60)
    assert [op.segment_id for op in _draws(first_b)] == ["B"]
    assert _draws(first_b)[0].source_us == 0


def test_speed_maps_source_time():
    obj = minimal_draft(
        videos=[video_material("v", dur=10_000_000)],
        tracks=[track("t", "video", [segment("s", "v", 1_000_000, 2_000_000, src_start=1_000_000, speed=2.0)])],
    )
    tl = _resolve(obj)
    op = _draws(plan_frame(tl, 60))[0]  # t = 2 s, local 1 s -> source 1 + 2 = 3 s
    assert op.source_us == 3_000_000


def test_full_frame_opaque_layer_hides_layers_below():
    v = [video_material("a"), video_material("b")]
    obj = minimal_draft(
        videos=v,
        tracks=[
            track("t1", "video", [segment("A", "a", 0, 10**6)]),
            track("t2", "video", [segment("B", "b", 0, 10**6, render_index=2)]),
        ],
    )
    plan = plan_frame(_resolve(obj), 0)
    assert [op.segment_id for op in plan.ops] == ["B"]


def test_invisible_segment_is_not_drawn():
    obj = minimal_draft(
        videos=[video_material("v")], tracks=[track("t", "video", [segment("s", "v", 0, 10**6, visible=False)])]
    )
    tl = _resolve(obj)
    assert _draws(plan_frame(tl, 0)) == []
    assert [a.segment_id for a in tl.audio_clips] == ["s"]  # its sound still plays


def test_ntsc_frame_times_in_the_plan():
    obj = minimal_draft(
        fps=29.97, videos=[video_material("v")], tracks=[track("t", "video", [segment("s", "v", 0, 10**6)])]
    )
    tl = _resolve(obj)
    assert tl.fps == Fraction(30000, 1001)
    assert [plan_frame(tl, n).t_us for n in range(4)] == [0, 33367, 66733, 100100]
    assert tl.frame_count == 30


def test_time_range_option_selects_frames():
    obj = minimal_draft(videos=[video_material("v")], tracks=[track("t", "video", [segment("s", "v", 0, 4 * 10**6)])])
    tl = _resolve(obj, start_us=1_000_000, end_us=2_000_000)
    assert tl.frame_count == 30 and tl.timeline_us(0) == 1_000_000
    with pytest.raises(OptionsError):
        _resolve(obj, start_us=5_000_000)


# -- transitions (draft 02) -----------------------------------------------------------------


def test_dissolve_window_is_centred_on_the_cut():
    tl = _resolve(fixture_json("02_concat_transitions"))
    first = tl.tracks[0].clips[0].transition_out
    assert (first.name, first.impl, first.start_us, first.end_us) == ("叠化", "dissolve", 4_500_000, 5_500_000)
    assert isinstance(plan_frame(tl, 134).ops[-1], DrawOp)  # 4.467 s: before the window
    mid = plan_frame(tl, 150).ops[-1]  # 5.0 s
    assert isinstance(mid, TransitionOp) and mid.progress == pytest.approx(0.5)
    a, b = mid.a[0], mid.b[0]
    assert a.source_us == 5_000_000 and b.source_us == 0  # A past its end, B before its start
    assert isinstance(plan_frame(tl, 165).ops[-1], DrawOp)  # 5.5 s: window over


def test_approximated_transition_is_reported():
    tl = _resolve(fixture_json("02_concat_transitions"))
    warned = [w for w in tl.warnings if w.kind == "transition"]
    assert len(warned) == 1 and warned[0].name == "向右擦除" and warned[0].status == "approximated"
    second = tl.tracks[0].clips[1].transition_out
    assert (second.start_us, second.end_us) == (9_750_000, 10_250_000)


def test_transition_on_last_clip_is_ignored_with_warning():
    obj = minimal_draft(
        videos=[video_material("v")],
        transitions=[{"id": "tr", "name": "叠化", "duration": 500000, "is_overlap": True}],
        tracks=[track("t", "video", [segment("s", "v", 0, 10**6, refs=["tr"])])],
    )
    tl = _resolve(obj)
    assert tl.tracks[0].clips[0].transition_out is None
    assert any(w.kind == "transition" and w.status == "skipped" for w in tl.warnings)


# -- canvas fill ----------------------------------------------------------------------------


def test_canvas_colour_and_blur_backgrounds():
    for canvas, expect in (
        ({"id": "c", "type": "canvas_color", "color": "#FF000080"}, FillOp),
        ({"id": "c", "type": "canvas_blur", "blur": 0.375}, BlurFillOp),
    ):
        clip = {
            "alpha": 1.0,
            "rotation": 0.0,
            "flip": {"horizontal": False, "vertical": False},
            "scale": {"x": 0.5, "y": 0.5},
            "transform": {"x": 0.0, "y": 0.0},
        }
        obj = minimal_draft(
            videos=[video_material("v")],
            canvases=[canvas],
            tracks=[track("t", "video", [segment("s", "v", 0, 10**6, refs=["c"], clip=clip)])],
        )
        plan = plan_frame(_resolve(obj), 0)
        assert isinstance(plan.ops[0], expect)
        if expect is FillOp:
            assert plan.ops[0].rgba == (128, 0, 0, 255)


# -- audio and warnings ---------------------------------------------------------------------


def test_audio_clips_of_draft_06():
    d = parse(fixture_json("06_bgm_and_volumes"))
    facts = facts_from_json(d)
    yellow = next(v.id for v in d.materials.videos if v.duration == 4_000_000)
    facts[yellow] = type(facts[yellow])(
        **{**{f: getattr(facts[yellow], f) for f in facts[yellow].__slots__}, "has_audio": False}
    )
    tl = resolve(d, facts)
    got = sorted((a.target_start_us, a.target_duration_us, a.volume) for a in tl.audio_clips)
    short = next(s for t in d.tracks for s in t.segments if s.target_timerange.start == 5_500_000)
    assert got == [
        (0, 5_000_000, 0.6),
        (0, 8_000_000, 0.5),
        (2_000_000, 2_000_000, 0.6),
        (5_500_000, short.target_timerange.duration, 1.0),
    ]


def test_text_track_becomes_a_layer_like_any_visual_clip():
    tl = _resolve(fixture_json("11_vertical_mixed_fit"))
    assert not [w for w in tl.warnings if w.kind == "text"]
    (clip,) = [c for t in tl.tracks for c in t.clips if c.kind == "text"]
    assert clip.is_still and clip.has_alpha and clip.text is not None
    # the text block's centre sits at the clip centre (transform y = -0.78125 -> 1710 px)
    op = _draws(plan_frame(tl, 30))[-1]
    cx, cy = op.matrix.apply(*clip.text.centre)
    assert (cx, cy) == pytest.approx((540, 1710), abs=1.0)


# -- errors ---------------------------------------------------------------------------------


def test_missing_material_skips_the_segment_naming_the_json_path():
    obj = minimal_draft(videos=[], tracks=[track("t", "video", [segment("s", "nope", 0, 10**6)])])
    tl = _resolve(obj)
    assert tl.tracks == ()
    (w,) = [w for w in tl.warnings if w.kind == "media"]
    assert w.status == "skipped" and w.segment_id == "s"
    assert "$.tracks[0].segments[0].material_id" in w.message


def test_empty_draft():
    with pytest.raises(DraftEmpty):
        _resolve(minimal_draft(tracks=[track("t", "video", [])]))


def test_bad_types_carry_the_json_path():
    with pytest.raises(DraftError) as err:
        parse_draft(b'{"tracks": [{"segments": [{"target_timerange": {"start": "soon"}}]}]}')
    assert err.value.json_path == "$.tracks[0].segments[0].target_timerange.start"
    with pytest.raises(DraftError) as err:
        parse_draft(b'{"canvas_config": {"width": 0, "height": 10}}')
    assert err.value.json_path == "$.canvas_config"
    with pytest.raises(DraftError):
        parse_draft(b"{not json")


def test_content_decides_still_or_video_and_audio_only_files_draw_nothing():
    from dataclasses import replace

    obj = minimal_draft(
        videos=[video_material("p", kind="photo"), video_material("a")],
        tracks=[track("t", "video", [segment("s1", "p", 0, 10**6), segment("s2", "a", 10**6, 10**6)])],
    )
    d = parse(obj)
    facts = facts_from_json(d)
    facts["p"] = replace(facts["p"], kind="video", has_audio=False)  # "photo" that is really a video
    facts["a"] = replace(facts["a"], kind="audio", has_video=False)  # a "video" that is only sound
    tl = resolve(d, facts)
    clips = tl.tracks[0].clips
    assert [c.segment_id for c in clips] == ["s1"] and not clips[0].is_still
    assert [a.segment_id for a in tl.audio_clips] == ["s2"]
    assert any(w.kind == "media" and w.segment_id == "s2" for w in tl.warnings)


def test_odd_canvas_is_rounded_to_even_with_a_note():
    obj = minimal_draft(
        width=101, height=57, videos=[video_material("v")], tracks=[track("t", "video", [segment("s", "v", 0, 10**6)])]
    )
    tl = _resolve(obj)
    assert (tl.width, tl.height) == (102, 58)
    assert any(w.kind == "output_size" for w in tl.warnings)
