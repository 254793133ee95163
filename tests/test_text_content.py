"""Text content: parsing the JSON-in-JSON, UTF-16 style ranges, the per-character override rule."""

from __future__ import annotations

import json

from compositor.text.content import DEFAULT_SIZE, parse_content, resolve_styles, utf16_len

YELLOW = [1.0, 1.0, 0.0]
RED = [1.0, 0.0, 0.0]
BLACK = [0.0, 0.0, 0.0]


def fill(rgb, alpha=1.0):
    return {"alpha": 1.0, "content": {"render_type": "solid", "solid": {"alpha": alpha, "color": rgb}}}


def stroke(rgb, width=0.08):
    return [{"content": {"solid": {"alpha": 1.0, "color": rgb}}, "width": width}]


def content(text, *styles):
    return json.dumps({"styles": list(styles), "text": text}, ensure_ascii=False)


def test_content_is_json_inside_a_string_and_parsed_twice():
    draft_json = json.dumps({"content": content("你好", {"range": [0, 4], "size": 15, "fill": fill(YELLOW)})})
    mat = json.loads(draft_json)  # first parse: the draft
    rich = parse_content(mat["content"])  # second parse: the content string
    assert rich.text == "你好"
    st = resolve_styles(rich)
    assert [s.color for s in st] == [(1.0, 1.0, 0.0)] * 2


def test_doubly_stringified_content_and_plain_text():
    once = content("ab", {"range": [0, 2], "size": 9})
    assert resolve_styles(parse_content(json.dumps(once)))[0].size == 9
    plain = parse_content("just text")
    assert plain.text == "just text" and resolve_styles(plain)[0].size == DEFAULT_SIZE


def test_legacy_markup_content():
    rich = parse_content(
        '<font id="" path="C:/x.ttf"><color=(1.000000, 0.000000, 0.000000, 1.000000)>'
        "<size=12.000000>[默认文本]</size></color></font>"
    )
    assert rich.text == "[默认文本]"
    st = resolve_styles(rich)
    assert st[0].size == 12 and st[0].color == (1.0, 0.0, 0.0)


def test_capcut_mate_base_range_over_covers_and_is_clamped():
    # base style written as [0, 2 × UTF-16 length] (the "emoji display" fix)
    text = "剪映字幕测试"
    rich = parse_content(content(text, {"range": [0, 2 * utf16_len(text)], "size": 15, "fill": fill(YELLOW)}))
    st = resolve_styles(rich)
    assert len(st) == len(text) and all(s.color == (1.0, 1.0, 0.0) for s in st)


def test_keyword_style_overrides_present_keys_and_inherits_absent_ones():
    text = "剪映字幕测试"
    base = {"range": [0, 12], "size": 15, "bold": True, "fill": fill(YELLOW), "strokes": stroke(BLACK)}
    keyword = {"range": [2, 4], "fill": fill(RED)}  # no size, bold, strokes keys
    st = resolve_styles(parse_content(content(text, base, keyword)))
    assert [s.color for s in st] == [(1, 1, 0), (1, 1, 0), (1, 0, 0), (1, 0, 0), (1, 1, 0), (1, 1, 0)]
    assert all(s.bold and s.size == 15 and s.stroke is not None for s in st)


def test_later_of_overlapping_styles_wins_per_key():
    text = "abcdef"
    a = {"range": [0, 6], "size": 10, "italic": True}
    b = {"range": [1, 4], "size": 20}
    c = {"range": [3, 6], "size": 30, "underline": True, "italic": False}
    st = resolve_styles(parse_content(content(text, a, b, c)))
    assert [s.size for s in st] == [10, 20, 20, 30, 30, 30]
    assert [s.italic for s in st] == [True, True, True, False, False, False]
    assert [s.underline for s in st] == [False, False, False, True, True, True]


def test_ranges_count_utf16_units_so_an_emoji_shifts_code_point_keywords():
    # capcut-mate computes keyword ranges in code points; JianYing reads UTF-16 units.
    text = "😀好字幕"  # 😀 is two UTF-16 units
    kw_codepoints = [2, 4]  # "字幕" in code points (what capcut-mate writes)
    base = {"range": [0, 2 * utf16_len(text)], "fill": fill(YELLOW)}
    st = resolve_styles(parse_content(content(text, base, {"range": kw_codepoints, "fill": fill(RED)})))
    # UTF-16: 😀 = units 0-1, 好 = 2, 字 = 3, 幕 = 4  -> units [2, 4) are 好 and 字
    assert [s.color for s in st] == [(1, 1, 0), (1, 0, 0), (1, 0, 0), (1, 1, 0)]
    # the same keyword in UTF-16 units lands on 字幕
    st = resolve_styles(parse_content(content(text, base, {"range": [3, 5], "fill": fill(RED)})))
    assert [s.color for s in st] == [(1, 1, 0), (1, 1, 0), (1, 0, 0), (1, 0, 0)]


def test_range_starting_inside_a_surrogate_pair_does_not_take_the_emoji():
    text = "a😀b"
    st = resolve_styles(parse_content(content(text, {"range": [2, 4], "size": 30})))
    assert [s.size for s in st] == [DEFAULT_SIZE, DEFAULT_SIZE, 30]


def test_uncovered_characters_are_white_size_15_without_stroke():
    st = resolve_styles(
        parse_content(content("abc", {"range": [1, 2], "size": 8, "fill": fill(RED), "strokes": stroke(BLACK)}))
    )
    assert st[0].color == (1.0, 1.0, 1.0) and st[0].size == 15 and st[0].stroke is None
    assert st[1].size == 8 and st[1].stroke is not None


def test_non_overlapping_partitions_keep_explicit_empty_shadows():
    # add_captions with keyword_has_shadow: full partitions, each with a shadows array
    sh = [{"alpha": 0.9, "content": {"solid": {"color": BLACK}}, "diffuse": 0.025, "distance": 5, "angle": -45}]
    text = "一二三四"
    parts = [
        {"range": [0, 1], "fill": fill(YELLOW), "shadows": []},
        {"range": [1, 3], "fill": fill(RED), "shadows": sh},
        {"range": [3, 4], "fill": fill(YELLOW), "shadows": []},
    ]
    st = resolve_styles(parse_content(content(text, *parts)))
    assert [s.shadows == () for s in st] == [True, False, False, True]
    assert st[1].shadows[0].alpha == 0.9 and st[1].shadows[0].angle == -45
    # and a base style without the key leaves it absent (None): the text-level shadow applies
    st = resolve_styles(parse_content(content(text, {"range": [0, 8]})))
    assert all(s.shadows is None for s in st)


def test_fill_alpha_multiplies_fill_and_solid_alpha():
    f = {"alpha": 0.5, "content": {"solid": {"alpha": 0.5, "color": RED}}}
    st = resolve_styles(parse_content(content("a", {"range": [0, 1], "fill": f})))
    assert st[0].alpha == 0.25


def test_bad_styles_are_reported_not_fatal():
    rich = parse_content(json.dumps({"text": "ab", "styles": [{"range": "x"}, 3, {"range": [0, 2], "size": 9}]}))
    assert len(rich.problems) == 2
    assert resolve_styles(rich)[0].size == 9
