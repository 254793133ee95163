"""Text layout (pure given the fonts): shape, break lines, align, place every glyph.

Coordinates are **block pixels** of the draft canvas (origin top-left of the text block,
y down); the rasteriser multiplies them by its scale. The block is the element's base size
(docs/format.md#layout): it is centred at the clip centre by the timeline.

Rules (docs/format.md#layout and the best readings documented in ``docs/text.md``):

* ``em_px = size × EM_PER_SIZE × min(W, H) / 1080`` (:func:`em_px`).
* Text is itemised by Unicode script (``scripts.py``: common characters take the script of
  their run) and by UAX #9 embedding level (``bidi_order.py``); each character's face is
  the style's font, else the bundled face of its script, else the first face of the chain
  that has it (``fonts.FontChain.font_for``).
* Characters are shaped with HarfBuzz per run of one face, size, script and direction
  (odd level: right to left, so HarfBuzz joins Arabic letters); ``letter_spacing`` (em) is
  added after every character; ``line_spacing`` (em of the line) separates lines.
* A line's box is its largest em tall; the baseline sits ``face.em_top`` em below the box
  top (the ideographic em box of CJK fonts: 0.88 em for Noto Sans CJK).
* Lines break at ``\\n`` and, when wrapping is on (``type "subtitle"`` or
  ``force_apply_line_max_width``), greedily at UAX #14 opportunities (uniseg: CJK between
  ideographs, Latin at spaces, never before closing punctuation) so that each line's width
  ≤ ``line_max_width × W``; a word longer than a line is broken between characters, but
  never so that a line starts with closing punctuation. Trailing spaces hang. Lines are
  broken on the logical order; each line is then put in visual order (UAX #9 L1, L2): the
  runs of a right-to-left paragraph, or an Arabic/Hebrew run inside a left-to-right one, are
  laid out right to left while CJK and Latin runs keep their order.
* Alignment 0/1/2 = left/centre/right within the block (vertical text: top/centre/bottom).
* Vertical typesetting (``typesetting 1``): HarfBuzz top-to-bottom shaping (vertical
  forms of CJK punctuation), columns right to left, wrap at ``line_max_width × H``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from uniseg.linebreak import line_break, line_break_boundaries
import uharfbuzz as hb

from .bidi_order import paragraph_levels, visual_order
from .content import CharStyle, Shadow
from .fonts import FontChain, FontFace, follows_previous, is_ignorable
from .scripts import char_scripts

# One JianYing font-size unit in canvas pixels at min(W, H) = 1080 (calibration: docs/text.md).
EM_PER_SIZE = 6.0

ITALIC_SHEAR = math.tan(math.radians(12.0))  # synthetic italic: x += shear · height
BOLD_STRENGTH = 1.0 / 20.0  # synthetic bold: outline grows by this × em (total)
DEFAULT_SHADOW = Shadow(color=(0.0, 0.0, 0.0), alpha=0.9, diffuse=0.025, distance=5.0, angle=-45.0)

_NO_LINE_START = {"CL", "CP", "EX", "IS", "NS", "CJ"}
_BREAKS = {"\n", "\r", "\u2028", "\u2029", "\x0b", "\x0c", "\x85"}


def em_px(size: float, canvas_w: int, canvas_h: int) -> float:
    """Font size (JianYing units) → em in canvas pixels."""
    return size * EM_PER_SIZE * min(canvas_w, canvas_h) / 1080.0


@dataclass(frozen=True, slots=True)
class Params:
    """Material-level layout parameters (``materials.texts[]``)."""

    wrap: bool = False
    max_width: float = 0.82  # line_max_width
    alignment: int = 0
    vertical: bool = False
    letter_spacing: float = 0.0  # em
    line_spacing: float = 0.02  # em


@dataclass(frozen=True, slots=True)
class Glyph:
    face: FontFace
    gid: int
    x: float  # horizontal origin of the glyph, block px (baseline point)
    y: float
    em: float  # px
    char: int  # index of the character (code point) it draws
    embolden: bool


@dataclass(frozen=True, slots=True)
class CharBox:
    """Where a character sits: pen start, advance, baseline, its line."""

    x: float
    y: float  # baseline (horizontal) / top (vertical)
    advance: float
    em: float
    line: int
    face: FontFace | None


@dataclass(frozen=True, slots=True)
class Note:
    status: str  # "approximated" | "skipped"
    message: str
    name: str = ""
    resource_id: str = ""


@dataclass(frozen=True, slots=True)
class TextLayout:
    text: str
    width: float  # block size, canvas px
    height: float
    glyphs: tuple[Glyph, ...]
    styles: tuple[CharStyle, ...]  # per character
    boxes: tuple[CharBox | None, ...]  # per character (None: line break / ignorable)
    lines: tuple[tuple[float, float, float, float], ...]  # ink-free line boxes (x0, y0, x1, y1)
    vertical: bool
    shadow_on: bool
    text_shadow: Shadow | None  # applies to characters whose style has no ``shadows`` key
    ink: tuple[float, float, float, float]  # conservative bounds of glyph ink (no effects)
    notes: tuple[Note, ...] = field(default=())

    def revealable(self) -> int:
        """Characters a typewriter counts (everything except line breaks)."""
        return sum(1 for b in self.boxes if b is not None)


# -- shaping -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shaped:
    gids: tuple[int, ...]
    clusters: tuple[int, ...]
    x_adv: tuple[int, ...]
    y_adv: tuple[int, ...]
    x_off: tuple[int, ...]
    y_off: tuple[int, ...]


class ShapeCache:
    """HarfBuzz results in font units, keyed by (face, text, direction, script)."""

    def __init__(self, maxsize: int = 4096):
        self._d: dict[tuple, Shaped] = {}
        self._max = maxsize

    def shape(self, face: FontFace, text: str, vertical: bool, rtl: bool = False, script: str = "") -> Shaped:
        """Glyphs of ``text`` in visual order (right-to-left runs: clusters decreasing)."""
        key = (face.path, face.index, text, vertical, rtl, script)
        hit = self._d.get(key)
        if hit is not None:
            return hit
        buf = hb.Buffer()
        buf.add_codepoints([ord(c) for c in text])
        buf.guess_segment_properties()
        buf.direction = "ttb" if vertical else ("rtl" if rtl else "ltr")
        if script:
            buf.script = script
        hb.shape(face.hb_font, buf, {})
        infos, pos = buf.glyph_infos, buf.glyph_positions
        res = Shaped(
            tuple(i.codepoint for i in infos),
            tuple(i.cluster for i in infos),
            tuple(p.x_advance for p in pos),
            tuple(p.y_advance for p in pos),
            tuple(p.x_offset for p in pos),
            tuple(p.y_offset for p in pos),
        )
        if len(self._d) >= self._max:
            self._d.pop(next(iter(self._d)))
        self._d[key] = res
        return res


# -- layout -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Char:
    ch: str
    style: CharStyle
    em: float
    face: FontFace | None
    embolden: bool
    script: str = ""  # ISO 15924 (common characters: their run's)
    level: int = 0  # UAX #9 embedding level (odd: right to left)
    base: int = 0  # the paragraph's level
    advance: float = 0.0  # shaped advance, px
    spacing: float = 0.0  # letter spacing after the character, px
    glyphs: list = field(default_factory=list)  # (gid, dx, dy) relative to the pen, px


def layout_text(
    text: str,
    styles: list[CharStyle],
    params: Params,
    canvas_w: int,
    canvas_h: int,
    chain: FontChain,
    shapes: ShapeCache,
    *,
    shadow_flag: bool = False,
) -> TextLayout:
    """Lay out ``text`` (one style per code point) on a ``canvas_w × canvas_h`` canvas."""
    notes: list[Note] = []
    chars = _assign_fonts(text, styles, canvas_w, canvas_h, chain, notes)
    if not params.vertical:
        _assign_levels(text, chars)
    _shape(chars, params.vertical, shapes)
    for c in chars:
        if not _is_break(c.ch) and not is_ignorable(c.ch):
            c.spacing = params.letter_spacing * c.em
    limit = params.max_width * (canvas_h if params.vertical else canvas_w) if params.wrap else math.inf
    lines = _break_lines(chars, limit)
    shadow_on, text_shadow = _shadow_setting(styles, shadow_flag)
    if params.vertical:
        return _place_vertical(text, chars, lines, params, notes, shadow_on, text_shadow)
    return _place_horizontal(text, chars, lines, params, notes, shadow_on, text_shadow)


def _is_break(ch: str) -> bool:
    return ch in _BREAKS


def _assign_fonts(
    text: str, styles: list[CharStyle], cw: int, ch: int, chain: FontChain, notes: list[Note]
) -> list[_Char]:
    out: list[_Char] = []
    missing: list[int] = []
    choices_noted: set[tuple[str, str]] = set()
    prev_face: FontFace | None = None
    scripts = char_scripts(text, _BREAKS)
    for i, c in enumerate(text):
        st = styles[i]
        em = em_px(st.size, cw, ch)
        choice = chain.choose(st.font_id, st.font_path)
        if choice.status and (st.font_id, st.font_path) not in choices_noted:
            choices_noted.add((st.font_id, st.font_path))
            notes.append(Note(choice.status, choice.message, resource_id=st.font_id))
        if _is_break(c):
            out.append(_Char(c, st, em, None, False))
            prev_face = None
            continue
        if follows_previous(c) and prev_face is not None:
            face = prev_face
        else:
            face = chain.font_for(ord(c), choice.face, scripts[i])
            if face is None and not is_ignorable(c):
                missing.append(ord(c))
        out.append(_Char(c, st, em, face, choice.embolden, script=scripts[i]))
        if face is not None:
            prev_face = face
    if missing:
        cps = " ".join(f"U+{cp:04X}" for cp in dict.fromkeys(missing))
        everything = all(ch_.face is None for ch_ in out if not _is_break(ch_.ch) and not is_ignorable(ch_.ch))
        notes.append(
            Note(
                "skipped" if everything else "approximated",
                f"no font has {cps}; drawn as blank space" + (" (nothing to draw)" if everything else ""),
            )
        )
    return out


def _assign_levels(text: str, chars: list[_Char]) -> None:
    """UAX #9 embedding levels per paragraph (text between hard breaks)."""
    start = 0
    n = len(text)
    while start < n:
        end = start
        while end < n and not _is_break(text[end]):
            end += 1
        res = paragraph_levels(text[start:end]) if end > start else None
        if res is not None:
            base, levels = res
            for k, lv in enumerate(levels):
                chars[start + k].level = lv
                chars[start + k].base = base
        start = end + 1


