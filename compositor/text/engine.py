"""The text engine: material → laid-out block → raster layer, with its caches.

``TextEngine.layer(spec, canvas_w, canvas_h, scale, phase)`` returns a :class:`TextLayer`:
the block size (the element's base size), the raster grid, and the notes (warnings) the
timeline reports. Rasterising happens later and only once per (layer, reveal, wipe):
``layer.rgba()`` / ``layer.planes()`` — the picture pool keeps the YUVA planes of a
static caption for as long as its clip is on screen.

One engine per process (:func:`default_engine`, created on first use from the
environment: ``DRAFT_RENDER_FONT``, ``DRAFT_RENDER_FONT_TABLE``, ``DRAFT_RENDER_CJK_REGION``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import msgspec
import numpy as np

from ..draft import TextMaterial
from ..kernels import rgba_to_yuva420
from ..media.planes import Planes
from .content import CharStyle, Shadow, Stroke, parse_content, resolve_styles
from .fonts import FontChain, FontSettings
from .layout import Note, Params, ShapeCache, TextLayout, em_px, layout_text
from .raster import Box, Geometry, GlyphCache, geometry, rasterize

# check_flag bits (docs/format.md#text-material)
FLAG_STROKE = 8
FLAG_BACKGROUND = 16
FLAG_SHADOW = 32

# Largest text raster (pixels); bigger layers are rasterised smaller and enlarged when drawn.
MAX_RASTER_PIXELS = 8_000_000

# 花字 (effectStyle) approximation: keep the fill, add a thick contrasting stroke and a soft shadow.
EFFECT_STROKE_WIDTH = 0.12
EFFECT_SHADOW = Shadow(color=(0.0, 0.0, 0.0), alpha=0.6, diffuse=0.05, distance=6.0, angle=-45.0)


class TextSpec(TextMaterial, frozen=True):
    """A text material plus its attachments: everything that decides its pixels."""

    bubble: str = ""  # resource id of a text_shape (bubble) attachment
    effect: str = ""  # resource id of a text_effect (花字) attachment

    @classmethod
    def of(cls, material: TextMaterial, bubble: str = "", effect: str = "") -> "TextSpec":
        return cls(**msgspec.structs.asdict(material), bubble=bubble, effect=effect)

    def key(self) -> str:
        """Identifies the pixels: every field but the material id."""
        raw = msgspec.json.encode(msgspec.structs.replace(self, id=""))
        return hashlib.sha1(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True, eq=False)
class TextLayer:
    """One text element at one raster scale: what the compositor places and draws."""

    key: str  # identifies the pixels (spec, canvas, scale, phase)
    layout: TextLayout
    box: Box | None
    geo: Geometry
    global_alpha: float
    engine: "TextEngine"
    notes: tuple[Note, ...] = field(default=())

    @property
    def width(self) -> int:
        return self.geo.width

    @property
    def height(self) -> int:
        return self.geo.height

    @property
    def block_size(self) -> tuple[float, float]:
        return self.layout.width, self.layout.height

    @property
    def centre(self) -> tuple[float, float]:
        """Raster pixel of the block centre."""
        return self.geo.to_raster(self.layout.width / 2, self.layout.height / 2)

    @property
    def chars(self) -> int:
        """Characters a typewriter reveals."""
        return self.layout.revealable()

    def rgba(self, reveal: int = -1, wipe: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
        return rasterize(
            self.layout,
            self.geo,
            self.engine.glyphs,
            box=self.box,
            global_alpha=self.global_alpha,
            reveal=reveal,
            wipe=wipe,
        )

    def planes(self, reveal: int = -1, wipe: tuple[float, float] = (0.0, 1.0)) -> Planes:
        y, u, v, a, a_half = rgba_to_yuva420(self.rgba(reveal, wipe))
        return Planes(y, u, v, a, a_half)


def _hex_rgb(s: str) -> tuple[float, float, float] | None:
    h = (s or "").lstrip("#")
    if len(h) not in (6, 8):
        return None
    try:
        return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]
    except ValueError:
        return None


def _luma(rgb) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


class TextEngine:
    """Fonts, shaping/glyph/layout caches, and the material → layer pipeline."""

    def __init__(self, settings: FontSettings | None = None):
        self.settings = settings or FontSettings()
        self.chain = FontChain(self.settings)
        self.shapes = ShapeCache()
        self.glyphs = GlyphCache()
        self._layouts: OrderedDict[tuple, tuple[TextLayout, Box | None, tuple[Note, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    # -- layout ------------------------------------------------------------------------------

    def styles(self, spec: TextSpec) -> tuple[str, list[CharStyle], list[Note]]:
        rich = parse_content(spec.content)
        notes = [Note("approximated", p) for p in rich.problems]
        default_size = spec.font_size if spec.font_size and spec.font_size > 0 else 15.0
        styles = resolve_styles(rich, default_size)
        effect_id = next((s.effect_id for s in styles if s.effect_id), "") or spec.effect
        if effect_id:
            styles = [_flower(s) for s in styles]
            notes.append(
                Note(
                    "approximated",
                    "花字 (text effect) drawn as the fill with a contrasting stroke and a soft shadow",
                    name="花字",
                    resource_id=effect_id,
                )
            )
        return rich.text, styles, notes

    def layout(self, spec: TextSpec, canvas_w: int, canvas_h: int) -> tuple[TextLayout, Box | None, tuple[Note, ...]]:
        key = (spec, canvas_w, canvas_h)
        with self._lock:
            hit = self._layouts.get(key)
            if hit is not None:
                self._layouts.move_to_end(key)
                return hit
        text, styles, notes = self.styles(spec)
        params = Params(
            wrap=spec.type == "subtitle" or spec.force_apply_line_max_width,
            max_width=spec.line_max_width if spec.line_max_width > 0 else 0.82,
            alignment=spec.alignment if spec.alignment in (0, 1, 2) else 0,
            vertical=spec.typesetting == 1,
            letter_spacing=spec.letter_spacing,
            line_spacing=spec.line_spacing,
        )
        shadow_flag = bool(spec.check_flag & FLAG_SHADOW)
        with self._lock:
            lay = layout_text(
                text, styles, params, canvas_w, canvas_h, self.chain, self.shapes, shadow_flag=shadow_flag
            )
        notes = list(notes) + list(lay.notes)
        box = self._box(spec, lay, canvas_w, canvas_h, notes)
        res = (lay, box, tuple(notes))
        with self._lock:
            self._layouts[key] = res
            if len(self._layouts) > 512:
                self._layouts.popitem(last=False)
        return res

    def _box(self, spec: TextSpec, lay: TextLayout, cw: int, ch: int, notes: list[Note]) -> Box | None:
        colour = alpha = None
        if spec.check_flag & FLAG_BACKGROUND:
            colour = _hex_rgb(spec.background_color)
            alpha = spec.background_alpha
            if colour is None:
                notes.append(Note("approximated", f"background colour {spec.background_color!r} unreadable; black"))
                colour = (0.0, 0.0, 0.0)
            radius = spec.background_round_radius
            pad_x, pad_y = spec.background_width, spec.background_height
        elif spec.bubble:
            fill = next((s.color for s in lay.styles), (1.0, 1.0, 1.0))
            colour, alpha = ((0.0, 0.0, 0.0), 0.6) if _luma(fill) > 0.5 else ((1.0, 1.0, 1.0), 0.85)
            radius, pad_x, pad_y = 1.0, 0.4, 0.3
            notes.append(
                Note(
                    "approximated",
                    "text bubble drawn as a rounded box behind the text",
                    name="气泡",
                    resource_id=spec.bubble,
                )
            )
        else:
            return None
        if not lay.lines or lay.width <= 0:
            return None
        em = max((b.em for b in lay.boxes if b is not None), default=em_px(15, cw, ch))
        px, py = max(pad_x, 0.0) * em, max(pad_y, 0.0) * em
        dx = spec.background_horizontal_offset * em
        dy = -spec.background_vertical_offset * em  # up positive, like the canvas
        if spec.background_style == 2 and not lay.vertical and spec.check_flag & FLAG_BACKGROUND:
            rects = tuple(
                (x0 - px + dx, y0 - py + dy, x1 + px + dx, y1 + py + dy) for (x0, y0, x1, y1) in lay.lines if x1 > x0
            )
        else:
            rects = ((-px + dx, -py + dy, lay.width + px + dx, lay.height + py + dy),)
        return Box(color=colour, alpha=min(max(alpha, 0.0), 1.0), radius=min(max(radius, 0.0), 1.0), rects=rects)

    # -- layers -----------------------------------------------------------------------------

    def layer(
        self, spec: TextSpec, canvas_w: int, canvas_h: int, scale: float = 1.0, phase: tuple[float, float] = (0.0, 0.0)
    ) -> TextLayer:
        """The layer of ``spec`` rasterised at ``scale`` raster px per canvas px.

        A layer larger than :data:`MAX_RASTER_PIXELS` is rasterised at a smaller scale (the
        compositor then enlarges it) so that one huge title cannot exhaust memory.
        """
        lay, box, notes = self.layout(spec, canvas_w, canvas_h)
        geo = geometry(lay, box, scale, phase)
        if geo.width * geo.height > MAX_RASTER_PIXELS:
            scale *= (MAX_RASTER_PIXELS / (geo.width * geo.height)) ** 0.5 * 0.98
            geo = geometry(lay, box, scale, phase)
        key = f"text:{spec.key()}:{canvas_w}x{canvas_h}@{scale:.6g}+{phase[0]:.3f},{phase[1]:.3f}"
        return TextLayer(
            key=key,
            layout=lay,
            box=box,
            geo=geo,
            global_alpha=min(max(spec.global_alpha, 0.0), 1.0),
            engine=self,
            notes=notes,
        )


def _flower(s: CharStyle) -> CharStyle:
    """花字 stand-in for one character style."""
    stroke = s.stroke
    if stroke is None:
        contrast = (0.0, 0.0, 0.0) if _luma(s.color) > 0.5 else (1.0, 1.0, 1.0)
        stroke = Stroke(color=contrast, alpha=1.0, width=EFFECT_STROKE_WIDTH)
    shadows = s.shadows if s.shadows else (EFFECT_SHADOW,)
    return replace(s, stroke=stroke, shadows=shadows)


def default_engine() -> TextEngine:
    """A new engine with the environment's font settings (fonts are verified now).

    Engines hold font and glyph caches: long-lived callers (server workers) make one and
    pass it to every render instead of calling this per draft."""
    return TextEngine(FontSettings.from_env())


__all__ = ["TextEngine", "TextLayer", "TextSpec", "default_engine", "FLAG_BACKGROUND", "FLAG_SHADOW", "FLAG_STROKE"]
