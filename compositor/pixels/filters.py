"""Filters and scene effects, pixels: one function per family of :mod:`compositor.effects.filters`.

Colour families are an affine RGB colour matrix applied exactly on the YUV planes
(:func:`compositor.kernels.adjust.colour_matrix`), one pass, no RGB round trip; the others
blur, cover or move pixels, scaled by the spec's strength (see the pure module's doc).
"""

from __future__ import annotations

import math

import numpy as np

from ..effects.filters import AdjustSpec

# match and strength_and_speed: re-exported for callers that use both halves of the family
from ..kernels import downsample2x, fill, fill_blend, gaussian_like_blur
from ..kernels.adjust import add_grain, colour_matrix, highlights, rgb_split, screen_upsampled, sharpen_luma
from ..kernels.dirblur import directional_blur
from ..kernels.resample import EDGE_CLAMP, pixelate_mix, warp_mix
from ..media.planes import Planes
from .scratch import Scratch
from .yuv import BLACK_YUV, KB, KG, KR, WHITE_YUV

# -- colour matrices ------------------------------------------------------------------------

# (Y − 16, Cb, Cr) → RGB 0..255 and back (BT.709 limited range)
_RGB_FROM_YUV = np.array(
    [
        [255 / 219, 0.0, 2 * (1 - KR) * 255 / 224],
        [255 / 219, -2 * (1 - KB) * KB / KG * 255 / 224, -2 * (1 - KR) * KR / KG * 255 / 224],
        [255 / 219, 2 * (1 - KB) * 255 / 224, 0.0],
    ]
)
_YUV_FROM_RGB = np.linalg.inv(_RGB_FROM_YUV)
_LUMA = np.array([KR, KG, KB])


def rgb_op(a=None, b=None) -> np.ndarray:
    """Homogeneous 4×4 RGB affine ``rgb' = a·rgb + b``."""
    m = np.eye(4)
    if a is not None:
        m[:3, :3] = a
    if b is not None:
        m[:3, 3] = b
    return m


def saturation(s: float) -> np.ndarray:
    return rgb_op(s * np.eye(3) + (1 - s) * np.tile(_LUMA, (3, 1)))


def contrast(c: float, pivot: float = 128.0) -> np.ndarray:
    return rgb_op(c * np.eye(3), np.full(3, pivot * (1 - c)))


def gains(r: float, g: float, b: float, offset=(0.0, 0.0, 0.0)) -> np.ndarray:
    return rgb_op(np.diag([r, g, b]), np.asarray(offset, float))


def towards(colour, w: float) -> np.ndarray:
    """rgb + w·(colour − rgb)."""
    return rgb_op((1 - w) * np.eye(3), w * np.asarray(colour, float))


def lift(black: float) -> np.ndarray:
    return rgb_op(np.eye(3) * (255 - black) / 255, np.full(3, black))


def chain(*ops: np.ndarray) -> np.ndarray:
    """The op applying ``ops[0]`` first."""
    m = np.eye(4)
    for op in ops:
        m = op @ m
    return m


