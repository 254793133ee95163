"""Faces chosen per script: Latin/Greek/Cyrillic/Vietnamese → Noto Sans, Arabic → Noto Sans Arabic,
Hebrew → Heebo, CJK → Noto Sans CJK; the apps' default fonts; the pinned files of the new faces."""

from __future__ import annotations

import pytest

from compositor.text.fonts import (
    BUNDLED_ARABIC,
    BUNDLED_HEBREW,
    BUNDLED_LATIN,
    FontIntegrityError,
    bundled_font_path,
    is_app_default_font,
    verify_bundled,
)
from compositor.text.scripts import char_scripts
from tests.text_helpers import engine, spec, style

W, H = 1920, 1080
CAPCUT_DEFAULT = "C:/Users/someone/AppData/Local/CapCut/Apps/9.1.0.2201/Resources/Font/SystemFont/en.ttf"
CAPCUT_MAC_DEFAULT = "/Applications/CapCut.app/Contents/Resources/Font/SystemFont/en.ttf"
JIANYING_DEFAULT = "D:/JianyingPro/5.9.0.11632/Resources/Font/SystemFont/zh-hans.ttf"


def lay_out(text, *styles, **fields):
    lay, _, _ = engine().layout(spec(text, *styles, type="text", **fields), W, H)
    return lay


def faces(lay) -> set[str]:
    return {g.face.family for g in lay.glyphs}


def test_latin_apostrophe_is_narrow_not_the_cjk_full_width_one():
    lay = lay_out("Company’s")
    i = lay.text.index("’")
    em = lay.boxes[i].em
    assert lay.boxes[i].face.family == "Noto Sans"
    assert lay.boxes[i].advance < 0.35 * em
    cjk = engine().chain.default
    cjk_adv = engine().shapes.shape(cjk, "’", False).x_adv[0] / cjk.upem
    assert cjk_adv > 0.9  # what it used to be: a full em
    assert lay.boxes[i + 1].x - lay.boxes[i - 1].x < 0.9 * em  # "y’s" no longer gapped


@pytest.mark.parametrize(
    "text",
    [
        "Привет, мир! Съешь же ещё этих булок",  # Cyrillic
        "Γειά σου Κόσμε — ψυχοφθόρα",  # Greek
        "Tiếng Việt có dấu: Đường phố Hà Nội",  # Vietnamese, precomposed
        "Tie\u0302\u0301ng Vie\u0323\u0302t",  # Vietnamese, combining marks
        "Company’s “quoted” text – naïve café",
    ],
)
def test_latin_greek_cyrillic_vietnamese_use_the_latin_face_without_warnings(text):
    lay = lay_out(text)
    assert not lay.notes
    assert faces(lay) == {"Noto Sans"}


def test_cjk_stays_on_the_cjk_face_and_mixed_text_switches_per_run():
    lay = lay_out("你好，世界 Hi")
    per_char = [lay.boxes[i].face.family for i in range(len(lay.text))]
    assert per_char[:6] == ["Noto Sans CJK SC"] * 6  # the ideographs, "，" and the space after them
    assert per_char[6:] == ["Noto Sans"] * 2
    assert lay.boxes[2].advance == pytest.approx(lay.boxes[2].em)  # Chinese comma stays full-width


def test_arabic_uses_the_arabic_face_and_a_latin_word_inside_it_the_latin_face():
    lay = lay_out("مرحبا Hello")
    fam = [lay.boxes[i].face.family for i in range(len(lay.text))]
    assert fam[:5] == ["Noto Sans Arabic"] * 5 and fam[6:] == ["Noto Sans"] * 5
    assert not lay.notes


def test_a_character_the_script_face_lacks_falls_back_per_code_point():
    lay = lay_out("Hello 漢")  # a Han character after Latin: script Han → CJK face
    assert lay.boxes[6].face.family == "Noto Sans CJK SC"
    lay = lay_out("abc、def")  # ideographic comma inside Latin text
    assert lay.boxes[3].face.family == "Noto Sans CJK SC" and not lay.notes


def test_script_itemisation_gives_common_characters_their_runs_script():
    assert char_scripts("Hi, 你好") == ["Latn"] * 4 + ["Hani"] * 2
    assert char_scripts("12 ab") == ["Latn"] * 5  # leading digits take the next script
    assert char_scripts("مرحبا، Hi") == ["Arab"] * 7 + ["Latn"] * 2
    assert char_scripts("Hi،") == ["Latn", "Latn", "Arab"]  # an Arabic comma stays Arabic
    assert char_scripts("a\u0301") == ["Latn", "Latn"]  # a combining mark follows its base
    assert char_scripts("123") == ["", "", ""]  # no script of its own
    assert char_scripts("Я\n中") == ["Cyrl", "", "Hani"]


@pytest.mark.parametrize(
    "font_id,path",
    [
        ("", ""),
        ("", CAPCUT_DEFAULT),
        ("", CAPCUT_MAC_DEFAULT),
        ("", JIANYING_DEFAULT),
        ("System", ""),
        ("", "D:"),
        ("默认字体", ""),
    ],
)
def test_app_default_fonts_are_the_bundled_faces_without_warnings(font_id, path):
    assert is_app_default_font(font_id, path)
    st = style(0, 40)
    st["font"] = {"id": font_id, "path": path}
    lay = lay_out("Company’s مرحبا 你好", st)
    assert not lay.notes
    assert faces(lay) == {"Noto Sans", "Noto Sans Arabic", "Noto Sans CJK SC"}


def test_other_font_files_and_ids_still_warn():
    assert not is_app_default_font("", "C:/Windows/Fonts/arial.ttf")
    assert not is_app_default_font("7000000000000000001", "")
    st = style(0, 4)
    st["font"] = {"id": "", "path": "C:/Windows/Fonts/arial.ttf"}
    lay = lay_out("Abcd", st)
    assert [n.status for n in lay.notes] == ["approximated"] and "arial.ttf" in lay.notes[0].message


@pytest.mark.parametrize("font", [BUNDLED_LATIN, BUNDLED_ARABIC, BUNDLED_HEBREW])
def test_new_bundled_faces_are_the_pinned_files(font, tmp_path):
    assert verify_bundled(font=font) == bundled_font_path(font)
    fake = tmp_path / "fake.ttf"
    fake.write_bytes(b"not the font")
    with pytest.raises(FontIntegrityError, match="sha256"):
        verify_bundled(fake, font=font)
