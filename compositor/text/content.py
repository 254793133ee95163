"""The rich-text content of ``materials.texts[]`` (pure): parse, resolve styles per character.

``content`` is a string holding JSON (``{"text": ..., "styles": [...]}``): the draft JSON is
parsed once, this string a second time (docs/format.md#text-material). Older JianYing builds wrote a tag
markup instead (``<font ...><color=(r,g,b,a)><size=15>text</size></color></font>``); that
is read too, as one base style.

Style resolution (docs/format.md#styles):

* ``range`` counts **UTF-16 code units**, end exclusive; ``end`` is clamped to the text
  (capcut-mate's base style writes ``[0, 2 × UTF-16 length]``). A character belongs to a
  range when its first code unit does, so a range that starts inside a surrogate pair
  does not take the emoji. capcut-mate's keyword styles count code points; after an astral
  character (emoji) they therefore land one unit early, exactly as JianYing reads them.
* Per character: start from the first style that covers it, and let every later covering
  style override the keys it contains (``fill``, ``size``, ``bold``, ``italic``,
  ``underline``, ``strokes``, ``shadows``, ``font``, ``effectStyle``); keys absent in a
  later style are inherited. A character no style covers is white, size 15, no stroke.
* ``shadows`` keeps the difference between "key absent" (``None``: the text-level shadow
  applies when shadows are on) and "explicitly empty" (``()``: no shadow for this
  character), which is what capcut-mate's non-overlapping keyword partitions rely on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

RGB = tuple[float, float, float]

DEFAULT_SIZE = 15.0

_STYLE_KEYS = ("fill", "size", "bold", "italic", "underline", "strokes", "shadows", "font", "effectStyle")


@dataclass(frozen=True, slots=True)
class Stroke:
    color: RGB
    alpha: float
    width: float  # as stored: UI/100 × 0.2 (0 … 0.2), in em (best reading)


@dataclass(frozen=True, slots=True)
class Shadow:
    color: RGB
    alpha: float
    diffuse: float  # as stored: UI / 600
    distance: float  # UI 0 … 100
    angle: float  # degrees, counter-clockwise from +x with y up (−45 = lower right)


@dataclass(frozen=True, slots=True)
class CharStyle:
    """The resolved style of one character."""

    size: float = DEFAULT_SIZE
    color: RGB = (1.0, 1.0, 1.0)
    alpha: float = 1.0  # fill.alpha × solid.alpha
    bold: bool = False
    italic: bool = False
    underline: bool = False
    stroke: Stroke | None = None
    shadows: tuple[Shadow, ...] | None = None  # None = key absent (inherit the text-level shadow)
    font_id: str = ""
    font_path: str = ""
    effect_id: str = ""  # 花字 (effectStyle)


@dataclass(frozen=True, slots=True)
class StyleSpan:
    """One entry of ``content.styles``: its range (UTF-16 units) and the keys it contains."""

    start: int
    end: int
    keys: tuple[tuple[str, object], ...]


@dataclass(frozen=True, slots=True)
class RichText:
    text: str
    spans: tuple[StyleSpan, ...] = ()
    markup: bool = False  # parsed from the legacy tag markup
    problems: tuple[str, ...] = field(default=())


def utf16_len(s: str) -> int:
    return sum(2 if ord(c) > 0xFFFF else 1 for c in s)


def utf16_offsets(s: str) -> list[int]:
    """UTF-16 offset of every code point of ``s``."""
    out, u = [], 0
    for c in s:
        out.append(u)
        u += 2 if ord(c) > 0xFFFF else 1
    return out


# -- parsing -------------------------------------------------------------------------------

_TAG = re.compile(r"<[^<>]*>")
_SIZE_TAG = re.compile(r"<size=([0-9.]+)>")
_COLOR_TAG = re.compile(r"<color=\(([^)]*)\)>")


def parse_content(content: str) -> RichText:
    """Parse a text material's ``content`` (JSON string, or legacy markup, or plain text)."""
    raw: object = content
    for _ in range(3):  # "parse twice"; tolerate one extra layer of stringification
        if not isinstance(raw, str):
            break
        s = raw.strip()
        if not s.startswith(("{", '"')):
            break
        try:
            raw = json.loads(s)
        except (ValueError, RecursionError):  # not JSON, or nested absurdly deep: plain text
            break
    if isinstance(raw, dict):
        return _from_json(raw)
    text = raw if isinstance(raw, str) else str(raw)
    if _TAG.search(text):
        return _from_markup(text)
    return RichText(text=text)


def _from_json(obj: dict) -> RichText:
    text = obj.get("text", "")
    if not isinstance(text, str):
        text = str(text)
    problems: list[str] = []
    spans: list[StyleSpan] = []
    styles = obj.get("styles") or []
    if not isinstance(styles, list):
        problems.append("content.styles is not a list; ignored")
        styles = []
    for i, st in enumerate(styles):
        if not isinstance(st, dict):
            problems.append(f"content.styles[{i}] is not an object; ignored")
            continue
        rng = st.get("range") or [0, utf16_len(text)]
        try:
            start, end = int(rng[0]), int(rng[1])
        except (TypeError, ValueError, IndexError):
            problems.append(f"content.styles[{i}].range {rng!r} is not [start, end]; ignored")
            continue
        keys = tuple((k, st[k]) for k in _STYLE_KEYS if k in st)
        spans.append(StyleSpan(start, end, keys))
    return RichText(text=text, spans=tuple(spans), problems=tuple(problems))


