"""Text layout: size mapping, line breaking (CJK, Latin, mixed, punctuation), alignment, vertical text,
spacing, missing glyphs."""

from __future__ import annotations

import pytest

from compositor.text.layout import EM_PER_SIZE, em_px
from tests.text_helpers import engine, spec, style

W, H = 1920, 1080


def lines_of(lay) -> list[str]:
    out: dict[int, str] = {}
    for i, b in enumerate(lay.boxes):
        if b is not None:
            out[b.line] = out.get(b.line, "") + lay.text[i]
    return [out[k] for k in sorted(out)]


def lay_out(text, *styles, w=W, h=H, **fields):
    lay, box, notes = engine().layout(spec(text, *styles, **fields), w, h)
    return lay


def test_size_to_pixels_is_one_constant_scaled_by_the_short_canvas_side():
    assert EM_PER_SIZE == 6.0
    assert em_px(15, 1920, 1080) == 90.0
    assert em_px(12, 1080, 1920) == 72.0  # portrait: min(W, H) = 1080 too
    assert em_px(15, 1280, 720) == 60.0
    lay = lay_out("你好")
    assert lay.width == pytest.approx(180.0)  # two full-width ideographs of 1 em
    assert lay.height == pytest.approx(90.0)  # one line: 1 em tall


def test_cjk_wraps_between_any_two_ideographs_at_line_max_width():
    text = "一二三四五六七八九十" * 3  # 30 ideographs of 90 px, limit 0.82·1920 = 1574 px
    ls = lines_of(lay_out(text))
    assert [len(x) for x in ls] == [17, 13]
    assert "".join(ls) == text


def test_no_line_starts_with_closing_punctuation():
    text = "一二三四五六七八九十一二三四五六七，八九十"  # the comma would start line 2
    ls = lines_of(lay_out(text))
    assert len(ls) == 2
    assert ls[1][0] != "，" and ls[0][-1] != "，"
    assert ls[1].startswith("七，")  # the character before it moves down with it
    for closing in "。！？）」":
        ls = lines_of(lay_out("一二三四五六七八九十一二三四五六七" + closing + "八九"))
        assert not ls[1].startswith(closing)


def test_latin_wraps_at_spaces_and_trailing_spaces_hang():
    lay = lay_out("hello world foo bar", line_max_width=0.2)  # 384 px
    ls = lines_of(lay)
    assert [x.strip() for x in ls] == ["hello", "world", "foo bar"]
    assert lay.width <= 0.2 * W + 1e-6
    widest = max(lay.lines, key=lambda r: r[2] - r[0])
    assert widest[2] - widest[0] == pytest.approx(lay.width)


def test_mixed_cjk_and_latin_never_splits_a_latin_word():
    text = "中文English混排text一二三四五"
    ls = lines_of(lay_out(text, line_max_width=0.3))
    assert "".join(ls) == text and len(ls) >= 2
    for word in ("English", "text"):
        assert any(word in x for x in ls)


def test_a_word_longer_than_the_line_is_broken_between_characters():
    ls = lines_of(lay_out("a" * 80, line_max_width=0.1))
    assert len(ls) > 1 and "".join(ls) == "a" * 80


def test_type_text_only_breaks_at_newlines_unless_forced():
    long = "一二三四五六七八九十" * 3
    assert len(lines_of(lay_out(long, type="text"))) == 1
    assert len(lines_of(lay_out(long, type="text", force_apply_line_max_width=True))) == 2
    assert lines_of(lay_out("第一行\n第二行\r\n第三行", type="text")) == ["第一行", "第二行", "第三行"]


def test_line_spacing_separates_lines_in_em():
    lay = lay_out("一\n二", type="text", line_spacing=0.5)
    assert lay.height == pytest.approx(90 + 0.5 * 90 + 90)
    assert lay.boxes[2].y - lay.boxes[0].y == pytest.approx(135)


def test_letter_spacing_adds_em_after_every_character_but_the_last():
    plain = lay_out("一二三", type="text")
    spaced = lay_out("一二三", type="text", letter_spacing=0.25)
    assert spaced.width - plain.width == pytest.approx(2 * 0.25 * 90)


@pytest.mark.parametrize("alignment", [0, 1, 2])
def test_alignment_places_lines_inside_the_block(alignment):
    lay = lay_out("一二三四\n五六", type="text", alignment=alignment)
    (x0a, _, x1a, _), (x0b, _, x1b, _) = lay.lines
    assert lay.width == pytest.approx(360)
    assert (x0a, x1a) == pytest.approx((0, 360))
    expected = {0: (0, 180), 1: (90, 270), 2: (180, 360)}[alignment]
    assert (x0b, x1b) == pytest.approx(expected)
    assert lay.boxes[5].x == pytest.approx(expected[0])  # 五 starts its line


def test_vertical_text_stacks_characters_and_runs_columns_right_to_left():
    lay = lay_out("一二三\n四五", type="text", typesetting=1, alignment=0)
    assert lay.vertical
    assert lay.height == pytest.approx(270) and lay.width == pytest.approx(90 + 0.02 * 90 + 90)
    b = lay.boxes
    assert b[0].x == b[1].x == b[2].x and b[0].y < b[1].y < b[2].y  # one column, downwards
    assert b[4].x < b[0].x  # the next column is to the left
    assert b[1].y - b[0].y == pytest.approx(90)


def test_vertical_punctuation_uses_vertical_forms():
    horizontal = lay_out("你，好", type="text")
    vertical = lay_out("你，好", type="text", typesetting=1)
    gid_h = [g.gid for g in horizontal.glyphs if g.char == 1]
    gid_v = [g.gid for g in vertical.glyphs if g.char == 1]
    assert gid_h != gid_v


def test_per_character_sizes_share_a_baseline_and_the_line_takes_the_largest_em():
    lay = lay_out("大小", style(0, 1, size=30), style(1, 2, size=15), type="text")
    assert lay.height == pytest.approx(180)
    assert lay.boxes[0].y == lay.boxes[1].y  # one baseline


def test_a_character_no_font_has_is_reported_with_its_code_point_not_drawn_as_tofu():
    lay = lay_out("你好\U0001f600世界")
    assert [n.status for n in lay.notes] == ["approximated"]
    assert "U+1F600" in lay.notes[0].message
    assert not any(g.char == 2 for g in lay.glyphs)  # nothing drawn for it
    assert lay.boxes[2].advance == pytest.approx(90)  # a blank em keeps the spacing


def test_only_missing_characters_is_skipped_and_emoji_with_joiners_do_not_crash():
    lay = lay_out("\U0001f468\u200d\U0001f469\u200d\U0001f467\ufe0f")
    assert [n.status for n in lay.notes] == ["skipped"]
    assert "U+1F468" in lay.notes[0].message and "U+200D" not in lay.notes[0].message
    layer = engine().layer(spec("a\U0001f600b"), W, H)
    assert layer.rgba().shape[2] == 4


def test_unknown_font_resource_falls_back_with_a_warning_and_known_ones_map_to_the_bundled_face():
    lay = lay_out("字", style(0, 1, font_id="1234567890"))
    assert lay.notes and lay.notes[0].status == "approximated" and "1234567890" in lay.notes[0].message
    lay = lay_out("字", style(0, 1, font_id="7265597035946971705"))  # SourceHanSansCN-Regular
    assert not lay.notes
    tc = lay_out("字", style(0, 1, font_id="7265531198548480568"))  # SourceHanSansTW-Regular
    assert tc.glyphs[0].face.family == "Noto Sans CJK TC"
