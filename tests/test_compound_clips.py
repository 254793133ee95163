"""Compound clips (复合片段): nested drafts resolved, drawn frame by frame, transformed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from compositor import RenderOptions, render
from compositor import compound
from compositor.catalog import MediaCatalog
from compositor.compound_pictures import CompoundPicture
from compositor.draft import load_draft
from compositor.errors import DraftError
from compositor.media.planes import Planes
from compositor.plan import DrawOp, plan_frame
from compositor.resolve import resolve
from compositor.pictures import PicturePool
from compositor.timeline import OutputOptions
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material
from tests.media_probe import decode_for_probe

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "app_drafts" / "compound_clip"
MEDIA = ("red_1920x1080_5s.mp4", "green_1920x1080_5s.mp4", "blue_1920x1080_5s.mp4", "yellow_1920x1080_4s_noaudio.mp4")
RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def fixture_obj() -> dict:
    return json.loads((FIXTURE / "draft_content.json").read_text("utf-8"))


def all_facts(d):
    """Facts for the materials of a draft and of every draft nested in it (as the catalogue)."""
    facts = {}
    for level in (d, *compound.nested_drafts(d)):
        facts.update(facts_from_json(level))
    return facts


def timeline(d, **opts):
    return resolve(d, all_facts(d), OutputOptions(**opts))


# -- the data side -------------------------------------------------------------------------


def test_fixture_resolves_to_nested_timelines_two_levels_deep():
    d = load_draft(FIXTURE / "draft_content.json")
    assert len(compound.nested_drafts(d)) == 2
    tl = timeline(d, width=192)
    cmp_clip = tl.tracks[1].clips[0]
    assert cmp_clip.kind == compound.KIND and cmp_clip.media_key == "compound:T-DRAFT-A@192x108"
    assert (cmp_clip.source_start_us, cmp_clip.speed) == (1_000_000, 1.0)  # nested time 1 s .. 4 s
    a = tl.compounds[cmp_clip.media_key]
    assert (a.width, a.height) == (192, 108)  # the nested canvas at the output's pixel density
    assert [c.segment_id for c in a.tracks[0].clips] == ["A-SEG-RED", "A-SEG-GREEN"]
    b = a.compounds["compound:A-DRAFT-B@192x108"]
    assert b.tracks[0].clips[0].segment_id == "B-SEG-Y"
    assert not tl.warnings


def test_media_of_nested_drafts_are_listed_with_their_json_paths():
    d = load_draft(FIXTURE / "draft_content.json")
    nested = "$.materials.drafts[0].draft"
    assert {p: m.id for p, m in compound.file_materials(d)} == {
        "$.materials.videos[0].path": "T-V-BLUE",
        f"{nested}.materials.videos[0].path": "A-V-RED",
        f"{nested}.materials.videos[1].path": "A-V-GREEN",
        f"{nested}.materials.drafts[0].draft.materials.videos[0].path": "B-V-YELLOW",
    }  # the compound clips' empty-path materials are no files


def test_the_service_checks_nested_media_paths_too(tmp_path):
    from compositor.errors import AssetUnreachable
    from compositor.fetch import LocalDraft
    from server.drafts import check_material_paths

    obj = fixture_obj()
    b = obj["materials"]["drafts"][0]["draft"]["materials"]["drafts"][0]["draft"]
    b["materials"]["videos"][0]["path"] = "/etc/hostname"
    (tmp_path / "assets" / "videos").mkdir(parents=True)
    for name in MEDIA:
        (tmp_path / "assets" / "videos" / name).write_bytes(b"x")
    local = LocalDraft(None, tmp_path, tmp_path / "draft_content.json", "x")
    with pytest.raises(AssetUnreachable):
        check_material_paths(parse(obj), local, allow_local_paths=False)
    # the author's C:/… paths fall back to the folder's assets: allowed at every level
    check_material_paths(parse(fixture_obj()), local, allow_local_paths=False)


def test_outer_transform_and_fade_in_apply_to_the_compound_picture():
    tl = timeline(load_draft(FIXTURE / "draft_content.json"), width=192)
    ops = {op.segment_id: op for op in plan_frame(tl, 45).ops if isinstance(op, DrawOp)}
    op = ops["T-SEG-CMP"]
    assert op.kind == compound.KIND and op.source_us == 2_500_000  # 1.5 s in, from 1 s of A
    # scale 0.5 at (-0.5, 0.5): the 192x108 picture lands on the top-left quarter of the output
    assert (op.matrix.a, op.matrix.e, op.matrix.c, op.matrix.f) == pytest.approx((0.5, 0.5, 0.0, 0.0))
    first = {o.segment_id: o for o in plan_frame(tl, 0).ops if isinstance(o, DrawOp)}
    assert "T-SEG-CMP" not in first  # 渐显 starts at opacity 0
    mid = {o.segment_id: o for o in plan_frame(tl, 7).ops if isinstance(o, DrawOp)}
    assert 0.3 < mid["T-SEG-CMP"].opacity < 0.6


def test_nested_sound_is_moved_to_the_compound_segment():
    tl = timeline(load_draft(FIXTURE / "draft_content.json"), width=192)
    sound = {c.segment_id: c for c in tl.audio_clips}
    red = sound["T-SEG-CMP/A-SEG-RED"]  # A's red clip plays 0..2 s; the segment shows 1..4 s
    assert (red.target_start_us, red.target_duration_us, red.source_start_us) == (0, 1_000_000, 1_000_000)
    green = sound["T-SEG-CMP/A-SEG-GREEN"]
    assert (green.target_start_us, green.target_duration_us, green.source_start_us) == (1_000_000, 2_000_000, 0)


def test_nested_sound_follows_the_compound_speed_and_volume():
    obj = fixture_obj()
    seg = obj["tracks"][1]["segments"][0]
    seg["target_timerange"] = {"start": 500_000, "duration": 1_500_000}  # A's 1..4 s at 2×
    seg["speed"], seg["volume"] = 2.0, 0.5
    tl = timeline(parse(obj), width=192)
    sound = {c.segment_id: c for c in tl.audio_clips}
    red, green = sound["T-SEG-CMP/A-SEG-RED"], sound["T-SEG-CMP/A-SEG-GREEN"]
    assert (red.target_start_us, red.target_duration_us, red.speed, red.volume) == (500_000, 500_000, 2.0, 0.5)
    assert (green.target_start_us, green.target_duration_us, green.source_start_us) == (1_000_000, 1_000_000, 0)
    assert not [w for w in tl.warnings if w.kind == "compound"]
    obj["materials"]["audio_fades"] = [{"id": "F", "type": "audio_fade", "fade_in_duration": 300_000}]
    seg["extra_material_refs"].append("F")
    (w,) = [w for w in timeline(parse(obj), width=192).warnings if w.kind == "compound"]
    assert w.status == "approximated" and "fade" in w.message


def test_nested_warnings_are_attributed_to_the_compound_segment():
    obj = fixture_obj()
    a = obj["materials"]["drafts"][0]["draft"]
    a["materials"]["masks"] = [{"id": "M1", "type": "mask", "name": "不存在", "resource_type": "nonesuch"}]
    a["tracks"][0]["segments"][0]["extra_material_refs"].append("M1")
    tl = timeline(parse(obj), width=192)
    (w,) = [w for w in tl.warnings if w.kind == "mask"]
    assert w.segment_id == "T-SEG-CMP" and "复合片段1" in w.message and "A-SEG-RED" in w.message


def test_a_zoomed_compound_is_drawn_from_a_larger_picture():
    obj = fixture_obj()
    obj["tracks"][1]["segments"][0]["clip"]["scale"] = {"x": 1.6, "y": 1.6}
    tl = timeline(parse(obj), width=192)
    (key,) = tl.compounds
    assert (tl.compounds[key].width, tl.compounds[key].height) == (308, 174)  # 1.6 × 192x108, even


def test_an_overlay_compound_with_gaps_in_its_nested_draft_is_flagged():
    obj = fixture_obj()
    a = obj["materials"]["drafts"][0]["draft"]
    a["tracks"][0]["segments"].pop()  # A's main track now ends at 2 s
    tl = timeline(parse(obj), width=192)
    (w,) = [w for w in tl.warnings if w.kind == "compound"]
    assert w.status == "approximated" and "black" in w.message and w.segment_id == "T-SEG-CMP"


def test_a_compound_entry_without_its_draft_is_skipped_with_a_warning():
    obj = fixture_obj()
    obj["materials"]["drafts"][0]["draft"] = None
    tl = timeline(parse(obj), width=192)
    (w,) = [w for w in tl.warnings if w.kind == "compound"]
    assert w.status == "skipped" and w.segment_id == "T-SEG-CMP"
    assert [c.segment_id for t in tl.tracks for c in t.clips] == ["T-SEG-BLUE"]


def test_a_material_with_a_file_and_a_draftless_entry_is_an_ordinary_video():
    obj = fixture_obj()
    obj["materials"]["drafts"][0]["draft"] = None
    obj["materials"]["videos"][1]["path"] = "C:/Users/editor/Videos/pre-rendered.mp4"
    d = parse(obj)
    assert "$.materials.videos[1].path" in dict(compound.file_materials(d))
    tl = timeline(d, width=192)
    assert [c.kind for t in tl.tracks for c in t.clips] == ["media", "media"]
    assert not [w for w in tl.warnings if w.kind == "compound"]


def _nest(depth: int) -> dict:
    """A draft whose compound clips nest ``depth`` levels deep, each level a blue video."""
    inner = minimal_draft(
        videos=[video_material("leaf")], tracks=[track("t", "video", [segment("s", "leaf", 0, 1_000_000)])]
    )
    for level in range(depth):
        cmp = video_material(f"c{level}") | {"path": ""}
        inner = minimal_draft(
            videos=[cmp],
            tracks=[track("t", "video", [segment(f"s{level}", f"c{level}", 0, 1_000_000, refs=[f"e{level}"])])],
            drafts=[{"id": f"e{level}", "type": "combination", "draft": inner}],
        )
    return inner


def test_nesting_deeper_than_the_limit_is_skipped_with_a_warning():
    ok = timeline(parse(_nest(compound.MAX_DEPTH)))
    assert not [w for w in ok.warnings if w.kind == "compound"]
    deep = timeline(parse(_nest(compound.MAX_DEPTH + 1)))
    (w,) = [w for w in deep.warnings if w.kind == "compound"]
    assert w.status == "skipped" and "deeper" in w.message


def test_a_compound_that_contains_itself_is_draft_invalid():
    obj = _nest(1)
    # the nested draft's own clip names the enclosing entry e0 instead of a file
    nested = obj["materials"]["drafts"][0]["draft"]
    nested["materials"]["videos"][0]["path"] = ""
    nested["tracks"][0]["segments"][0]["extra_material_refs"] = ["e0"]
    with pytest.raises(DraftError) as err:
        timeline(parse(obj))
    assert err.value.code == "DRAFT_INVALID"
    assert err.value.json_path.startswith("$.materials.drafts[0].draft.tracks[0].segments[0]")


def test_a_nested_draft_without_a_usable_canvas_is_skipped_with_a_warning():
    obj = _nest(1)
    obj["materials"]["drafts"][0]["draft"]["canvas_config"] = {"width": 0, "height": 1080}
    obj["tracks"].insert(0, track("bg", "video", [segment("bg", "bgv", 0, 1_000_000)]))
    obj["materials"]["videos"].append(video_material("bgv"))
    tl = timeline(parse(obj))
    (w,) = [w for w in tl.warnings if w.kind == "compound"]
    assert w.status == "skipped" and "canvas" in w.message


def test_an_empty_nested_draft_is_skipped_with_a_warning():
    obj = _nest(1)
    obj["materials"]["drafts"][0]["draft"]["tracks"] = []
    obj["tracks"].insert(0, track("bg", "video", [segment("bg", "c0", 0, 1_000_000)]))
    obj["materials"]["videos"].append(video_material("bgv"))
    obj["tracks"][0]["segments"][0]["material_id"] = "bgv"
    tl = timeline(parse(obj))
    (w,) = [w for w in tl.warnings if w.kind == "compound"]
    assert "empty" in w.message and w.segment_id == "s0"


# -- pictures: bounded memory ----------------------------------------------------------------


class _Reader:
    """A stand-in decoder: a solid picture; counts how many are open at once."""

    open_now = 0
    most = 0

    def __init__(self, path, info, *, start_us=0, read_ahead=2, threads=0):
        type(self).open_now += 1
        type(self).most = max(type(self).most, type(self).open_now)
        y = np.full((8, 8), 81, np.uint8)
        c = np.full((4, 4), 90, np.uint8)
        self.planes = Planes(y, c, c.copy())

    def frame_at(self, t_us):
        return self.planes

    def close(self):
        type(self).open_now -= 1


def _long_nested(n_clips: int, reverse: bool = False) -> dict:
    """A compound whose nested draft plays ``n_clips`` one-second clips one after another."""
    vids = [video_material(f"v{i}") for i in range(n_clips)]
    segs = [segment(f"n{i}", f"v{i}", i * 1_000_000, 1_000_000) for i in range(n_clips)]
    nested = minimal_draft(videos=vids, tracks=[track("t", "video", segs)])
    dur = n_clips * 1_000_000
    return minimal_draft(
        videos=[video_material("c") | {"path": "", "duration": dur}],
        tracks=[track("t", "video", [segment("s", "c", 0, dur, refs=["e"]) | {"reverse": reverse}])],
        drafts=[{"id": "e", "type": "combination", "draft": nested}],
    )


@pytest.mark.parametrize("n_clips,reverse", [(2, False), (12, False), (12, True)])
def test_memory_does_not_grow_with_the_nested_clip_length(n_clips, reverse):
    d = parse(_long_nested(n_clips, reverse))
    tl = timeline(d, width=64, fps=5)
    _Reader.open_now = _Reader.most = 0
    catalog = MediaCatalog(facts={}, infos={f"/media/v{i}": None for i in range(n_clips)})
    buffers = set()
    with PicturePool(tl, catalog, reader_factory=_Reader) as pool:
        for n in range(tl.frame_count):
            plan = plan_frame(tl, n)
            pool.advance(plan.t_us)
            (op,) = [o for o in plan.ops if isinstance(o, DrawOp)]
            pic = pool(op)
            buffers.add(id(pic.y))
            assert len(pool._compounds) == 1
            assert isinstance(pool._compounds["s"], CompoundPicture)
    # one picture buffer for the whole clip, at most two nested decoders open at once
    # (the current clip and the next one, opened ahead), however long the nested draft is
    assert len(buffers) == 1
    assert _Reader.most <= 2 and _Reader.open_now == 0


def test_text_inside_a_nested_draft_is_drawn():
    from tests.text_helpers import YELLOW as TEXT_YELLOW, style, text_material, text_segment, text_track

    nested = minimal_draft(
        texts=[text_material("m", "字幕", style(0, 2, size=30, color=TEXT_YELLOW))],
        tracks=[text_track("tt", [text_segment("ts", "m", 0, 1_000_000)])],
    )
    d = parse(
        minimal_draft(
            videos=[video_material("c") | {"path": ""}],
            tracks=[track("t", "video", [segment("s", "c", 0, 1_000_000, refs=["e"])])],
            drafts=[{"id": "e", "type": "combination", "draft": nested}],
        )
    )
    tl = timeline(d, width=192)
    with PicturePool(tl, MediaCatalog(facts={})) as pool:
        plan = plan_frame(tl, 0)
        pool.advance(plan.t_us)
        (op,) = [o for o in plan.ops if isinstance(o, DrawOp)]
        pic = pool(op)
    assert pic.y.max() > 150  # yellow glyphs (Y ≈ 210) on the black nested canvas


# -- a rendered file -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(media_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("compound") / "draft"
    (folder / "assets" / "videos").mkdir(parents=True)
    shutil.copy(FIXTURE / "draft_content.json", folder)
    for name in MEDIA:  # the draft's C:/… paths fall back to assets/videos/<name>
        os.symlink(media_dir / name, folder / "assets" / "videos" / name)
    out = folder.parent / "out.mp4"
    result = render(folder, out, RenderOptions(width=192, preset="ultrafast"))
    assert not result.warnings
    return out


def _near(rgb, want, tol=48) -> bool:
    return int(np.abs(np.asarray(rgb, int) - want).max()) <= tol


def test_rendered_frames_show_the_nested_content_in_place(rendered):
    frames = decode_for_probe(rendered, ["0", "0.5", "1.5", "3.5"]).frames
    # top-left quarter = compound A (from A's 1 s); inside it, A's bottom-right quarter = compound B
    a_px, b_px, outside = (24, 13), (72, 40), (144, 81)
    assert _near(frames["0"][a_px[1], a_px[0]], BLUE)  # fade-in starts at opacity 0
    assert _near(frames["0.5"][a_px[1], a_px[0]], RED)  # A at 1.5 s: red
    assert _near(frames["0.5"][b_px[1], b_px[0]], YELLOW)  # B inside A
    assert _near(frames["1.5"][a_px[1], a_px[0]], GREEN)  # A at 2.5 s: green
    assert _near(frames["1.5"][b_px[1], b_px[0]], YELLOW)
    for t in ("0.5", "1.5"):
        assert _near(frames[t][outside[1], outside[0]], BLUE)  # the outer transform: a quarter only
    assert _near(frames["3.5"][a_px[1], a_px[0]], BLUE)  # the segment ended at 3 s


def test_the_nested_picture_size_is_bounded():
    d = parse(_nest(1))
    nested = d.materials.drafts[0].draft
    assert compound.picture_size(nested, 1920, 1080, 0.1) == (192, 108)
    w, h = compound.picture_size(nested, 1920, 1080, 8.0, compound.MAX_ZOOM)
    assert max(w, h) <= compound.MAX_PICTURE_SIDE and w / h == pytest.approx(16 / 9, rel=1e-3)


# -- what a nested draft may not do --------------------------------------------------------------


def test_a_nested_draft_cannot_forge_warnings_through_our_bookkeeping_field():
    obj = fixture_obj()
    obj["materials"]["drafts"][0]["draft"]["dropped_values"] = ["$.forged: attacker text"]
    obj["dropped_values"] = ["$.forged: more"]
    d = parse(obj)
    assert d.dropped_values == ()
    assert all(n.dropped_values == () for n in compound.nested_drafts(d))
    assert not any("forged" in w.message for w in timeline(d, width=192).warnings)


def test_nested_segments_get_the_same_time_and_speed_checks():
    obj = fixture_obj()
    obj["materials"]["drafts"][0]["draft"]["tracks"][0]["segments"][0]["speed"] = -2
    with pytest.raises(DraftError) as info:
        parse(obj)
    assert info.value.json_path == "$.materials.drafts[0].draft.tracks[0].segments[0].speed"
