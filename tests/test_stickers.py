"""Stickers and canvas fills (docs/effects.md#stickers-and-canvases): where sticker pictures come from, their
base size and transform, the warning for JianYing-only artwork, and the three canvas fills
(colour, blur, image) rendered for real."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from compositor import RenderOptions, render
from compositor.draft import StickerMaterial
from compositor.errors import DraftError
from compositor.plan import DrawOp, FillOp, plan_frame
from compositor.effects.stickers import sticker_base
from compositor.stickers import load_sticker_table, sticker_source
from compositor.resolve import resolve
from compositor.timeline import MediaFacts
from fixtures.media import make_image, make_video
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material

pytestmark = pytest.mark.slow

W, H = 160, 90


def _sticker_seg(sid, mid, start=0, dur=1_000_000, clip=None, ri=5):
    s = segment(sid, mid, start, dur, clip=clip, render_index=ri)
    s["source_timerange"] = None
    return s


def test_sticker_table_from_a_mapping_or_a_json_file(tmp_path):
    assert load_sticker_table(None) == {}
    assert load_sticker_table({1: "a.png"}) == {"1": "a.png"}
    (tmp_path / "t.json").write_text(json.dumps({"77": "img/s.png", "78": "https://x/y.png", "79": "/abs.png"}))
    t = load_sticker_table(tmp_path / "t.json")
    assert t == {"77": str(tmp_path / "img/s.png"), "78": "https://x/y.png", "79": "/abs.png"}
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(DraftError):
        load_sticker_table(tmp_path / "bad.json")
    m = StickerMaterial(id="s", resource_id="77")
    assert sticker_source(m, t) == t["77"]
    assert sticker_source(StickerMaterial(id="s", resource_id="77", path="own.png"), t) == "own.png"
    assert sticker_source(StickerMaterial(id="s", resource_id="99"), t) == ""


def test_base_size_is_a_third_of_the_shorter_canvas_side():
    b = sticker_base(540, 270, 1920, 1080)
    x0, y0, x1, y1 = b.bounds(540, 270)
    assert (x1 - x0, y1 - y0) == pytest.approx((360, 180)) and (x0 + x1, y0 + y1) == pytest.approx((0, 0))


def _sticker_draft(**extra):
    clip = {
        "alpha": 1.0,
        "rotation": 0.0,
        "flip": {"horizontal": False, "vertical": False},
        "scale": {"x": 1.5, "y": 1.5},
        "transform": {"x": 0.5, "y": -0.5},
    }
    return minimal_draft(
        width=W,
        height=H,
        videos=[video_material("v", W, H)],
        stickers=[
            {"id": "st1", "type": "sticker", "resource_id": "111"},
            {"id": "st2", "type": "sticker", "resource_id": "222"},
        ],
        tracks=[
            track("v", "video", [segment("V", "v", 0, 1_000_000)]),
            track("s", "sticker", [_sticker_seg("S1", "st1", clip=clip), _sticker_seg("S2", "st2", 200_000, 500_000)]),
        ],
        **extra,
    )


def test_timeline_draws_known_stickers_and_reports_unknown_ones():
    d = parse(_sticker_draft())
    facts = facts_from_json(d)
    facts["st1"] = MediaFacts(
        path="/st.png", kind="image", width=60, height=30, coded_width=60, coded_height=30, has_alpha=True
    )
    tl = resolve(d, facts)
    assert [c.segment_id for c in tl.tracks[1].clips] == ["S1"]
    op = [o for o in plan_frame(tl, 0).ops if isinstance(o, DrawOp)][-1]
    # base 30×15 (⅓ of 90 for the longer side) × scale 1.5, centred at (120, 67.5)
    assert op.matrix.bounds(60, 30) == pytest.approx((97.5, 56.25, 142.5, 78.75))
    skipped = [w for w in tl.warnings if w.kind == "sticker" and w.status == "skipped"]
    assert [(w.resource_id, w.segment_id, w.start_us, w.end_us) for w in skipped] == [("222", "S2", 200_000, 700_000)]
    assert [w.segment_id for w in tl.warnings if w.kind == "sticker" and w.status == "approximated"] == ["S1"]


def _frame(path, t):
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            if f.time >= t - 1e-6:
                return f.to_ndarray(format="rgb24")
    raise AssertionError(t)


def _write(folder, obj):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "draft_content.json").write_text(json.dumps(obj, ensure_ascii=False))
    return folder


def test_a_sticker_from_a_table_is_rendered_with_its_transform(tmp_path):
    vid = make_video(tmp_path / "blue.mp4", w=W, h=H, dur_s=1.0, color=(0, 0, 255))
    art = np.zeros((30, 60, 4), np.uint8)
    art[..., :3] = (255, 255, 0)
    art[..., 3] = 255
    art[:, :10, 3] = 0  # a transparent left strip
    make_image(tmp_path / "sticker.png", w=60, h=30, rgb=art)
    obj = _sticker_draft()
    obj["materials"]["videos"][0]["path"] = str(vid)
    folder = _write(tmp_path / "d", obj)
    out = tmp_path / "out.mp4"
    result = render(
        folder, out, RenderOptions(preset="ultrafast", sticker_table={"111": str(tmp_path / "sticker.png")})
    )
    rgb = _frame(out, 0.5).astype(int)
    yellow, blue = np.array([255, 255, 0]), np.array([0, 0, 255])
    assert np.abs(rgb[67, 125] - yellow).max() < 40  # inside the drawn sticker
    assert np.abs(rgb[67, 100] - blue).max() < 40  # its transparent strip shows the video
    assert np.abs(rgb[20, 20] - blue).max() < 40
    assert [w.segment_id for w in result.warnings if w.kind == "sticker" and w.status == "skipped"] == ["S2"]


# -- canvas fills ---------------------------------------------------------------------------------


def _canvas_render(tmp_path, canvas, extra_files=()):
    vid = make_video(tmp_path / "red.mp4", w=64, h=64, dur_s=1.0, color=(255, 0, 0))  # square: bars left/right
    obj = minimal_draft(
        width=W,
        height=H,
        videos=[video_material("v", 64, 64) | {"path": str(vid)}],
        canvases=[canvas],
        tracks=[track("v", "video", [segment("V", "v", 0, 1_000_000, refs=[canvas["id"]])])],
    )
    folder = _write(tmp_path / "d", obj)
    out = tmp_path / "out.mp4"
    result = render(folder, out, RenderOptions(preset="ultrafast"))
    return _frame(out, 0.5).astype(int), result


def test_canvas_colour_fills_the_bars(tmp_path):
    rgb, _ = _canvas_render(tmp_path, {"id": "c", "type": "canvas_color", "color": "#00FF00FF"})
    assert np.abs(rgb[45, 10] - (0, 255, 0)).max() < 30 and np.abs(rgb[45, 80] - (255, 0, 0)).max() < 30


def test_canvas_blur_fills_the_bars_with_the_clip_picture(tmp_path):
    rgb, _ = _canvas_render(tmp_path, {"id": "c", "type": "canvas_blur", "blur": 0.375})
    assert np.abs(rgb[45, 10] - (255, 0, 0)).max() < 40  # blurred red, not black


def test_canvas_image_fills_the_bars_with_the_image(tmp_path):
    img = make_image(tmp_path / "bg.png", w=40, h=20, color=(0, 0, 255))
    rgb, result = _canvas_render(tmp_path, {"id": "c", "type": "canvas_image", "image": str(img)})
    assert np.abs(rgb[45, 10] - (0, 0, 255)).max() < 30 and np.abs(rgb[45, 80] - (255, 0, 0)).max() < 30
    assert not [w for w in result.warnings if w.kind == "canvas"]


def test_missing_canvas_image_is_black_with_a_warning(tmp_path):
    rgb, result = _canvas_render(tmp_path, {"id": "c", "type": "canvas_image", "image": str(tmp_path / "none.png")})
    assert rgb[45, 10].max() < 30
    assert [(w.kind, w.status) for w in result.warnings if w.kind == "canvas"] == [("canvas", "skipped")]


def test_canvas_image_plan_draws_the_image_over_black():
    obj = minimal_draft(
        width=W,
        height=H,
        videos=[video_material("v", 64, 64)],
        canvases=[{"id": "c", "type": "canvas_image", "image": "bg.png"}],
        tracks=[track("v", "video", [segment("V", "v", 0, 1_000_000, refs=["c"])])],
    )
    d = parse(obj)
    facts = facts_from_json(d)
    facts["c"] = MediaFacts(path="/bg.png", kind="image", width=40, height=20, coded_width=40, coded_height=20)
    ops = plan_frame(resolve(d, facts), 0).ops
    assert isinstance(ops[0], FillOp) and isinstance(ops[1], DrawOp) and ops[1].media_key == "/bg.png"
    assert ops[1].matrix.bounds(40, 20) == pytest.approx((-10, 0, 170, 90))  # cover, centred
