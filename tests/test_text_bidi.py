"""Right-to-left text: UAX #9 levels and per-line visual order, RTL shaping (Arabic joining),
style ranges on RTL runs, the CapCut RTL caption fixture (the Arabic golden image is in
``test_text_golden.py``)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from bidi import get_display

from compositor.pipeline import RenderOptions, open_draft
from compositor.text.bidi_order import paragraph_levels, visual_order
from compositor.text.content import utf16_len
from tests.text_helpers import BLACK, RED, engine, spec, style

W, H = 1920, 1080
SALAM = "سلام"  # seen / lam / alef / meem: initial, medial, final, isolated forms
GREETING = "مرحبا بالعالم"  # "hello world": the first word is on the right


def lay_out(text, *styles, w=W, h=H, **fields):
    lay, _, _ = engine().layout(spec(text, *styles, **fields), w, h)
    return lay


def visual(lay, line: int = 0) -> str:
    """The characters of a line sorted by where they are drawn, left to right."""
    idx = [i for i, b in enumerate(lay.boxes) if b is not None and b.line == line]
    return "".join(lay.text[i] for i in sorted(idx, key=lambda i: lay.boxes[i].x))


def test_arabic_is_shaped_right_to_left_with_joined_forms():
    lay = lay_out(SALAM, type="text")
    face = lay.glyphs[0].face
    assert face.family == "Noto Sans Arabic" and not lay.notes
    isolated = [engine().shapes.shape(face, ch, False, True, "Arab").gids[0] for ch in SALAM]
    joined = {g.char: g.gid for g in lay.glyphs}
    assert joined[0] != isolated[0] and joined[1] != isolated[1] and joined[2] != isolated[2]  # joining forms
    assert joined[3] == isolated[3]  # meem after alef stands alone
    xs = [lay.boxes[i].x for i in range(len(SALAM))]
    assert xs == sorted(xs, reverse=True)  # logical order runs right to left
    # the pen positions touch: the glyphs join without gaps
    for i in range(len(SALAM) - 1):
        assert lay.boxes[i + 1].x + lay.boxes[i + 1].advance == pytest.approx(lay.boxes[i].x)


@pytest.mark.parametrize(
    "text",
    [
        "abc ערב 中文",  # RTL run inside an LTR paragraph; CJK and Latin keep their order
        "שלום abc 123 עולם",  # RTL paragraph with an LTR run and numbers
        "مرحبا Hello 2024 عالم",
        "中文 مرحبا abc",
    ],
)
def test_visual_order_matches_an_independent_uax9_implementation(text):
    lay = lay_out(text, type="text")
    assert visual(lay) == get_display(text)  # the Rust unicode-bidi crate's reordering


def test_mixed_hebrew_cjk_latin_order():
    lay = lay_out("abc ערב 中文", type="text")
    assert visual(lay) == "abc ברע 中文"
    assert not lay.notes and lay.boxes[4].face.family == "Heebo"  # the bundled Hebrew face
    assert lay.boxes[0].x < lay.boxes[4].x < lay.boxes[8].x  # abc, then the Hebrew run, then 中文


def test_lines_break_on_logical_order_and_each_line_is_reordered():
    words = " ".join([GREETING] * 6)
    lay = lay_out(words, line_max_width=0.3)
    n_lines = 1 + max(b.line for b in lay.boxes if b is not None)
    assert n_lines >= 2
    for line in range(n_lines):
        idx = [i for i, b in enumerate(lay.boxes) if b is not None and b.line == line and not lay.text[i].isspace()]
        first, last = min(idx), max(idx)
        assert lay.boxes[first].x > lay.boxes[last].x  # logically first character on the right
    first_line = [i for i, b in enumerate(lay.boxes) if b is not None and b.line == 0]
    assert min(first_line) == 0  # the text starts on the first line


def test_levels_and_line_order_rules():
    assert paragraph_levels("plain latin 中文") is None  # no RTL: not run through UAX #9
    base, levels = paragraph_levels("abc ערב")
    assert base == 0 and levels == [0, 0, 0, 0, 1, 1, 1]
    base, levels = paragraph_levels("ערב abc")
    assert base == 1 and levels == [1, 1, 1, 1, 2, 2, 2]
    # L1: trailing spaces go to the paragraph level, so they stay at the line's end
    assert visual_order(list("ab "), [2, 2, 1], 1) == [2, 0, 1]  # RTL paragraph: the space hangs left
    assert visual_order(list("אב "), [1, 1, 1], 0) == [1, 0, 2]
    # isolates and explicit embeddings do not crash the rules; the isolated run is reversed
    base, levels = paragraph_levels("abc \u2067ערב\u2069 x")
    assert base == 0 and levels[5:8] == [1, 1, 1]
    assert paragraph_levels("a\u202bבג\u202cd")[1][2:4] == [1, 1]


def test_style_ranges_colour_the_right_glyphs_after_reordering():
    text = GREETING
    n = 2 * utf16_len(text)
    layer = engine().layer(
        spec(text, style(0, n, stroke=BLACK), style(0, 5, color=RED, stroke=BLACK), type="text"), 480, 270
    )
    rgba = layer.rgba()
    red = (rgba[..., 0] > 200) & (rgba[..., 1] < 60) & (rgba[..., 2] < 60) & (rgba[..., 3] > 250)
    white = (rgba[..., :3].min(axis=2) > 220) & (rgba[..., 3] > 250)
    cols_red = np.nonzero(red.any(axis=0))[0]
    cols_white = np.nonzero(white.any(axis=0))[0]
    assert cols_red.size and cols_white.size
    assert cols_red.min() > cols_white.max()  # مرحبا (logically first) is drawn on the right
    space_x = layer.geo.to_raster(layer.layout.boxes[5].x, 0)[0]
    assert cols_red.min() >= space_x - 2  # and only the first word is red
    lay = layer.layout
    assert {g.char for g in lay.glyphs if lay.styles[g.char].color == (1.0, 0.0, 0.0)} <= set(range(5))


def test_arabic_caption_layout_has_no_warnings_and_letter_spacing_keeps_the_order():
    lay = lay_out(GREETING + " Hello", letter_spacing=0.1, type="text")
    assert not lay.notes
    xs = [lay.boxes[i].x for i in range(5)]
    assert xs == sorted(xs, reverse=True)


def test_capcut_rtl_caption_fixture_renders(tmp_path):
    """fixtures/app_drafts/rtl_caption: a CapCut 9 text segment (default SystemFont path, keyword style)."""
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "app_drafts" / "rtl_caption"
    session = open_draft(fixture, RenderOptions(width=640, height=360, end_us=100_000))
    assert not session.warnings  # the app's default font: no font warning
    (clip,) = [c for t in session.timeline.tracks for c in t.clips]
    lay = clip.text.layout
    assert {g.face.family for g in lay.glyphs} == {"Noto Sans", "Noto Sans Arabic"}
    result = session.render(tmp_path / "rtl.mp4")
    assert result.frames == 3
    with av.open(result.output) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    r, g, b = frame[..., 0], frame[..., 1], frame[..., 2]
    yellow = (r > 180) & (g > 150) & (b < 90)
    white = (r > 200) & (g > 200) & (b > 200)
    assert yellow.sum() > 50 and white.sum() > 300
    rows = np.nonzero(yellow.any(axis=1))[0]
    line1 = white[rows.min() : rows.max() + 1]
    # first line "مرحبا بكم في CapCut": the RTL paragraph puts the keyword on the left of the Arabic words
    assert np.nonzero(yellow.any(axis=0))[0].max() < np.nonzero(line1.any(axis=0))[0].min() + 5
