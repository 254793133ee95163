"""Helpers for the text-engine tests: styles, materials, text segments, a hermetic engine."""

from __future__ import annotations

import json
from functools import lru_cache

from compositor.text import TextEngine, TextSpec
from compositor.text.content import utf16_len
from compositor.text.fonts import FontSettings
from tests.draft_helpers import segment, track

WHITE = [1.0, 1.0, 1.0]
YELLOW = [1.0, 1.0, 0.0]
RED = [1.0, 0.0, 0.0]
BLACK = [0.0, 0.0, 0.0]


@lru_cache(maxsize=1)
def engine() -> TextEngine:
    """An engine with the bundled font only (no system fonts: same result on every machine)."""
    return TextEngine(FontSettings(system_fonts=False))


def style(
    start: int,
    end: int,
    *,
    size=15,
    color=WHITE,
    alpha=1.0,
    bold=False,
    italic=False,
    underline=False,
    stroke=None,
    stroke_width=0.08,
    shadows=None,
    font_id=None,
    effect=None,
) -> dict:
    st = {
        "fill": {"alpha": 1.0, "content": {"render_type": "solid", "solid": {"alpha": alpha, "color": color}}},
        "range": [start, end],
        "size": size,
        "bold": bold,
        "italic": italic,
        "underline": underline,
        "strokes": [{"content": {"solid": {"alpha": 1.0, "color": stroke}}, "width": stroke_width}]
        if stroke is not None
        else [],
    }
    if shadows is not None:
        st["shadows"] = shadows
    if font_id is not None:
        st["font"] = {"id": font_id, "path": "D:"}
    if effect is not None:
        st["effectStyle"] = {"id": effect, "path": "C:"}
    return st


def shadow(*, alpha=0.8, color=BLACK, diffuse=0.025, distance=8.0, angle=-45.0) -> dict:
    return {
        "alpha": alpha,
        "content": {"solid": {"color": color}},
        "diffuse": diffuse,
        "distance": distance,
        "angle": angle,
    }


def content(text: str, *styles) -> str:
    if not styles:
        styles = (style(0, 2 * utf16_len(text)),)
    return json.dumps({"styles": list(styles), "text": text}, ensure_ascii=False)


def text_material(mid: str, text: str, *styles, **fields) -> dict:
    mat = {
        "id": mid,
        "type": fields.pop("type", "subtitle"),
        "content": content(text, *styles),
        "typesetting": 0,
        "alignment": 1,
        "letter_spacing": 0.0,
        "line_spacing": 0.02,
        "line_max_width": 0.82,
        "check_flag": 7,
        "global_alpha": 1.0,
    }
    mat.update(fields)
    return mat


def spec(text: str, *styles, **fields) -> TextSpec:
    m = text_material("m", text, *styles, **fields)
    m.pop("id")
    return TextSpec(**m)


def text_segment(sid: str, mid: str, start: int, dur: int, *, refs=(), clip=None, keyframes=()) -> dict:
    seg = segment(sid, mid, start, dur, clip=clip, refs=refs, keyframes=keyframes)
    seg["source_timerange"] = None
    return seg


def text_track(tid: str, segments) -> dict:
    return track(tid, "text", segments)


def animation_container(aid: str, *anims) -> dict:
    """``anims``: (type, name, start_us, duration_us[, resource_id])."""
    return {
        "id": aid,
        "type": "sticker_animation",
        "animations": [
            {
                "type": a[0],
                "name": a[1],
                "start": a[2],
                "duration": a[3],
                "resource_id": a[4] if len(a) > 4 else "",
                "id": "",
                "material_type": "sticker",
            }
            for a in anims
        ],
    }
