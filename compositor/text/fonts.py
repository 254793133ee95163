"""Fonts for the text engine (I/O at first use, then cached): the chain, the table, coverage.

* **Bundled faces**, each from a pinned pip package whose file's sha256 is checked the
  first time it is opened (:func:`verify_bundled`):

  - Noto Sans CJK (``noto-cjk-sans-otc``, an OpenType collection with JP, KR, SC, TC, HK
    faces and their Mono variants); the face is chosen by reading each face's family name,
    never by trusting an index (SC is index 2 in 0.0.1, and fontconfig would pick JP forms);
  - Noto Sans (``fontpkg-noto-sans``): Latin, Greek, Cyrillic, Vietnamese;
  - Noto Sans Arabic (``fontpkg-noto-sans-arabic``);
  - Heebo (``fontpkg-heebo``): Hebrew.

* **Per script**: the layout itemises text by Unicode script (``scripts.py``) and asks for
  the face of the run's script first (Latin/Greek/Cyrillic → Noto Sans, Arabic → Noto Sans
  Arabic, Hebrew → Heebo, Han/kana/Hangul/Bopomofo → Noto Sans CJK), so a ``’`` in English
  is Noto Sans's narrow one, not the CJK face's full-width one.
* **Chain** for a character (first font whose cmap has it wins): the font the style asks
  for (resource id → table, or a font file that exists) → the font file given in the
  settings → the bundled face of the character's script → the other bundled faces (CJK of
  the configured region first: SC unless the table or the settings say TC/HK/JP/KR) →
  system fonts when present (Noto CJK, WenQuanYi, DejaVu Sans, Noto Sans Symbols).
* **App defaults** (no font id and no path, or JianYing's/CapCut's own ``…/Font/SystemFont/…``
  file, or a table entry ``"bundled:default"``) are the bundled per-script faces: no warning.
* **Table** from JianYing font resource ids to font files (``font_table.json`` next to this
  module; users extend it with a JSON file named by ``DRAFT_RENDER_FONT_TABLE`` or passed
  in :class:`FontSettings`). A value is ``"bundled:SC"`` (a region of the bundled face),
  ``"bundled:default"`` (the per-script bundled faces) or a path (absolute, or relative to
  the table file), optionally with ``index`` and ``bold`` (draw with synthetic emboldening:
  the weight the resource has and the file lacks).

Missing glyphs are never drawn as tofu: :meth:`FontChain.font_for` returns ``None`` and
the layout reports the code points.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import freetype
import uharfbuzz as hb

from ..errors import RenderError


@dataclass(frozen=True, slots=True)
class BundledFont:
    """One pinned font file shipped by a pip package (its sha256 is checked before use)."""

    role: str  # "cjk" | "latin" | "arabic" | "hebrew"
    package: str  # importable package holding the file
    distribution: str  # pip name, pinned exactly in pyproject.toml
    version: str
    file: str  # path inside the package
    sha256: str
    family: str  # family name of the face to use


BUNDLED_CJK = BundledFont(
    "cjk",
    "noto_cjk_sans_otc",
    "noto-cjk-sans-otc",
    "0.0.1",
    "NotoSansCJK-Regular.ttc",
    "b76b0433203017ca80401b2ee0dd69350349871c4b19d504c34dbdd80541690a",
    "Noto Sans CJK SC",
)
BUNDLED_LATIN = BundledFont(
    "latin",
    "fontpkg_noto_sans",
    "fontpkg-noto-sans",
    "2.15",
    "files/NotoSans[wdth,wght].ttf",
    "bfb7bb691513f12e734dc346c03a03f784912432d7e3fa8e56efcf906fe86b3d",
    "Noto Sans",
)
BUNDLED_ARABIC = BundledFont(
    "arabic",
    "fontpkg_noto_sans_arabic",
    "fontpkg-noto-sans-arabic",
    "2.12",
    "files/NotoSansArabic[wdth,wght].ttf",
    "63111b5b2e074dd48cc67692e0a2726d86ee94c1c37fe8598257b7b4e87e869e",
    "Noto Sans Arabic",
)
BUNDLED_HEBREW = BundledFont(
    "hebrew",
    "fontpkg_heebo",
    "fontpkg-heebo",
    "3.100",
    "files/Heebo[wght].ttf",
    "18f930b583fa8fe6b40b2f8263b7ac6afbac07adc91a12467874e7467d3ace30",
    "Heebo",
)
BUNDLED_FONTS = (BUNDLED_CJK, BUNDLED_LATIN, BUNDLED_ARABIC, BUNDLED_HEBREW)
# backwards-compatible names of the CJK pin
BUNDLED_PACKAGE, BUNDLED_VERSION, BUNDLED_FILE, BUNDLED_SHA256 = (
    BUNDLED_CJK.package,
    BUNDLED_CJK.version,
    BUNDLED_CJK.file,
    BUNDLED_CJK.sha256,
)

# ISO 15924 script → the bundled face that draws it (other scripts: the chain's order)
SCRIPT_ROLES = {
    "Latn": "latin",
    "Grek": "latin",
    "Cyrl": "latin",
    "Arab": "arabic",
    "Hebr": "hebrew",
    "Hani": "cjk",
    "Hira": "cjk",
    "Kana": "cjk",
    "Hang": "cjk",
    "Bopo": "cjk",
}

# Font ids the apps write for their own default font (no resource to look up).
DEFAULT_FONT_IDS = frozenset({"", "system", "default", "none", "默认", "默认字体", "系统", "系统字体"})
REGIONS = ("SC", "TC", "HK", "JP", "KR")

TABLE_PATH = Path(__file__).with_name("font_table.json")

SYSTEM_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", None),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", None),
    ("/usr/share/fonts/truetype/noto/NotoSansSymbols2-Regular.ttf", None),
    ("/usr/share/fonts/truetype/noto/NotoSansSymbols-Regular.ttf", None),
)


class FontIntegrityError(RenderError):
    """The bundled font file is not the pinned one (wrong package version or a damaged file)."""


# -- bundled font --------------------------------------------------------------------------


def bundled_font_path(font: BundledFont = BUNDLED_CJK) -> Path:
    from importlib.resources import files

    return Path(str(files(font.package).joinpath(font.file)))


@lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_bundled(path: Path | None = None, font: BundledFont = BUNDLED_CJK) -> Path:
    """Check a bundled font file against its pinned sha256; return its path.

    Raises :class:`FontIntegrityError` when the file is missing or differs (the renderer
    would otherwise draw with glyphs nobody has checked). Cached per file version.
    """
    try:
        path = path or bundled_font_path(font)
    except ModuleNotFoundError as exc:
        raise FontIntegrityError(f"bundled font {font.distribution}=={font.version} is not installed") from exc
    try:
        st = os.stat(path)
    except OSError as exc:
        raise FontIntegrityError(f"bundled font {font.distribution}=={font.version} is not installed ({path})") from exc
    digest = _sha256_of(str(path), st.st_size, st.st_mtime_ns)
    if digest != font.sha256:
        raise FontIntegrityError(
            f"bundled font {path} has sha256 {digest}, expected {font.sha256} ({font.distribution}=={font.version})"
        )
    return Path(path)


def is_app_default_font(font_id: str, font_path: str) -> bool:
    """The apps' own default font: no id (or a default name) and no path or a ``SystemFont`` file.

    JianYing writes ``…/Resources/Font/SystemFont/zh-hans.ttf``, CapCut ``…/SystemFont/en.ttf``
    (Windows and macOS spellings); tools write an empty path or a placeholder (``"D:"``).
    """
    if font_id.strip().lower() not in DEFAULT_FONT_IDS:
        return False
    p = font_path.replace("\\", "/").lower()
    return "/font/systemfont/" in p or not p.endswith((".ttf", ".otf", ".ttc", ".otc"))


@lru_cache(maxsize=32)
def face_names(path: str) -> tuple[tuple[str, str], ...]:
    """(family, style) of every face of a font file or collection."""
    first = freetype.Face(path, 0)
    out = []
    for i in range(first.num_faces):
        f = first if i == 0 else freetype.Face(path, i)
        out.append(
            ((f.family_name or b"").decode("utf-8", "replace"), (f.style_name or b"").decode("utf-8", "replace"))
        )
    return tuple(out)


def face_index(path: str, family: str) -> int:
    """Index of the face named ``family`` (exact match) in ``path``; ValueError if absent."""
    for i, (fam, _) in enumerate(face_names(path)):
        if fam == family:
            return i
    raise ValueError(f"{path} has no face named {family!r} (faces: {face_names(path)})")


# -- one face --------------------------------------------------------------------------------


class FontFace:
    """One face of one file: HarfBuzz for shaping and coverage, FreeType for pixels."""

    def __init__(self, path: str, index: int = 0, label: str = ""):
        self.path = str(path)
        self.index = int(index)
        blob = hb.Blob.from_file_path(self.path)
        self.hb_face = hb.Face(blob, self.index)
        self.hb_font = hb.Font(self.hb_face)
        self.upem = self.hb_face.upem
        self.ft = freetype.Face(self.path, self.index)
        fam = (self.ft.family_name or b"").decode("utf-8", "replace")
        self.family = fam
        self.label = label or fam or os.path.basename(self.path)
        ext = self.hb_font.get_font_extents("ltr")
        asc, desc = ext.ascender, ext.descender
        ideo = None
        try:
            ideo = self.hb_font.get_layout_baseline("ideo", "ltr", "Hani", "ZHS")
        except (ValueError, TypeError):
            ideo = None
        if ideo is not None:
            top = ideo + self.upem  # ideographic em box: [ideo, ideo + upem]
        else:
            top = asc / (asc - desc) * self.upem if asc - desc > 0 else 0.8 * self.upem
        self.em_top = top / self.upem  # baseline sits this far (em) below the em-box top
        T = hb.OTMetricsTag
        self.underline_offset = self.hb_font.get_metric_position_with_fallback(T.UNDERLINE_OFFSET) / self.upem
        self.underline_size = max(self.hb_font.get_metric_position_with_fallback(T.UNDERLINE_SIZE) / self.upem, 0.03)
        self.has_vertical = bool(self.ft.has_vertical)
        # Bitmap-only faces (CBDT colour emoji) cannot be drawn at any size from outlines:
        # they count as not having any character, so such characters are reported, not lost.
        self.scalable = bool(self.ft.is_scalable)
        self.lock = threading.Lock()  # FreeType faces are not thread-safe

    def has(self, cp: int) -> bool:
        return self.scalable and self.hb_font.get_nominal_glyph(cp) is not None

    def __repr__(self) -> str:
        return f"FontFace({self.label!r}, {self.path!r}, index={self.index})"


@lru_cache(maxsize=64)
def open_face(path: str, index: int = 0, label: str = "") -> FontFace:
    return FontFace(path, index, label)


# -- settings, table, chain ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableEntry:
    font: str  # "bundled:SC" or a path
    index: int | None = None
    bold: bool = False  # the resource is heavier than the file: embolden
    name: str = ""
    exact: bool = False  # the file is the resource's own design and weight


@dataclass(frozen=True, slots=True)
class FontSettings:
    font_file: str | None = None  # a font file tried before the bundled face
    font_index: int = 0
    region: str = "SC"  # bundled face region: SC / TC / HK / JP / KR
    table_file: str | None = None  # extra resource-id table (JSON), merged over the built-in one
    system_fonts: bool = True
    # Font file paths written inside a draft (``styles[].font.path``) are ignored unless this
    # is on: JianYing writes placeholders there ("D:"), and a service must not let a draft
    # open arbitrary files. Map font resource ids to files with ``table_file`` instead.
    allow_draft_font_paths: bool = False

    @classmethod
    def from_env(cls) -> "FontSettings":
        region = os.environ.get("DRAFT_RENDER_CJK_REGION", "SC").upper()
        return cls(
            font_file=os.environ.get("DRAFT_RENDER_FONT") or None,
            region=region if region in REGIONS else "SC",
            table_file=os.environ.get("DRAFT_RENDER_FONT_TABLE") or None,
            allow_draft_font_paths=os.environ.get("DRAFT_RENDER_DRAFT_FONT_PATHS", "") == "1",
        )


def load_table(path: str | os.PathLike) -> dict[str, TableEntry]:
    """Read a resource-id table: ``{id: "bundled:SC" | path | {font, index, bold, name, exact}}``."""
    path = Path(path)
    raw = json.loads(path.read_text("utf-8"))
    out: dict[str, TableEntry] = {}
    for rid, v in raw.items():
        if rid.startswith("_"):
            continue  # comments
        if isinstance(v, str):
            v = {"font": v}
        font = str(v.get("font", ""))
        if font and not font.startswith("bundled:") and not os.path.isabs(font):
            font = str((path.parent / font).resolve())
        out[str(rid)] = TableEntry(
            font=font,
            index=v.get("index"),
            bold=bool(v.get("bold", False)),
            name=str(v.get("name", "")),
            exact=bool(v.get("exact", False)),
        )
    return out


@dataclass(frozen=True, slots=True)
class FontChoice:
    """How one style's font request was satisfied."""

    face: FontFace | None  # the requested font, when available
    embolden: bool = False  # table says the resource is bold
    status: str = ""  # "" (fine) | "approximated"
    message: str = ""


