"""Text as JianYing draws it: rich-text content, fonts, layout, rasterising (docs/text.md).

Pipeline: ``materials.texts[]`` → :class:`TextSpec` → :func:`parse_content` +
:func:`resolve_styles` (per-character styles, UTF-16 ranges) → :func:`layout` (a face per
script, UAX #9 levels, HarfBuzz shaping per run and direction, UAX #14 wrapping, visual
order per line, alignment, vertical text) → :class:`TextLayer` (block size =
the element's base size; raster grid) → ``layer.planes()`` (FreeType glyphs, stroke,
shadow, box → straight-alpha RGBA → YUVA 4:2:0 planes for the compositor).

The timeline turns each text segment into a :class:`~compositor.timeline.VisualClip` of
kind ``"text"`` whose picture is the layer's raster; from there on a caption is placed,
keyframed, animated and blended exactly like a photo. Calibrated constants and best
readings: ``docs/text.md``.
"""

from .content import CharStyle, RichText, Shadow, Stroke, parse_content, resolve_styles, utf16_len
from .engine import TextEngine, TextLayer, TextSpec, default_engine
from .fonts import FontChain, FontIntegrityError, FontSettings, verify_bundled
from .layout import EM_PER_SIZE, Params, TextLayout, em_px, layout_text

__all__ = [
    "CharStyle",
    "RichText",
    "Shadow",
    "Stroke",
    "parse_content",
    "resolve_styles",
    "utf16_len",
    "TextEngine",
    "TextLayer",
    "TextSpec",
    "default_engine",
    "FontChain",
    "FontIntegrityError",
    "FontSettings",
    "verify_bundled",
    "EM_PER_SIZE",
    "Params",
    "TextLayout",
    "em_px",
    "layout_text",
]
