"""Rasterise a :class:`~.layout.TextLayout` into one straight-alpha RGBA layer (pixels).

Drawing order, bottom first (as JianYing draws captions):

1. background box (``check_flag`` bit 16), one rounded rectangle round the block
   (``background_style`` 1) or one per line (style 2);
2. shadows: the fill ∪ stroke coverage of the shadowed characters, blurred, tinted,
   offset — one pass per distinct (shadow, size);
3. strokes of every character (and underline), then
4. fills of every character (and underline) on top, so a stroke never covers a
   neighbouring glyph.

Glyphs come from FreeType outlines (no hinting, 1/4-pixel positioning), synthetic bold
by outline emboldening, synthetic italic by a 12° shear, strokes by ``FT_Stroker``
(outside border, round joins). Coverage bitmaps are cached per (face, glyph, size,
style, sub-pixel phase) in a :class:`GlyphCache`, so a second caption with the same
characters costs only the blending.

The layer's pixel grid: :class:`Geometry` maps block pixels (layout coordinates) to
raster pixels: ``raster = block × scale + origin``.
"""

from __future__ import annotations

import ctypes
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import freetype
import freetype.raw as ftr
import numpy as np

from ..kernels import gaussian_like_blur
from .content import CharStyle, Shadow
from .fonts import FontFace
from .layout import BOLD_STRENGTH, ITALIC_SHEAR, TextLayout

_SUBPIXEL = 4  # glyph positions quantised to 1/4 pixel


# -- effect metrics (best readings, docs/text.md) -------------------------------------------


def stroke_px(style: CharStyle, em: float) -> float:
    """Stroke thickness outside the outline: ``width × em`` (width as stored, 0 … 0.2)."""
    return style.stroke.width * em if style.stroke is not None else 0.0


def shadow_offset(sh: Shadow, em: float) -> tuple[float, float]:
    """Screen offset (right, down) of a shadow: ``distance / 100 × em`` along ``angle``."""
    d = sh.distance / 100.0 * em
    a = math.radians(sh.angle)
    return d * math.cos(a), -d * math.sin(a)


def shadow_sigma(sh: Shadow, em: float) -> float:
    """Gaussian sigma of a shadow: radius ``UI/100 × 0.25 × em`` with ``UI = diffuse × 600``; σ = r/2."""
    ui = sh.diffuse * 600.0
    return max(0.0, ui / 100.0 * 0.25 * em / 2.0)


@dataclass(frozen=True, slots=True)
class Box:
    """Background box (``check_flag`` bit 16)."""

    color: tuple[float, float, float]
    alpha: float
    radius: float  # 0 … 1 of half the shorter side
    rects: tuple[tuple[float, float, float, float], ...]  # block px


@dataclass(frozen=True, slots=True)
class Geometry:
    width: int
    height: int
    scale: float  # raster px per block px
    ox: float  # raster px of block (0, 0)
    oy: float

    def to_raster(self, x: float, y: float) -> tuple[float, float]:
        return x * self.scale + self.ox, y * self.scale + self.oy


def char_shadows(layout: TextLayout, i: int) -> tuple[Shadow, ...]:
    """Shadows of character ``i``: its own, or the text-level one when its style has none."""
    if not layout.shadow_on:
        return ()
    sh = layout.styles[i].shadows
    if sh is None:
        return (layout.text_shadow,) if layout.text_shadow is not None else ()
    return sh


def underline_rect(layout: TextLayout, i: int) -> tuple[float, float, float, float] | None:
    b = layout.boxes[i]
    st = layout.styles[i]
    if b is None or not st.underline or b.face is None:
        return None
    th = max(b.face.underline_size * b.em, 1.0)
    if layout.vertical:  # a line right of the column
        x = b.x + 0.5 * b.em + 0.08 * b.em
        return x, b.y, x + th, b.y + b.advance
    y = b.y - b.face.underline_offset * b.em  # offset is negative: below the baseline
    return b.x, y - th / 2, b.x + b.advance, y + th / 2


