"""Acceptance: a draft using an unknown transition, filter, scene effect, animation and sticker
renders to completion, and the result lists exactly one warning per unknown item (kind, name
or resource id, segment id, time range)."""

from __future__ import annotations

import json

import pytest

from compositor import RenderOptions, render
from fixtures.media import make_video
from tests.draft_helpers import minimal_draft, segment, track, video_material

pytestmark = pytest.mark.slow


def _adj(sid, mid, start, dur, ri):
    return {"id": sid, "material_id": mid, "target_timerange": {"start": start, "duration": dur}, "render_index": ri}


def test_unknown_items_render_and_are_each_reported_once(tmp_path):
    red = make_video(tmp_path / "red.mp4", w=64, h=36, dur_s=2.0, color=(255, 0, 0))
    green = make_video(tmp_path / "green.mp4", w=64, h=36, dur_s=2.0, color=(0, 255, 0))
    sticker = segment("S", "stk", 0, 1_500_000, render_index=9)
    sticker["source_timerange"] = None
    obj = minimal_draft(
        width=64,
        height=36,
        videos=[
            video_material("r", 64, 36, 2_000_000) | {"path": str(red)},
            video_material("g", 64, 36, 2_000_000) | {"path": str(green)},
        ],
        transitions=[
            {
                "id": "tr",
                "type": "transition",
                "name": "未知转场",
                "resource_id": "900001",
                "duration": 500_000,
                "is_overlap": True,
            }
        ],
        material_animations=[
            {
                "id": "an",
                "type": "sticker_animation",
                "animations": [
                    {
                        "type": "in",
                        "name": "未知动画",
                        "id": "1",
                        "resource_id": "900002",
                        "start": 0,
                        "duration": 500_000,
                        "material_type": "video",
                    }
                ],
            }
        ],
        effects=[{"id": "flt", "type": "filter", "name": "未知滤镜", "resource_id": "900003", "value": 1.0}],
        video_effects=[{"id": "fx", "type": "video_effect", "name": "未知特效", "resource_id": "900004"}],
        stickers=[{"id": "stk", "type": "sticker", "resource_id": "900005"}],
        tracks=[
            track(
                "v",
                "video",
                [segment("A", "r", 0, 2_000_000, refs=["tr", "an"]), segment("B", "g", 2_000_000, 2_000_000)],
            ),
            track("f", "filter", [_adj("F", "flt", 0, 1_000_000, 2)]),
            track("e", "effect", [_adj("E", "fx", 1_000_000, 1_000_000, 3)]),
            track("s", "sticker", [sticker]),
        ],
    )
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "draft_content.json").write_text(json.dumps(obj, ensure_ascii=False))
    out = tmp_path / "out.mp4"
    result = render(folder, out, RenderOptions(preset="ultrafast"))
    assert out.exists() and result.frames == 120

    def about(pred):
        return [w for w in result.warnings if pred(w)]

    tr = about(lambda w: w.kind == "transition")
    an = about(lambda w: "未知动画" in w.name)
    fl = about(lambda w: w.name == "未知滤镜")
    fx = about(lambda w: w.name == "未知特效")
    st = about(lambda w: w.kind == "sticker")
    for found in (tr, an, fl, fx, st):
        assert len(found) == 1, result.warnings
    assert (tr[0].name, tr[0].segment_id, tr[0].start_us, tr[0].end_us) == ("未知转场", "A", 1_750_000, 2_250_000)
    assert an[0].segment_id == "A" and an[0].status == "skipped"
    assert (fl[0].kind, fl[0].status, fl[0].segment_id, fl[0].start_us, fl[0].end_us) == (
        "filter",
        "skipped",
        "F",
        0,
        1_000_000,
    )
    assert (fx[0].kind, fx[0].status, fx[0].segment_id, fx[0].resource_id) == ("effect", "skipped", "E", "900004")
    assert (st[0].status, st[0].resource_id, st[0].segment_id) == ("skipped", "900005", "S")
    # nothing else is reported for these five items
    assert len(result.warnings) == 5, [w.line() for w in result.warnings]