@dataclass
class FontChain:
    """Resolves font requests and characters to faces (one per engine)."""

    settings: FontSettings = field(default_factory=FontSettings)

    def __post_init__(self):
        self.bundled_path = str(verify_bundled(font=BUNDLED_CJK))
        self.table: dict[str, TableEntry] = load_table(TABLE_PATH) if TABLE_PATH.is_file() else {}
        if self.settings.table_file:
            self.table.update(load_table(self.settings.table_file))
        self._bundled: dict[str, FontFace] = {}
        self.default = self.bundled(self.settings.region)
        self.latin = self._bundled_face(BUNDLED_LATIN)
        self.arabic = self._bundled_face(BUNDLED_ARABIC)
        self.hebrew = self._bundled_face(BUNDLED_HEBREW)
        self.by_role: dict[str, FontFace] = {
            "cjk": self.default,
            "latin": self.latin,
            "arabic": self.arabic,
            "hebrew": self.hebrew,
        }
        tail: list[FontFace] = []
        if self.settings.font_file:
            tail.append(open_face(self.settings.font_file, self.settings.font_index))
        self._user_faces = tuple(tail)
        tail.extend((self.default, self.latin, self.arabic, self.hebrew))
        if self.settings.system_fonts:
            for p, family in SYSTEM_FONTS:
                if os.path.isfile(p):
                    try:
                        idx = face_index(p, family) if family else 0
                        tail.append(open_face(p, idx))
                    except (ValueError, freetype.FT_Exception):
                        continue
        self.fallbacks: tuple[FontFace, ...] = tuple(tail)
        self._choices: dict[tuple[str, str], FontChoice] = {}
        self.default_label = (
            f"the bundled faces ({self.latin.label}, {self.arabic.label}, {self.hebrew.label}, {self.default.label})"
        )

    @staticmethod
    def _bundled_face(font: BundledFont) -> FontFace:
        path = str(verify_bundled(font=font))
        return open_face(path, face_index(path, font.family), font.family)

    def bundled(self, region: str) -> FontFace:
        region = region.upper()
        face = self._bundled.get(region)
        if face is None:
            family = f"Noto Sans CJK {region}"
            face = open_face(self.bundled_path, face_index(self.bundled_path, family), family)
            self._bundled[region] = face
        return face

    def _open(self, entry: TableEntry) -> FontFace | None:
        if entry.font.startswith("bundled:"):
            region = entry.font.split(":", 1)[1]
            if region.lower() == "default":
                return None
            return self.bundled(region) if region.upper() in REGIONS else None
        if not os.path.isfile(entry.font):
            return None
        try:
            return open_face(entry.font, entry.index or 0)
        except (freetype.FT_Exception, OSError):
            return None

    def choose(self, font_id: str, font_path: str) -> FontChoice:
        """The face a style's ``font`` asks for (None = use the chain's default)."""
        key = (font_id, font_path)
        hit = self._choices.get(key)
        if hit is not None:
            return hit
        choice = FontChoice(face=None)
        entry = self.table.get(font_id) if font_id else None
        if entry is not None and entry.font.lower() == "bundled:default":
            choice = FontChoice(face=None)  # explicitly the bundled per-script faces
        elif entry is not None:
            face = self._open(entry)
            if face is not None:
                status = "" if entry.exact else "approximated"
                msg = (
                    ""
                    if entry.exact
                    else (
                        f"font {entry.name or font_id} drawn with {face.label}"
                        + (" (synthetic bold)" if entry.bold else "")
                    )
                )
                choice = FontChoice(face=face, embolden=entry.bold, status=status, message=msg)
            else:
                choice = FontChoice(
                    face=None,
                    status="approximated",
                    message=f"font file for {entry.name or font_id} ({entry.font}) not "
                    f"found; drawn with {self.default_label}",
                )
        elif is_app_default_font(font_id, font_path):
            pass  # the app's default font: bundled faces
        elif (
            self.settings.allow_draft_font_paths
            and font_path
            and os.path.isabs(font_path)
            and os.path.isfile(font_path)
        ):
            try:
                choice = FontChoice(face=open_face(font_path, 0))
            except (freetype.FT_Exception, OSError):
                choice = FontChoice(
                    face=None,
                    status="approximated",
                    message=f"font file {font_path} unreadable; drawn with {self.default_label}",
                )
        elif font_id:
            choice = FontChoice(
                face=None,
                status="approximated",
                message=f"font resource {font_id} is not in the font table; drawn with {self.default_label}",
            )
        elif font_path.lower().endswith((".ttf", ".otf", ".ttc", ".otc")):
            why = (
                "is not on this machine"
                if self.settings.allow_draft_font_paths
                else "is not used (draft font paths are off; map font ids in a font table)"
            )
            choice = FontChoice(
                face=None,
                status="approximated",
                message=f"font file {font_path} {why}; drawn with {self.default_label}",
            )
        self._choices[key] = choice
        return choice

    def font_for(self, cp: int, preferred: FontFace | None = None, script: str = "") -> FontFace | None:
        """The first face that has ``cp`` (None: no font has it).

        Order: ``preferred`` (the style's font) → the settings' font file → the bundled face
        of ``script`` (ISO 15924, e.g. ``"Latn"``) → the rest of the chain.
        """
        if preferred is not None and preferred.has(cp):
            return preferred
        for f in self._user_faces:
            if f.has(cp):
                return f
        role = SCRIPT_ROLES.get(script)
        if role is not None:
            f = self.by_role[role]
            if f.has(cp):
                return f
        for f in self.fallbacks:
            if f.has(cp):
                return f
        return None