def effect_bounds(layout: TextLayout, box: Box | None) -> tuple[float, float, float, float]:
    """Conservative bounds (block px) of everything the layer draws."""
    x0, y0, x1, y1 = layout.ink
    x0, y0 = min(x0, 0.0), min(y0, 0.0)
    x1, y1 = max(x1, layout.width), max(y1, layout.height)
    for i in range(len(layout.boxes)):
        r = underline_rect(layout, i)
        if r is not None:
            x0, y0, x1, y1 = min(x0, r[0]), min(y0, r[1]), max(x1, r[2]), max(y1, r[3])
    st_max = max((stroke_px(s, b.em) for s, b in zip(layout.styles, layout.boxes) if b is not None), default=0.0)
    g = st_max + 1.0
    ex = (x0 - g, y0 - g, x1 + g, y1 + g)
    out = list(ex)
    for i, b in enumerate(layout.boxes):
        if b is None:
            continue
        for sh in char_shadows(layout, i):
            dx, dy = shadow_offset(sh, b.em)
            m = 3.0 * shadow_sigma(sh, b.em) + 1.0
            out[0] = min(out[0], ex[0] + dx - m)
            out[1] = min(out[1], ex[1] + dy - m)
            out[2] = max(out[2], ex[2] + dx + m)
            out[3] = max(out[3], ex[3] + dy + m)
    if box is not None:
        for r in box.rects:
            out = [min(out[0], r[0] - 1), min(out[1], r[1] - 1), max(out[2], r[2] + 1), max(out[3], r[3] + 1)]
    return out[0], out[1], out[2], out[3]


def geometry(layout: TextLayout, box: Box | None, scale: float, phase: tuple[float, float] = (0.0, 0.0)) -> Geometry:
    """Raster grid at ``scale`` whose block centre lands on ``phase`` (mod 2) raster px.

    Choosing the phase equal to the output position of the clip centre (mod 2) makes an
    unrotated, unscaled caption an even whole-pixel translation: no resampling blur, and
    chroma stays aligned.
    """
    x0, y0, x1, y1 = effect_bounds(layout, box)
    pad = 2.0
    cx = (layout.width / 2 - x0) * scale + pad
    cy = (layout.height / 2 - y0) * scale + pad
    sx = (phase[0] - cx) % 2.0
    sy = (phase[1] - cy) % 2.0
    ox = -x0 * scale + pad + sx
    oy = -y0 * scale + pad + sy
    w = int(math.ceil((x1 - x0) * scale + 2 * pad + sx))
    h = int(math.ceil((y1 - y0) * scale + 2 * pad + sy))
    return Geometry(width=max(w, 1), height=max(h, 1), scale=scale, ox=ox, oy=oy)


# -- glyph bitmaps ---------------------------------------------------------------------------


class GlyphCache:
    """Coverage bitmaps (uint8, left, top) per glyph, size, style and sub-pixel phase (LRU)."""

    def __init__(self, max_items: int = 8192):
        self._d: OrderedDict[tuple, tuple[np.ndarray, int, int] | None] = OrderedDict()
        self._max = max_items
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self, face: FontFace, gid: int, size: float, bold: bool, italic: bool, fx: int, fy: int, stroke: float
    ) -> tuple[np.ndarray, int, int] | None:
        key = (face.path, face.index, gid, int(round(size * 64)), bold, italic, fx, fy, int(round(stroke * 64)))
        with self._lock:
            hit = self._d.get(key, False)
            if hit is not False:
                self._d.move_to_end(key)
                self.hits += 1
                return hit
        res = _render_glyph(face, gid, size, bold, italic, fx / _SUBPIXEL, fy / _SUBPIXEL, stroke)
        with self._lock:
            self.misses += 1
            self._d[key] = res
            if len(self._d) > self._max:
                self._d.popitem(last=False)
        return res


def _render_glyph(
    face: FontFace, gid: int, size: float, bold: bool, italic: bool, fx: float, fy: float, stroke: float
) -> tuple[np.ndarray, int, int] | None:
    ft = face.ft
    with face.lock:
        ft.set_char_size(max(1, int(round(size * 64))))
        matrix = freetype.Matrix(0x10000, int(round(ITALIC_SHEAR * 0x10000)) if italic else 0, 0, 0x10000)
        delta = freetype.Vector(int(round(fx * 64)), int(round(-fy * 64)))
        ft.set_transform(matrix, delta)
        flags = freetype.FT_LOAD_NO_HINTING | freetype.FT_LOAD_NO_BITMAP
        try:
            ft.load_glyph(gid, flags)
        except freetype.FT_Exception:
            return None
        slot = ft.glyph
        if slot.format != freetype.FT_GLYPH_FORMAT_OUTLINE:
            return None
        if bold:
            ftr.FT_Outline_Embolden(
                ctypes.byref(slot._FT_GlyphSlot.contents.outline), int(round(BOLD_STRENGTH * size * 64))
            )
        glyph = slot.get_glyph()
        ft.set_transform(freetype.Matrix(0x10000, 0, 0, 0x10000), freetype.Vector(0, 0))
        if stroke > 0:
            stroker = freetype.Stroker()
            stroker.set(
                int(round(stroke * 64)), freetype.FT_STROKER_LINECAP_ROUND, freetype.FT_STROKER_LINEJOIN_ROUND, 0
            )
            err = ftr.FT_Glyph_StrokeBorder(ctypes.byref(glyph._FT_Glyph), stroker._FT_Stroker, 0, 1)
            if err:
                return None
        bm_glyph = glyph.to_bitmap(freetype.FT_RENDER_MODE_NORMAL, 0, True)
        bm = bm_glyph.bitmap
        rows, width, pitch = bm.rows, bm.width, bm.pitch
        if rows == 0 or width == 0:
            return None
        buf = ctypes.string_at(bm._FT_Bitmap.buffer, rows * abs(pitch))
        arr = np.frombuffer(buf, np.uint8).reshape(rows, abs(pitch))[:, :width].copy()
        if pitch < 0:
            arr = arr[::-1].copy()
        return arr, bm_glyph.left, bm_glyph.top