def _from_markup(markup: str) -> RichText:
    """Legacy ``<font><color=(r,g,b,a)><size=n>text</size></color></font>``: one base style."""
    keys: list[tuple[str, object]] = []
    m = _SIZE_TAG.search(markup)
    if m:
        keys.append(("size", float(m.group(1))))
    m = _COLOR_TAG.search(markup)
    if m:
        try:
            vals = [float(v) for v in m.group(1).split(",")]
            rgb = vals[:3]
            a = vals[3] if len(vals) > 3 else 1.0
            keys.append(("fill", {"alpha": 1.0, "content": {"solid": {"alpha": a, "color": rgb}}}))
        except ValueError:
            pass
    text = _TAG.sub("", markup)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return RichText(text=text, spans=(StyleSpan(0, utf16_len(text), tuple(keys)),), markup=True)


# -- values --------------------------------------------------------------------------------


def _colour(v) -> RGB | None:
    if isinstance(v, (list, tuple)) and len(v) >= 3:
        try:
            return tuple(min(max(float(c), 0.0), 1.0) for c in v[:3])  # type: ignore[return-value]
        except (TypeError, ValueError):
            return None
    if isinstance(v, str):
        s = v.lstrip("#")
        if len(s) in (6, 8):
            try:
                return tuple(int(s[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]
            except ValueError:
                return None
    return None


def _num(v, default: float) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return f if f == f and abs(f) != float("inf") else default


def _solid(content) -> tuple[RGB | None, float]:
    """(colour, alpha) of a ``content`` object: ``solid``, else the first colour found."""
    if not isinstance(content, dict):
        return None, 1.0
    solid = content.get("solid")
    if isinstance(solid, dict):
        return _colour(solid.get("color")), _num(solid.get("alpha", 1.0), 1.0)
    # gradient / texture render types: use the first colour found anywhere (docs/format.md#styles)
    stack = [content]
    while stack:
        obj = stack.pop()
        if isinstance(obj, dict):
            for k in ("color", "colors"):
                c = obj.get(k)
                if isinstance(c, list) and c and isinstance(c[0], (list, str)):
                    c = c[0]
                rgb = _colour(c)
                if rgb is not None:
                    return rgb, _num(obj.get("alpha", 1.0), 1.0)
            stack.extend(obj.values())
        elif isinstance(obj, list):
            stack.extend(obj)
    return None, 1.0


def _stroke(v) -> Stroke | None:
    if not isinstance(v, list) or not v or not isinstance(v[0], dict):
        return None
    s = v[0]
    rgb, a = _solid(s.get("content"))
    width = _num(s.get("width", 0.0), 0.0)
    if width <= 0:
        return None
    return Stroke(color=rgb or (0.0, 0.0, 0.0), alpha=min(max(a, 0.0), 1.0), width=min(width, 1.0))


def _shadows(v) -> tuple[Shadow, ...]:
    if not isinstance(v, list):
        return ()
    out = []
    for s in v:
        if not isinstance(s, dict):
            continue
        rgb, a_solid = _solid(s.get("content"))
        alpha = _num(s.get("alpha", a_solid), 1.0)
        out.append(
            Shadow(
                color=rgb or (0.0, 0.0, 0.0),
                alpha=min(max(alpha, 0.0), 1.0),
                diffuse=max(0.0, _num(s.get("diffuse", 0.025), 0.025)),
                distance=max(0.0, _num(s.get("distance", 5.0), 5.0)),
                angle=_num(s.get("angle", -45.0), -45.0),
            )
        )
    return tuple(out)


def _style_from_keys(keys: dict, default_size: float) -> CharStyle:
    kw: dict = {"size": default_size}
    fill = keys.get("fill")
    if isinstance(fill, dict):
        rgb, a = _solid(fill.get("content"))
        if rgb is not None:
            kw["color"] = rgb
        kw["alpha"] = min(max(_num(fill.get("alpha", 1.0), 1.0) * a, 0.0), 1.0)
    if "size" in keys:
        size = _num(keys["size"], default_size)
        kw["size"] = size if size > 0 else default_size
    for k in ("bold", "italic", "underline"):
        if k in keys:
            kw[k] = bool(keys[k])
    if "strokes" in keys:
        kw["stroke"] = _stroke(keys["strokes"])
    if "shadows" in keys:
        kw["shadows"] = _shadows(keys["shadows"])
    font = keys.get("font")
    if isinstance(font, dict):
        kw["font_id"] = str(font.get("id", "") or "")
        kw["font_path"] = str(font.get("path", "") or "")
    eff = keys.get("effectStyle")
    if isinstance(eff, dict):
        kw["effect_id"] = str(eff.get("id", "") or "")
    return CharStyle(**kw)


def resolve_styles(rich: RichText, default_size: float = DEFAULT_SIZE) -> list[CharStyle]:
    """The style of every code point of ``rich.text`` (the override rule of docs/format.md#styles)."""
    text = rich.text
    n16 = utf16_len(text)
    spans = [(max(0, s.start), min(s.end, n16), dict(s.keys)) for s in rich.spans]
    spans = [s for s in spans if s[0] < s[1]]
    cache: dict[tuple, CharStyle] = {}
    out: list[CharStyle] = []
    for u in utf16_offsets(text):
        merged: dict = {}
        covering = tuple(i for i, (a, b, _) in enumerate(spans) if a <= u < b)
        style = cache.get(covering)
        if style is None:
            for i in covering:
                merged.update(spans[i][2])
            style = cache[covering] = (
                _style_from_keys(merged, default_size) if covering else CharStyle(size=default_size)
            )
        out.append(style)
    return out


__all__ = [
    "CharStyle",
    "RichText",
    "Shadow",
    "Stroke",
    "StyleSpan",
    "parse_content",
    "resolve_styles",
    "utf16_len",
    "utf16_offsets",
    "DEFAULT_SIZE",
]
