"""App-exported draft shapes (fixtures/app_drafts): every generation renders (docs/format.md).

Each fixture is written by us in the shape one app generation saves; the tests render them
at 160 px wide with media from fixtures/media.py.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest

from compositor import cli
from compositor.draft import parse_draft
from compositor.draft_encryption import looks_encrypted
from compositor.errors import DraftEncrypted, DraftError
from compositor.pipeline import RenderOptions, open_draft
from compositor.plan import plan_frame
from fixtures import app_draft

from .conftest import MEDIA_SCALE
from .draft_helpers import minimal_draft, segment, track, video_material

WIDTH = 160


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory, media_dir):
    work = tmp_path_factory.mktemp("app_drafts")
    return {name: app_draft.materialize(name, work, media_dir, scale=MEDIA_SCALE) for name in app_draft.names()}


def _open(folder, **kw):
    return open_draft(str(folder), RenderOptions(width=WIDTH, **kw))


def _frames(session, *indices):
    """RGB arrays of the given output frames (the whole range is composited once)."""
    want = set(indices)
    out = {}
    for n, (_, rgb) in enumerate(session.frames()):
        if n in want:
            out[n] = rgb
    return [out[i] for i in indices]


def _centre(rgb):
    h, w = rgb.shape[:2]
    return rgb[h // 2 - 2 : h // 2 + 2, w // 2 - 2 : w // 2 + 2].reshape(-1, 3).mean(axis=0)


def _close(rgb_mean, expected, tol=40):
    return bool(np.all(np.abs(np.asarray(rgb_mean) - np.asarray(expected)) <= tol))


def test_every_app_generation_renders(app_dir):
    """CapCut 1.x and 9, JianYing 3/5/8 and a tool-made draft all render (the encrypted one
    is refused with DRAFT_ENCRYPTED, see below)."""
    rendered = []
    for name, folder in app_dir.items():
        if name == "jianying_6_encrypted":
            continue
        session = _open(folder, end_us=200_000)
        assert sum(1 for _ in session.frames()) == session.frame_count == 6
        rendered.append(name)
    assert {
        "capcut_1x_top_level_keyframes",
        "capcut_9_localised_names",
        "jianying_3_canvas_blur_music",
        "jianying_5_pop_in_extreme_keyframes",
        "jianying_8_missing_material",
        "tool_null_numbers",
    } <= set(rendered)


# -- 1: cosmetic values ---------------------------------------------------------------------


def test_empty_canvas_colour_means_no_fill(app_dir):
    session = _open(app_dir["capcut_9_localised_names"], start_us=600_000, end_us=700_000)
    clip = session.timeline.tracks[0].clips[0]
    assert clip.background is None
    assert not any(w.kind in ("canvas", "draft_value") for w in session.warnings)
    (rgb,) = _frames(session, 0)  # after the intro animation
    assert _close(rgb[2, 2], (0, 0, 0), 24)  # outside the 0.8-scaled clip: black
    assert _close(_centre(rgb), (255, 0, 0))


def test_malformed_cosmetic_values_warn_and_default():
    obj = minimal_draft(
        videos=[video_material("v")],
        tracks=[track("t", "video", [segment("s", "v", 0, 10**6, refs=["c", "m"])])],
        canvases=[{"id": "c", "type": "canvas_color", "color": "rgb(1,2,3)", "blur": "soft"}],
        masks=[{"id": "m", "type": "mask", "name": "圆形", "config": {"width": "wide", "feather": [1]}}],
    )
    obj["tracks"][0]["segments"][0]["clip"]["rotation"] = {"deg": 5}
    draft = parse_draft(json.dumps(obj))
    assert draft.materials.canvases[0].blur == 0.0625
    assert draft.materials.masks[0].config.width == 1.0
    assert draft.tracks[0].segments[0].clip.rotation == 0.0
    assert len(draft.dropped_values) == 4
    assert any("$.tracks[0].segments[0].clip.rotation" in d for d in draft.dropped_values)


def test_structural_values_stay_errors():
    with pytest.raises(DraftError) as err:
        parse_draft(b'{"tracks": [{"segments": [{"target_timerange": null}]}]}')
    assert err.value.json_path == "$.tracks[0].segments[0].target_timerange"
    with pytest.raises(DraftError) as err:
        parse_draft(b'{"tracks": [{"segments": {"0": {}}}]}')
    assert err.value.json_path == "$.tracks[0].segments"
    with pytest.raises(DraftError) as err:
        parse_draft(b'{"fps": "fast"}')
    assert err.value.json_path == "$.fps"


def test_wrong_material_references_skip_the_segment():
    obj = minimal_draft(
        videos=[video_material("v")],
        tracks=[track("t", "video", [segment("s1", "v", 0, 10**6), segment("s2", "v", 10**6, 10**6)])],
    )
    obj["tracks"][0]["segments"][1]["material_id"] = 7
    obj["materials"]["videos"].append({"id": None, "path": "/x/y.mp4"})
    draft = parse_draft(json.dumps(obj))
    assert [s.material_id for s in draft.tracks[0].segments] == ["v", ""]
    assert [v.id for v in draft.materials.videos] == ["v"]
    assert len(draft.dropped_values) == 2


# -- 3: degenerate transforms ---------------------------------------------------------------


def test_pop_in_from_zero_scale_and_huge_keyframes_render(app_dir):
    session = _open(app_dir["jianying_5_pop_in_extreme_keyframes"])
    tl = session.timeline
    assert not any(op for op in plan_frame(tl, 0).sources())  # scale 8e-6 × 0: not drawn
    frames = _frames(session, 0, 44, 59)  # the whole draft composites
    assert _close(frames[0][tl.height // 2, WIDTH // 2], (0, 0, 0), 24)
    assert frames[2].mean() > 40  # back to the picture at the end
    degenerate = [w for w in session.warnings if w.kind == "transform"]
    assert len(degenerate) == 1 and degenerate[0].segment_id == "JY5-SG1"  # once per segment


def test_transform_problem_classifies():
    from compositor.geometry import Affine
    from compositor.plan import transform_problem

    assert transform_problem(Affine.scale(1.0), 100, 100) == ""
    assert transform_problem(Affine.scale(8e-6), 1920, 1080) == "subpixel"
    assert transform_problem(Affine.scale(float("inf")), 10, 10) == "degenerate"
    assert transform_problem(Affine(1e-9, 0.0, 0.0, 0.0, 1e9, 0.0), 10, 10) == "degenerate"


# -- 4: nulls -------------------------------------------------------------------------------


def test_tool_nulls_take_defaults(app_dir):
    session = _open(app_dir["tool_null_numbers"], end_us=100_000)
    seg = session.draft.tracks[0].segments[0]
    assert seg.speed == 1.0 and seg.volume == 1.0 and seg.clip.alpha == 1.0 and seg.clip.scale.x == 1.0
    assert session.draft.materials.speeds[0].speed == 1.0
    clip = session.timeline.tracks[0].clips[0]
    assert clip.speed == 1.0
    kinds = sorted(w.kind for w in session.warnings)
    assert kinds == ["canvas", "draft_value"]  # nulls are silent defaults
    (rgb,) = _frames(session, 0)
    assert _close(_centre(rgb), (0, 255, 0))


# -- 5: CapCut 1.x keyframes ----------------------------------------------------------------


def test_capcut_1x_top_level_keyframes_animate_the_clip(app_dir):
    session = _open(app_dir["capcut_1x_top_level_keyframes"], end_us=1_600_000)
    clip = session.timeline.tracks[0].clips[0]
    assert clip.keyframe_track("KFTypeAlpha") == ((0, 0.0), (1_000_000, 1.0))
    first, later = _frames(session, 0, 45)
    assert _close(_centre(first), (0, 0, 0), 24)  # alpha 0 at the start
    assert _close(_centre(later), (255, 0, 0))  # fully visible after 1 s


def test_segment_keyframes_win_over_the_top_level_store():
    obj = minimal_draft(
        videos=[video_material("v")],
        tracks=[
            track(
                "t",
                "video",
                [
                    segment(
                        "s",
                        "v",
                        0,
                        10**6,
                        keyframes=[
                            {"property_type": "KFTypeAlpha", "keyframe_list": [{"time_offset": 0, "values": [0.5]}]}
                        ],
                    )
                ],
            )
        ],
    )
    obj["tracks"][0]["segments"][0]["keyframe_refs"] = ["k"]
    obj["keyframes"] = {
        "videos": [
            {
                "id": "k",
                "time_offset": 0,
                "alpha": 0.0,
                "rotation": 90.0,
                "brightness_value": 0.3,
                "contrast_value": 0.0,
            }
        ]
    }
    draft = parse_draft(json.dumps(obj))
    seg = draft.tracks[0].segments[0]
    lists = {kl.property_type: kl for kl in seg.common_keyframes}
    assert lists["KFTypeAlpha"].keyframe_list[0].values == [0.5]
    assert lists["KFTypeRotation"].keyframe_list[0].values == [90.0]
    assert "KFTypeContrast" not in lists  # never off 0: nothing to say
    from compositor.resolve import resolve
    from .draft_helpers import facts_from_json

    tl = resolve(draft, facts_from_json(draft))
    assert [w.name for w in tl.warnings if w.kind == "keyframe"] == ["KFTypeBrightness"]


# -- 6: missing material --------------------------------------------------------------------


def test_segment_without_material_is_skipped_with_a_warning(app_dir):
    session = _open(app_dir["jianying_8_missing_material"], start_us=2_000_000, end_us=2_600_000)
    (w,) = [w for w in session.warnings if w.kind == "media"]
    assert w.segment_id == "JY8-SG2" and w.status == "skipped"
    assert "$.tracks[0].segments[1].material_id" in w.message
    (rgb,) = _frames(session, 10)
    assert _close(_centre(rgb), (0, 0, 0), 24)


# -- 7: encrypted ---------------------------------------------------------------------------


def test_encrypted_draft_is_recognised(app_dir, capsys):
    folder = app_dir["jianying_6_encrypted"]
    with pytest.raises(DraftEncrypted) as err:
        _open(folder)
    assert err.value.code == "DRAFT_ENCRYPTED" and "JianYing 5.9" in str(err.value)
    assert cli.main(["probe", str(folder)]) == 1
    assert "error DRAFT_ENCRYPTED" in capsys.readouterr().err
    from server.drafts import parse_checked
    from server.errors import ERRORS, ApiError

    assert ERRORS["DRAFT_ENCRYPTED"].http == 422
    with pytest.raises(ApiError) as api:
        parse_checked((folder / "draft_content.json").read_bytes())
    assert api.value.code == "DRAFT_ENCRYPTED" and "capcut-mate" in api.value.details


def test_encryption_detection_leaves_broken_json_alone():
    import random

    rng = random.Random(7)
    assert looks_encrypted(bytes(rng.getrandbits(8) for _ in range(2048)))
    assert not looks_encrypted(b'{"tracks": [' + b" " * 100)
    assert not looks_encrypted(b"not json at all, just some words typed by someone " * 4)
    with pytest.raises(DraftError) as err:
        parse_draft(b"{not json")
    assert err.value.code == "DRAFT_INVALID"
    assert parse_draft(b'\xef\xbb\xbf{"fps": 25}').fps == 25.0  # a byte order mark is fine


# -- 10: localised names --------------------------------------------------------------------


def test_localised_names_resolve_by_catalogue_id(app_dir):
    session = _open(app_dir["capcut_9_localised_names"], end_us=100_000)
    clip = session.timeline.tracks[0].clips[0]
    assert clip.transition_out.impl == "dissolve"  # "Trộn" = 叠化 by resource id
    assert [a.impl for a in clip.animations] == ["zoom_in_small"]  # "Увеличение" = 放大
    (adj,) = session.timeline.adjustments
    assert adj.clips[0].spec.impl == "blur"  # "Làm mờ": CapCut's Blur id
    assert not any(w.kind == "transition" for w in session.warnings)


def test_registry_looks_up_effect_ids_and_counts_them():
    from compositor.registry import default_registry

    reg = default_registry()
    assert reg.lookup("transition", "Hòa tan", effect_id="392FD26E-A514-4d0f-8950-EA4A20CB407C").name == "色彩溶解"
    assert reg.lookup("transition", "Mix").name == "叠化"
    assert reg.lookup("transition", "???", "no-such-id", "nor-this") is None
    assert sum(len(e.resource_ids) for e in reg.entries()) > 500


# -- 11: notes that are true ------------------------------------------------------------------


def test_no_layer_order_note_when_nothing_overlaps_and_reverse_text_is_true(app_dir):
    session = _open(app_dir["jianying_8_missing_material"], end_us=100_000)
    assert not any(w.kind == "layer_order" for w in session.warnings)
    (rev,) = [w for w in session.warnings if w.kind == "reverse"]
    assert "backwards" in rev.message and "rendered forwards" not in rev.message
    (main,) = [t for t in session.timeline.tracks if t.track_id == "JY8-TV1"]
    assert main.clips[0].reverse


# -- probe --json ---------------------------------------------------------------------------


def test_probe_json_summarises_the_draft(app_dir):
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["probe", "--json", str(app_dir["jianying_8_missing_material"])]) == 0
    data = json.loads(out.getvalue())
    assert data["canvas"] == {"width": 1920, "height": 1080} and data["fps"] == 30.0
    assert data["duration_us"] == 4_000_000 and data["output"]["fps"] == "30/1"
    assert [(t["type"], t["segments"], t["start_us"], t["end_us"]) for t in data["tracks"]] == [
        ("video", 2, 0, 3_000_000),
        ("video", 1, 3_000_000, 4_000_000),
    ]
    assert data["materials_missing"] == [
        {"json_path": "$.tracks[0].segments[1].material_id", "segment_id": "JY8-SG2", "material_id": "JY8-V-GONE"}
    ]
    assert {w["kind"] for w in data["warnings"]} >= {"media", "reverse"}


def test_extreme_volumes_become_usable_gains():
    from compositor.resolve import MAX_GAIN, resolve
    from .draft_helpers import facts_from_json, kf

    obj = minimal_draft(
        videos=[video_material("v")],
        tracks=[
            track(
                "t",
                "video",
                [
                    segment(
                        "s", "v", 0, 10**6, volume=1e300, keyframes=[kf("KFTypeVolume", (0, 1e300), (500_000, -2.0))]
                    )
                ],
            )
        ],
    )
    draft = parse_draft(json.dumps(obj))
    (a,) = resolve(draft, facts_from_json(draft)).audio_clips
    assert a.volume == MAX_GAIN
    assert a.volume_keyframes == ((0, MAX_GAIN), (500_000, 0.0))