def _shape(chars: list[_Char], vertical: bool, shapes: ShapeCache) -> None:
    """Fill each character's advance and glyphs (px, relative to its pen position)."""
    i = 0
    n = len(chars)
    while i < n:
        c = chars[i]
        if c.face is None:
            if not _is_break(c.ch) and not is_ignorable(c.ch):
                c.advance = c.em  # missing glyph: a blank em, never tofu
            i += 1
            continue
        j = i + 1
        while (
            j < n
            and chars[j].face is c.face
            and chars[j].em == c.em
            and not _is_break(chars[j].ch)
            and chars[j].embolden == c.embolden
            and chars[j].style.bold == c.style.bold
            and chars[j].level == c.level
            and chars[j].script == c.script
        ):
            j += 1
        run = chars[i:j]
        shaped = shapes.shape(c.face, "".join(r.ch for r in run), vertical, bool(c.level & 1), c.script)
        k = c.em / c.face.upem
        bold = BOLD_STRENGTH * c.em if (c.embolden or c.style.bold) else 0.0
        # glyph → first character of its cluster; a cluster's glyphs are contiguous in the
        # (visual) output, so each character's own pen reproduces HarfBuzz's positions in
        # either direction once the characters are placed in visual order
        for g, cl, xa, ya, xo, yo in zip(
            shaped.gids, shaped.clusters, shaped.x_adv, shaped.y_adv, shaped.x_off, shaped.y_off
        ):
            owner = run[min(cl, len(run) - 1)]
            pen = owner.advance
            if vertical:
                owner.glyphs.append((g, xo * k, pen - yo * k))
                owner.advance += -ya * k
            else:
                owner.glyphs.append((g, pen + xo * k, -yo * k))
                owner.advance += xa * k + (bold if xa else 0.0)
        i = j