def yuv_matrix(rgb: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """(3, 4) matrix for :func:`colour_matrix` of ``mix(x, rgb(x), strength)``."""
    m = np.eye(4) + strength * (rgb - np.eye(4))
    lin = _YUV_FROM_RGB @ m[:3, :3] @ _RGB_FROM_YUV
    off = _YUV_FROM_RGB @ m[:3, 3] + np.array([16.0, 0, 0]) - lin @ np.array([16.0, 0, 0])
    return np.hstack([lin, off[:, None]])


_COLOUR = {
    "desaturate": saturation(0.0),
    "saturate": saturation(1.3),
    "cool": chain(gains(0.92, 0.98, 1.08, (0, 2, 10)), saturation(0.9)),
    "warm": chain(gains(1.08, 1.0, 0.9, (8, 3, 0)), saturation(1.05)),
    "vintage": chain(contrast(0.85), saturation(0.65), gains(1.06, 1.0, 0.88, (6, 2, 0)), lift(22)),
    "fade": chain(contrast(0.8), saturation(0.7)),
    "exposure": gains(1.4, 1.4, 1.4),
}


# -- pixels ---------------------------------------------------------------------------------


def apply(spec: AdjustSpec, pic: Planes, local_us: int, duration_us: int, scratch: Scratch) -> None:
    """Apply ``spec`` in place to the picture ``pic`` at ``local_us`` into its time range."""
    s = spec.strength
    if s <= 0.0:
        return
    fn = _IMPLS.get(spec.impl)
    if fn is None:
        raise ValueError(f"no implementation for {spec.kind} family {spec.impl!r}")
    p = min(max(local_us / duration_us, 0.0), 1.0) if duration_us > 0 else 0.0
    fn(spec, pic, s, p, local_us, duration_us, scratch)


def _matrix(key):
    def impl(spec, pic, s, p, local, dur, scratch):
        colour_matrix(pic.y, pic.u, pic.v, yuv_matrix(_COLOUR[key], s))

    return impl


def _saturation_ramp(spec, pic, s, p, local, dur, scratch):
    colour_matrix(pic.y, pic.u, pic.v, yuv_matrix(saturation(p), s))


def blur_plane(src, dst, sigma: float, scratch: Scratch) -> None:
    """Gaussian-like blur of one plane; from σ = 3 px on it runs at half resolution
    (2×2 mean, blur with σ/2, bilinear upsampling): 3–4× cheaper, visually the same."""
    if sigma < 3.0:
        gaussian_like_blur(src, dst, sigma, scratch.plane_like("blur_tmp", src))
        return
    h, w = src.shape
    hh, hw = (h + 1) // 2, (w + 1) // 2
    small = scratch.plane("blur_half", hw, hh)
    downsample2x(src, small)
    gaussian_like_blur(
        small, small, math.sqrt(max(sigma * sigma - 1.0, 1.0)) / 2.0, scratch.plane("blur_half_tmp", hw, hh)
    )
    # small pixel k covers big pixels 2k, 2k + 1: big coordinate / 2 = small coordinate
    warp_mix(dst, small, ((0.5, 0.0, 0.0), (0.0, 0.5, 0.0)), None, None, 0.0, edge=EDGE_CLAMP)


def _gauss(pic, sigma, scratch):
    for plane, chroma in ((pic.y, False), (pic.u, True), (pic.v, True)):
        sg = sigma / 2.0 if chroma else sigma
        if sg < 0.3:
            continue
        blur_plane(plane, plane, sg, scratch)


def _blur_const(frac):
    def impl(spec, pic, s, p, local, dur, scratch):
        _gauss(pic, s * frac * pic.width, scratch)

    return impl


def _blur_in(spec, pic, s, p, local, dur, scratch):
    _gauss(pic, s * 0.02 * pic.width * (1.0 - p) ** 2, scratch)


def _dir_blur(axis):
    def impl(spec, pic, s, p, local, dur, scratch):
        r = s * 0.02 * (pic.width if axis == 1 else pic.height)
        for plane, chroma in ((pic.y, False), (pic.u, True), (pic.v, True)):
            rr = int(round(r / (2.0 if chroma else 1.0)))
            if rr > 0:
                directional_blur(plane, plane, rr, axis, scratch.plane_like("fx_tmp", plane), passes=2)

    return impl


def _fill_box(pic, box, colour, alpha):
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0 = max(x0 & ~1, 0), max(y0 & ~1, 0)
    x1, y1 = min(x1 + (x1 & 1), pic.width), min(y1 + (y1 & 1), pic.height)
    if x0 >= x1 or y0 >= y1:
        return
    for plane, value, k in ((pic.y, colour[0], 1), (pic.u, colour[1], 2), (pic.v, colour[2], 2)):
        b = (x0 // k, y0 // k, (x1 + k - 1) // k, (y1 + k - 1) // k)
        if alpha >= 1.0:
            fill(plane, value, b)
        else:
            fill_blend(plane, value, alpha, b)


def _bars(opening: bool):
    def impl(spec, pic, s, p, local, dur, scratch):
        W, H = pic.width, pic.height
        span = min(1_000_000 / spec.speed, dur) if dur > 0 else 1_000_000
        if opening:
            q = min(max(local / span, 0.0), 1.0) if span > 0 else 1.0
            closed = 1.0 - q * q * (3 - 2 * q)
        else:
            q = min(max((local - (dur - span)) / span, 0.0), 1.0) if span > 0 else 1.0
            closed = q * q * (3 - 2 * q)
        h = closed * H / 2.0
        if h < 1.0:
            return
        a = min(s, 1.0)
        _fill_box(pic, (0, 0, W, h), BLACK_YUV, a)
        _fill_box(pic, (0, H - h, W, H), BLACK_YUV, a)

    return impl


def _border(spec, pic, s, p, local, dur, scratch):
    W, H = pic.width, pic.height
    t = 0.05 * min(W, H)
    a = min(s, 1.0)
    for box in ((0, 0, W, t), (0, H - t, W, H), (0, t, t, H - t), (W - t, t, W, H - t)):
        _fill_box(pic, box, BLACK_YUV, a)


_RED = (63, 102, 240)  # rgb_to_yuv709(255, 0, 0); a constant so importing compiles nothing


def _border_rec(spec, pic, s, p, local, dur, scratch):
    W, H = pic.width, pic.height
    m = min(W, H)
    inset, length, th = 0.06 * m, 0.1 * m, max(2.0, 0.008 * m)
    a = min(s, 1.0)
    for cx, sx in ((inset, 1), (W - inset, -1)):
        for cy, sy in ((inset, 1), (H - inset, -1)):
            xs = sorted((cx, cx + sx * length))
            ys = sorted((cy, cy + sy * th))
            _fill_box(pic, (xs[0], ys[0], xs[1], ys[1]), WHITE_YUV, a)
            xs = sorted((cx, cx + sx * th))
            ys = sorted((cy, cy + sy * length))
            _fill_box(pic, (xs[0], ys[0], xs[1], ys[1]), WHITE_YUV, a)
    if (local * spec.speed // 500_000) % 2 == 0:  # blinks twice a second
        r = 0.018 * m
        x, y = inset + 0.05 * m, inset + 0.05 * m
        _fill_box(pic, (x - r, y - r, x + r, y + r), _RED, a)


def _frame_seed(spec, local, period_us=33_333):
    """Noise seed: a new grain pattern every ``period_us`` of the effect."""
    return (spec.seed * 31 + int(local // period_us)) & 0x7FFFFFFF


def _grain(spec, pic, s, p, local, dur, scratch):
    add_grain(pic.y, 14.0 * s, _frame_seed(spec, local))


def _pixelate(spec, pic, s, p, local, dur, scratch):
    block = max(2, int(round(s * 0.025 * pic.width)))
    block += block & 1
    for plane, chroma in ((pic.y, False), (pic.u, True), (pic.v, True)):
        n = block // 2 if chroma else block
        pixelate_mix(plane, plane, None, 0.0, n)


def _bloom(spec, pic, s, p, local, dur, scratch):
    y = pic.y
    h2, w2 = (y.shape[0] + 1) // 2, (y.shape[1] + 1) // 2
    h4, w4 = (h2 + 1) // 2, (w2 + 1) // 2
    half = scratch.plane("fx_bloom_2", w2, h2)
    small = scratch.plane("fx_bloom_4", w4, h4)
    downsample2x(y, half)
    downsample2x(half, small)
    highlights(small, 170)
    gaussian_like_blur(small, small, 0.012 * pic.width / 4.0 + 1.0, scratch.plane("fx_bloom_t", w4, h4))
    screen_upsampled(y, small, 0.9 * s)


def _flash(spec, pic, s, p, local, dur, scratch):
    period = 1_000_000 / spec.speed
    phase = (local % period) / period
    w = min(s, 1.0) * 0.9 * (1.0 - phase) ** 2
    if w > 0.002:
        colour_matrix(pic.y, pic.u, pic.v, yuv_matrix(towards((255, 255, 255), w)))


def _rgb_split(spec, pic, s, p, local, dur, scratch):
    shift = max(1, int(round(s * 0.006 * pic.width)))
    src = scratch.copy_of("fx_copy", pic)
    rgb_split(pic.y, pic.u, pic.v, src.y, src.u, src.v, shift)


def _shake(spec, pic, s, p, local, dur, scratch):
    W, H = pic.width, pic.height
    amp = 0.02 * min(W, H) * s
    if amp < 0.5:
        return
    step = int(local * spec.speed * 12 // 1_000_000)
    rng = np.random.default_rng((spec.seed, step))
    dx, dy = rng.uniform(-amp, amp, 2)
    zoom = 1.0 + 2.0 * amp / min(W, H)
    src = scratch.copy_of("fx_copy", pic)
    for plane, sp, k in ((pic.y, src.y, 1.0), (pic.u, src.u, 2.0), (pic.v, src.v, 2.0)):
        cx, cy = W / 2.0 / k, H / 2.0 / k
        # forward: d = c + zoom·(u − c) + (dx, dy)/k; inverse below
        inv = ((1 / zoom, 0.0, cx - (cx + dx / k) / zoom), (0.0, 1 / zoom, cy - (cy + dy / k) / zoom))
        warp_mix(plane, sp, inv, None, None, 0.0, edge=EDGE_CLAMP)


def _vintage(spec, pic, s, p, local, dur, scratch):
    colour_matrix(pic.y, pic.u, pic.v, yuv_matrix(_COLOUR["vintage"], s))
    # light grain, renewed every ~0.13 s: fresh noise every frame would make the encoder
    # spend several times longer on a colour filter that covers a whole video
    add_grain(pic.y, 4.0 * s, _frame_seed(spec, local, 133_333))


def _sharpen(spec, pic, s, p, local, dur, scratch):
    src = scratch.plane_like("fx_luma", pic.y)
    src[...] = pic.y
    sharpen_luma(pic.y, src, 0.8 * s)
    colour_matrix(pic.y, pic.u, pic.v, yuv_matrix(gains(1.05, 1.05, 1.05), s))


_IMPLS = {
    "desaturate": _matrix("desaturate"),
    "saturation_ramp": _saturation_ramp,
    "blur_in": _blur_in,
    "blur_const": _blur_const(0.015),
    "blur": _blur_const(0.012),
    "motion_blur_h": _dir_blur(1),
    "motion_blur_v": _dir_blur(0),
    "bars_open": _bars(True),
    "bars_close": _bars(False),
    "border": _border,
    "border_rec": _border_rec,
    "grain": _grain,
    "pixelate": _pixelate,
    "bloom": _bloom,
    "flash": _flash,
    "exposure": _matrix("exposure"),
    "rgb_split": _rgb_split,
    "shake": _shake,
    "cool": _matrix("cool"),
    "warm": _matrix("warm"),
    "vintage": _vintage,
    "saturate": _matrix("saturate"),
    "fade": _matrix("fade"),
    "sharpen": _sharpen,
}

# Families that move or cover pixels rather than recolour them (never make a layer opaque).