def follows_previous(ch: str) -> bool:
    """Marks, joiners and variation selectors stay in the font of the character before them."""
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF or cp in (0x200C, 0x200D):
        return True
    return unicodedata.category(ch) in ("Mn", "Me", "Mc")


def is_ignorable(ch: str) -> bool:
    """Characters that draw nothing and need no glyph (controls, joiners, selectors, tags)."""
    cp = ord(ch)
    if (
        cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x034F)
        or 0xFE00 <= cp <= 0xFE0F
        or 0xE0000 <= cp <= 0xE0FFF
        or 0x180B <= cp <= 0x180F
    ):
        return True
    return unicodedata.category(ch) in ("Cc", "Cf")


__all__ = [
    "FontChain",
    "FontChoice",
    "FontFace",
    "FontSettings",
    "FontIntegrityError",
    "TableEntry",
    "BundledFont",
    "BUNDLED_CJK",
    "BUNDLED_LATIN",
    "BUNDLED_ARABIC",
    "BUNDLED_HEBREW",
    "BUNDLED_FONTS",
    "SCRIPT_ROLES",
    "is_app_default_font",
    "bundled_font_path",
    "verify_bundled",
    "face_names",
    "face_index",
    "load_table",
    "open_face",
    "BUNDLED_SHA256",
    "BUNDLED_VERSION",
    "REGIONS",
    "follows_previous",
    "is_ignorable",
]