def _break_class(ch: str) -> str:
    try:
        return str(line_break(ch))
    except Exception:  # pragma: no cover - uniseg knows every code point
        return "XX"


def _break_lines(chars: list[_Char], limit: float) -> list[list[int]]:
    """Indices of the characters of each line (hard breaks excluded)."""
    lines: list[list[int]] = []
    para: list[int] = []
    for i, c in enumerate(chars):
        if _is_break(c.ch):
            if c.ch == "\n" and i > 0 and chars[i - 1].ch == "\r":
                continue
            lines.extend(_wrap(chars, para, limit))
            para = []
        else:
            para.append(i)
    lines.extend(_wrap(chars, para, limit))
    return lines


def _line_width(chars: list[_Char], idx: list[int]) -> float:
    """Extent of a line: advances and letter spacing, without trailing spaces and the last spacing."""
    end = len(idx)
    while end > 0 and chars[idx[end - 1]].ch.isspace():
        end -= 1
    if end == 0:
        return 0.0
    return sum(chars[i].advance + chars[i].spacing for i in idx[:end]) - chars[idx[end - 1]].spacing


def _wrap(chars: list[_Char], para: list[int], limit: float) -> list[list[int]]:
    """Greedy line filling of one paragraph at UAX #14 opportunities (see the module doc)."""
    if not para:
        return [[]]
    if math.isinf(limit):
        return [para]
    text = "".join(chars[i].ch for i in para)
    allowed = sorted(set(line_break_boundaries(text)))  # a break before position b is allowed
    n = len(para)
    prefix = [0.0]
    for i in para:
        prefix.append(prefix[-1] + chars[i].advance + chars[i].spacing)

    def width(a: int, k: int) -> float:  # line para[a..k] inclusive
        e = k
        while e >= a and chars[para[e]].ch.isspace():
            e -= 1
        if e < a:
            return 0.0
        return prefix[e + 1] - prefix[a] - chars[para[e]].spacing

    out: list[list[int]] = []
    start, k = 0, 0
    while k < n:
        if k > start and width(start, k) > limit + 1e-6:
            cut = max((b for b in allowed if start < b <= k), default=None)
            if cut is None:  # no opportunity: between characters
                cut = k
                while cut > start + 1 and _break_class(chars[para[cut]].ch) in _NO_LINE_START:
                    cut -= 1
            out.append(para[start:cut])
            start = cut
            continue
        k += 1
    out.append(para[start:])
    return out