# -- compositing ---------------------------------------------------------------------------


def _over(acc: np.ndarray, cov: np.ndarray, x: int, y: int, rgb, alpha: float) -> None:
    """Premultiplied ``over`` of a coverage bitmap at (x, y) in colour ``rgb`` × ``alpha``."""
    h, w = cov.shape
    H, W = acc.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, W), min(y + h, H)
    if x0 >= x1 or y0 >= y1:
        return
    a = cov[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32) * np.float32(alpha / 255.0)
    dst = acc[y0:y1, x0:x1]
    keep = 1.0 - a
    for ch in range(3):
        dst[..., ch] = dst[..., ch] * keep + a * np.float32(rgb[ch])
    dst[..., 3] = dst[..., 3] * keep + a


def _max_into(mask: np.ndarray, cov: np.ndarray, x: int, y: int) -> None:
    h, w = cov.shape
    H, W = mask.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, W), min(y + h, H)
    if x0 >= x1 or y0 >= y1:
        return
    np.maximum(mask[y0:y1, x0:x1], cov[y0 - y : y1 - y, x0 - x : x1 - x], out=mask[y0:y1, x0:x1])


def _rect_cov(x0: float, y0: float, x1: float, y1: float, radius: float = 0.0):
    """Anti-aliased coverage of a (rounded) rectangle: (uint8 array, left, top)."""
    ix0, iy0 = int(math.floor(x0)), int(math.floor(y0))
    ix1, iy1 = int(math.ceil(x1)), int(math.ceil(y1))
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    xs = np.arange(ix0, ix1, dtype=np.float32) + 0.5
    ys = np.arange(iy0, iy1, dtype=np.float32) + 0.5
    r = min(radius, (x1 - x0) / 2, (y1 - y0) / 2)
    if r <= 0.5:
        cx = np.clip(np.minimum(xs - x0 + 0.5, x1 - xs + 0.5), 0, 1)
        cy = np.clip(np.minimum(ys - y0 + 0.5, y1 - ys + 0.5), 0, 1)
        cov = cy[:, None] * cx[None, :]
    else:
        # signed distance to a rounded rectangle
        hx, hy = (x1 - x0) / 2 - r, (y1 - y0) / 2 - r
        qx = np.abs(xs - (x0 + x1) / 2)[None, :] - hx
        qy = np.abs(ys - (y0 + y1) / 2)[:, None] - hy
        outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r
        cov = np.clip(0.5 - outside, 0, 1)
    return (cov * 255 + 0.5).astype(np.uint8), ix0, iy0


