"""Fonts: the pinned bundled collection, face choice by name, the chain, the resource-id table."""

from __future__ import annotations

import json

import pytest

from compositor.text.fonts import (
    BUNDLED_SHA256,
    FontChain,
    FontIntegrityError,
    FontSettings,
    bundled_font_path,
    face_index,
    face_names,
    verify_bundled,
)


def test_bundled_font_is_the_pinned_file():
    path = verify_bundled()
    assert path == bundled_font_path() and len(BUNDLED_SHA256) == 64


def test_a_different_file_fails_the_start_up_check(tmp_path):
    fake = tmp_path / "NotoSansCJK-Regular.ttc"
    fake.write_bytes(b"not the font")
    with pytest.raises(FontIntegrityError, match="sha256"):
        verify_bundled(fake)
    with pytest.raises(FontIntegrityError, match="not installed"):
        verify_bundled(tmp_path / "missing.ttc")


def test_faces_are_chosen_by_family_name_not_by_index():
    path = str(bundled_font_path())
    names = [fam for fam, _ in face_names(path)]
    assert "Noto Sans CJK SC" in names and "Noto Sans CJK JP" in names
    sc = face_index(path, "Noto Sans CJK SC")
    assert names[sc] == "Noto Sans CJK SC"
    chain = FontChain(FontSettings(system_fonts=False))
    assert chain.default.family == "Noto Sans CJK SC"
    assert FontChain(FontSettings(region="TC", system_fonts=False)).default.family == "Noto Sans CJK TC"
    with pytest.raises(ValueError):
        face_index(path, "No Such Family")


def test_sc_and_tc_faces_draw_different_forms():
    chain = FontChain(FontSettings(system_fonts=False))
    sc, tc = chain.bundled("SC"), chain.bundled("TC")
    cp = ord("骨")  # regional glyph variants
    assert sc.hb_font.get_nominal_glyph(cp) != tc.hb_font.get_nominal_glyph(cp)


def test_user_table_extends_the_built_in_one(tmp_path):
    table = tmp_path / "fonts.json"
    table.write_text(
        json.dumps(
            {
                "_comment": "x",
                "999": "bundled:HK",
                "998": {"font": "bundled:JP", "bold": True, "name": "Some Bold"},
                "997": {"font": "missing.ttf", "name": "Gone"},
            }
        )
    )
    chain = FontChain(FontSettings(table_file=str(table), system_fonts=False))
    hk = chain.choose("999", "")
    assert hk.face.family == "Noto Sans CJK HK" and hk.status == "approximated"
    bold = chain.choose("998", "")
    assert bold.embolden and "synthetic bold" in bold.message
    gone = chain.choose("997", "")
    assert gone.face is None and "not found" in gone.message and str(tmp_path) in gone.message
    assert chain.choose("7265597035946971705", "").status == ""  # built-in entries are kept


def test_settings_font_file_comes_before_the_bundled_face():
    jp = FontSettings(font_file=str(bundled_font_path()), font_index=0, system_fonts=False)
    chain = FontChain(jp)
    assert chain.fallbacks[0].family == "Noto Sans CJK JP"
    assert chain.font_for(ord("A")) is chain.fallbacks[0]


def test_environment_settings(monkeypatch):
    monkeypatch.setenv("DRAFT_RENDER_CJK_REGION", "hk")
    monkeypatch.setenv("DRAFT_RENDER_FONT_TABLE", "/x/table.json")
    s = FontSettings.from_env()
    assert s.region == "HK" and s.table_file == "/x/table.json" and s.font_file is None
    monkeypatch.setenv("DRAFT_RENDER_CJK_REGION", "martian")
    assert FontSettings.from_env().region == "SC"


def test_no_font_means_none_never_a_tofu_glyph():
    chain = FontChain(FontSettings(system_fonts=False))
    assert chain.font_for(0x1FAE8) is None
    assert chain.font_for(ord("字")) is chain.default