def _shadow_setting(styles: list[CharStyle], flag: bool) -> tuple[bool, Shadow | None]:
    """(shadows on?, the text-level shadow for characters without a ``shadows`` key)."""
    first = next((s.shadows[0] for s in styles if s.shadows), None)
    on = flag or first is not None
    if not on:
        return False, None
    return True, first or DEFAULT_SHADOW


def _line_em(chars: list[_Char], idx: list[int], fallback: float) -> float:
    return max((chars[i].em for i in idx), default=fallback)


def _ink(glyph_boxes: list[tuple[float, float, float, float]], w: float, h: float):
    if not glyph_boxes:
        return 0.0, 0.0, w, h
    return (
        min(b[0] for b in glyph_boxes),
        min(b[1] for b in glyph_boxes),
        max(b[2] for b in glyph_boxes),
        max(b[3] for b in glyph_boxes),
    )


def _glyph_box(face: FontFace, gid: int, x: float, y: float, em: float, bold: bool, italic: bool):
    ext = face.hb_font.get_glyph_extents(gid)
    if ext is None:
        return None
    k = em / face.upem
    x0 = x + ext.x_bearing * k
    x1 = x0 + ext.width * k
    top = y - ext.y_bearing * k  # y_bearing up from the baseline
    bottom = top - ext.height * k  # height is negative
    if x1 <= x0 or bottom <= top:
        return None
    grow = BOLD_STRENGTH * em if bold else 0.0
    x1 += grow
    top -= grow / 2
    bottom += grow / 2
    if italic:
        x0 -= ITALIC_SHEAR * max(0.0, bottom - y)
        x1 += ITALIC_SHEAR * max(0.0, y - top)
    return x0, top, x1, bottom


def _place_horizontal(text, chars, lines, params, notes, shadow_on, text_shadow) -> TextLayout:
    default_em = chars[0].em if chars else 0.0
    widths = [_line_width(chars, ln) for ln in lines]
    ems = [_line_em(chars, ln, default_em) for ln in lines]
    block_w = max(widths, default=0.0)
    boxes: list[CharBox | None] = [None] * len(chars)
    glyphs: list[Glyph] = []
    line_boxes = []
    ink: list[tuple[float, float, float, float]] = []
    y = 0.0
    for li, (ln, w, em) in enumerate(zip(lines, widths, ems)):
        top_ratio = max((chars[i].face.em_top for i in ln if chars[i].face is not None), default=0.88)
        base = y + top_ratio * em
        x = {0: 0.0, 2: block_w - w}.get(params.alignment, (block_w - w) / 2)
        line_boxes.append((x, y, x + w, y + em))
        if any(chars[i].level or chars[i].base for i in ln):
            _place_bidi_line(chars, ln, li, x, base, boxes, glyphs, ink)
        else:
            for i in ln:
                c = chars[i]
                boxes[i] = CharBox(x=x, y=base, advance=c.advance + c.spacing, em=c.em, line=li, face=c.face)
                _emit_glyphs(c, i, x, base, glyphs, ink)
                x += c.advance + c.spacing
        y += em + (params.line_spacing * em if li + 1 < len(lines) else 0.0)
    height = y
    return TextLayout(
        text=text,
        width=block_w,
        height=height,
        glyphs=tuple(glyphs),
        styles=tuple(c.style for c in chars),
        boxes=tuple(boxes),
        lines=tuple(line_boxes),
        vertical=False,
        shadow_on=shadow_on,
        text_shadow=text_shadow,
        ink=_ink(ink, block_w, height),
        notes=tuple(notes),
    )