def rasterize(
    layout: TextLayout,
    geo: Geometry,
    glyphs: GlyphCache,
    *,
    box: Box | None = None,
    global_alpha: float = 1.0,
    reveal: int = -1,
    wipe: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """The layer as straight-alpha RGBA uint8 of shape ``(geo.height, geo.width, 4)``.

    ``reveal``: draw only the first ``reveal`` characters (line breaks not counted; −1 = all).
    ``wipe``: visible horizontal window (fractions of the layer width) with feathered edges.
    """
    acc = np.zeros((geo.height, geo.width, 4), np.float32)
    s = geo.scale
    shown = _shown(layout, reveal)
    if box is not None:
        for x0, y0, x1, y1 in box.rects:
            rx0, ry0 = geo.to_raster(x0, y0)
            rx1, ry1 = geo.to_raster(x1, y1)
            rad = box.radius * min(rx1 - rx0, ry1 - ry0) / 2
            rc = _rect_cov(rx0, ry0, rx1, ry1, rad)
            if rc is not None:
                _over(acc, rc[0], rc[1], rc[2], box.color, box.alpha)

    # one entry per drawn piece: (char, fill cov, stroke cov or None)
    pieces: list[tuple[int, tuple | None, tuple | None]] = []
    for g in layout.glyphs:
        if g.char not in shown:
            continue
        st = layout.styles[g.char]
        gx, gy = geo.to_raster(g.x, g.y)
        ix, iy = math.floor(gx), math.floor(gy)
        fx = int(round((gx - ix) * _SUBPIXEL))
        fy = int(round((gy - iy) * _SUBPIXEL))
        if fx == _SUBPIXEL:
            ix, fx = ix + 1, 0
        if fy == _SUBPIXEL:
            iy, fy = iy + 1, 0
        size = g.em * s
        fill = glyphs.get(g.face, g.gid, size, g.embolden, st.italic, fx, fy, 0.0)
        sw = stroke_px(st, g.em) * s
        strk = glyphs.get(g.face, g.gid, size, g.embolden, st.italic, fx, fy, sw) if sw > 0.05 else None
        fpiece = (fill[0], ix + fill[1], iy - fill[2]) if fill else None
        spiece = (strk[0], ix + strk[1], iy - strk[2]) if strk else None
        pieces.append((g.char, fpiece, spiece))
    for i in sorted(shown):
        r = underline_rect(layout, i)
        if r is None:
            continue
        rx0, ry0 = geo.to_raster(r[0], r[1])
        rx1, ry1 = geo.to_raster(r[2], r[3])
        fill = _rect_cov(rx0, ry0, rx1, ry1)
        sw = stroke_px(layout.styles[i], layout.boxes[i].em) * s
        strk = _rect_cov(rx0 - sw, ry0 - sw, rx1 + sw, ry1 + sw, sw) if sw > 0.05 else None
        pieces.append((i, fill, strk))

    # shadows
    groups: dict[tuple, list[int]] = {}
    for idx, (ci, _, _) in enumerate(pieces):
        for sh in char_shadows(layout, ci):
            groups.setdefault((sh, layout.boxes[ci].em), []).append(idx)
    for (sh, em), members in groups.items():
        mask = np.zeros((geo.height, geo.width), np.uint8)
        for idx in members:
            _, fp, sp = pieces[idx]
            for p in (sp, fp):
                if p is not None:
                    _max_into(mask, *p)
        sigma = shadow_sigma(sh, em) * s
        if sigma >= 0.3:
            tmp = np.empty_like(mask)
            gaussian_like_blur(mask, mask, sigma, tmp)
        dx, dy = shadow_offset(sh, em)
        _over(acc, mask, int(round(dx * s)), int(round(dy * s)), sh.color, sh.alpha)

    for ci, _, sp in pieces:
        st = layout.styles[ci]
        if sp is not None:
            _over(acc, sp[0], sp[1], sp[2], st.stroke.color, st.stroke.alpha)
    for ci, fp, _ in pieces:
        st = layout.styles[ci]
        if fp is not None:
            _over(acc, fp[0], fp[1], fp[2], st.color, st.alpha)

    if global_alpha < 1.0:
        acc *= np.float32(max(global_alpha, 0.0))
    if wipe != (0.0, 1.0):
        acc *= _wipe_ramp(geo.width, wipe)[None, :, None]
    return _to_straight(acc)


def _shown(layout: TextLayout, reveal: int) -> set[int]:
    idx = [i for i, b in enumerate(layout.boxes) if b is not None]
    if reveal < 0 or reveal >= len(idx):
        return set(idx)
    return set(idx[:reveal])


WIPE_FEATHER = 0.15  # feather width as a fraction of the layer width


def _wipe_ramp(width: int, window: tuple[float, float]) -> np.ndarray:
    lo, hi = window
    f = max(WIPE_FEATHER * width, 1.0)
    x = np.arange(width, dtype=np.float32) + 0.5
    right = np.clip((hi * (width + f) - x) / f, 0.0, 1.0)
    left = np.clip((x - (lo * (width + f) - f)) / f, 0.0, 1.0)
    return (right * left).astype(np.float32)


def _to_straight(acc: np.ndarray) -> np.ndarray:
    a = acc[..., 3]
    out = np.zeros(acc.shape, np.uint8)
    nz = a > (0.5 / 255.0)
    inv = np.zeros_like(a)
    inv[nz] = 1.0 / a[nz]
    for ch in range(3):
        out[..., ch] = np.clip(acc[..., ch] * inv * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


__all__ = [
    "Box",
    "Geometry",
    "GlyphCache",
    "rasterize",
    "geometry",
    "effect_bounds",
    "stroke_px",
    "shadow_offset",
    "shadow_sigma",
    "char_shadows",
    "underline_rect",
    "WIPE_FEATHER",
]