def _place_bidi_line(
    chars: list[_Char], ln: list[int], li: int, x: float, base: float, boxes: list, glyphs: list, ink: list
) -> None:
    """Place one line holding right-to-left text: characters in visual order (UAX #9 L1, L2).

    Letter spacing follows each character in its reading direction (left of a right-to-left
    one) and is not counted after the line's logically last character, as in
    :func:`_line_width`; trailing spaces hang past the line's end in the paragraph direction.
    """
    end = len(ln)
    while end > 0 and chars[ln[end - 1]].ch.isspace():
        end -= 1
    content, hanging = ln[:end], ln[end:]
    para = chars[ln[0]].base
    order = visual_order([chars[i].ch for i in content], [chars[i].level for i in content], para)
    last = content[-1] if content else -1
    pen = x
    for k in order:
        i = content[k]
        c = chars[i]
        sp = 0.0 if i == last else c.spacing
        boxes[i] = CharBox(x=pen, y=base, advance=c.advance + sp, em=c.em, line=li, face=c.face)
        _emit_glyphs(c, i, pen + (sp if c.level & 1 else 0.0), base, glyphs, ink)
        pen += c.advance + sp
    for i in hanging:
        c = chars[i]
        w = c.advance + c.spacing
        if para & 1:
            x -= w
            boxes[i] = CharBox(x=x, y=base, advance=w, em=c.em, line=li, face=c.face)
        else:
            boxes[i] = CharBox(x=pen, y=base, advance=w, em=c.em, line=li, face=c.face)
            pen += w


def _emit_glyphs(c, i: int, x: float, y: float, glyphs: list, ink: list) -> None:
    """Place character ``i``'s glyphs with their pen at (x, y); collect their ink boxes."""
    bold = c.embolden or c.style.bold
    for gid, dx, dy in c.glyphs:
        glyphs.append(Glyph(c.face, gid, x + dx, y + dy, c.em, i, bold))
        b = _glyph_box(c.face, gid, x + dx, y + dy, c.em, bold, c.style.italic)
        if b:
            ink.append(b)


def _place_vertical(text, chars, lines, params, notes, shadow_on, text_shadow) -> TextLayout:
    default_em = chars[0].em if chars else 0.0
    heights = [_line_width(chars, ln) for ln in lines]
    ems = [_line_em(chars, ln, default_em) for ln in lines]
    block_h = max(heights, default=0.0)
    block_w = sum(ems) + sum(params.line_spacing * e for e in ems[:-1])
    boxes: list[CharBox | None] = [None] * len(chars)
    glyphs: list[Glyph] = []
    line_boxes = []
    ink: list[tuple[float, float, float, float]] = []
    right = block_w
    for li, (ln, h, em) in enumerate(zip(lines, heights, ems)):
        cx = right - em / 2  # columns from right to left
        y = {0: 0.0, 2: block_h - h}.get(params.alignment, (block_h - h) / 2)
        line_boxes.append((right - em, y, right, y + h))
        for i in ln:
            c = chars[i]
            boxes[i] = CharBox(x=cx, y=y, advance=c.advance + c.spacing, em=c.em, line=li, face=c.face)
            _emit_glyphs(c, i, cx, y, glyphs, ink)
            y += c.advance + c.spacing
        right -= em + params.line_spacing * em
    return TextLayout(
        text=text,
        width=block_w,
        height=block_h,
        glyphs=tuple(glyphs),
        styles=tuple(c.style for c in chars),
        boxes=tuple(boxes),
        lines=tuple(line_boxes),
        vertical=True,
        shadow_on=shadow_on,
        text_shadow=text_shadow,
        ink=_ink(ink, block_w, block_h),
        notes=tuple(notes),
    )


__all__ = [
    "EM_PER_SIZE",
    "Params",
    "Glyph",
    "CharBox",
    "Note",
    "TextLayout",
    "ShapeCache",
    "layout_text",
    "em_px",
    "ITALIC_SHEAR",
    "BOLD_STRENGTH",
    "DEFAULT_SHADOW",
]
