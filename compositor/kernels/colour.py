"""BT.709 limited-range RGB(A) ↔ YUV 4:2:0 conversion (pure, no I/O).

Layers that arrive as RGBA (PNG stills, rendered text) are converted once into the
canvas model: Y, U, V planes plus a full-resolution alpha and a half-resolution
alpha for the chroma planes; opaque RGB (JPEG photos) can skip the alpha planes
(:func:`rgb_to_yuv420_into`, same bytes as the RGBA path with alpha 255).  With E = 0.2126·R + 0.7152·G + 0.0722·B (0..255)::

    Y  = 16  + 219/255 · E
    Cb = 128 + 224/255 · (B − E) / 1.8556
    Cr = 128 + 224/255 · (R − E) / 1.5748

each rounded half up.  Chroma of a 2×2 block (fewer pixels on odd edges) comes from the
alpha-weighted mean of its RGB, so transparent pixels do not bleed their colour into
visible neighbours; an all-transparent block uses the plain mean.  ``a_half`` is the
plain mean of the block's alpha.
"""

from __future__ import annotations

import numpy as np

from ..pixels.yuv import KB, KG, KR  # the BT.709 luma weights, defined once
from ._jit import check_plane, check_u8, jit

__all__ = ["rgba_to_yuva420", "rgba_to_yuva420_into", "rgb_to_yuv420_into", "rgb_to_yuv709", "yuv420_to_rgb"]

_Y_SCALE = 219.0 / 255.0
_C_SCALE = 224.0 / 255.0
_CB_SCALE = _C_SCALE / (2.0 * (1.0 - KB))  # / 1.8556
_CR_SCALE = _C_SCALE / (2.0 * (1.0 - KR))  # / 1.5748
# inverse
_Y_INV = 255.0 / 219.0
_C_INV = 255.0 / 224.0
_R_CR = 2.0 * (1.0 - KR)
_B_CB = 2.0 * (1.0 - KB)
_G_CR = KR * _R_CR / KG
_G_CB = KB * _B_CB / KG


@jit
def _round_u8(x):
    """Round half up and clamp to 0..255."""
    if x <= 0.0:
        return 0
    if x >= 254.5:
        return 255
    return int(x + 0.5)


@jit
def _yuv709(r, g, b):
    """Unrounded (Y, Cb, Cr) of an RGB colour with components in 0..255."""
    e = KR * r + KG * g + KB * b
    return 16.0 + _Y_SCALE * e, 128.0 + _CB_SCALE * (b - e), 128.0 + _CR_SCALE * (r - e)


def rgb_to_yuv709(r, g, b) -> tuple[int, int, int]:
    """(Y, U, V) bytes of one RGB colour (each 0..255), e.g. for a fill or background."""
    y, u, v = _yuv709(float(check_u8("r", r)), float(check_u8("g", g)), float(check_u8("b", b)))
    return _round_u8(y), _round_u8(u), _round_u8(v)


def _check_rgba(rgba) -> np.ndarray:
    if not isinstance(rgba, np.ndarray) or rgba.dtype != np.uint8:
        raise ValueError(f"rgba must be a uint8 numpy array, got {getattr(rgba, 'dtype', type(rgba).__name__)}")
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4):
        raise ValueError(f"rgba must have shape (h, w, 4) or (h, w, 3), got {rgba.shape}")
    return rgba


def _half(shape) -> tuple[int, int]:
    return (shape[0] + 1) // 2, (shape[1] + 1) // 2


def rgba_to_yuva420(rgba) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Convert straight-alpha RGBA (or opaque RGB) to new ``(y, u, v, a, a_half)`` planes.

    y and a are (h, w); u, v and a_half are (ceil(h/2), ceil(w/2)); all uint8.
    """
    _check_rgba(rgba)
    full = rgba.shape[:2]
    half = _half(full)
    y, a = np.empty(full, np.uint8), np.empty(full, np.uint8)
    u, v, a_half = (np.empty(half, np.uint8) for _ in range(3))
    rgba_to_yuva420_into(rgba, y, u, v, a, a_half)
    return y, u, v, a, a_half


def rgba_to_yuva420_into(rgba, y, u, v, a, a_half) -> None:
    """Like :func:`rgba_to_yuva420` but writes into given planes of the right shapes."""
    _check_rgba(rgba)
    full = rgba.shape[:2]
    half = _half(full)
    planes = (("y", y, full), ("u", u, half), ("v", v, half), ("a", a, full), ("a_half", a_half, half))
    for name, plane, shape in planes:
        check_plane(name, plane, writable=True)
        if plane.shape != shape:
            raise ValueError(f"{name} must have shape {shape} for rgba of shape {rgba.shape}, got {plane.shape}")
    _rgba_to_yuva420(rgba, rgba.shape[2] == 4, y, u, v, a, a_half)


@jit
def _rgba_to_yuva420(rgba, has_alpha, yp, up, vp, ap, ahp):
    h, w = yp.shape
    ch, cw = up.shape
    for cy in range(ch):
        yy0 = 2 * cy
        yy1 = min(yy0 + 2, h)
        for cx in range(cw):
            xx0 = 2 * cx
            xx1 = min(xx0 + 2, w)
            n = 0
            asum = 0
            rs = 0.0  # plain sums
            gs = 0.0
            bs = 0.0
            rws = 0.0  # alpha-weighted sums
            gws = 0.0
            bws = 0.0
            for yy in range(yy0, yy1):
                for xx in range(xx0, xx1):
                    r = float(rgba[yy, xx, 0])
                    g = float(rgba[yy, xx, 1])
                    b = float(rgba[yy, xx, 2])
                    al = int(rgba[yy, xx, 3]) if has_alpha else 255
                    yp[yy, xx] = _round_u8(16.0 + _Y_SCALE * (KR * r + KG * g + KB * b))
                    ap[yy, xx] = al
                    n += 1
                    asum += al
                    rs += r
                    gs += g
                    bs += b
                    rws += al * r
                    gws += al * g
                    bws += al * b
            if asum > 0:
                inv = 1.0 / asum
                rm, gm, bm = rws * inv, gws * inv, bws * inv
            else:
                inv = 1.0 / n
                rm, gm, bm = rs * inv, gs * inv, bs * inv
            _, cb, cr = _yuv709(rm, gm, bm)
            up[cy, cx] = _round_u8(cb)
            vp[cy, cx] = _round_u8(cr)
            ahp[cy, cx] = (asum + n // 2) // n


def rgb_to_yuv420_into(rgb, y, u, v) -> None:
    """Opaque (h, w, 3) RGB into given Y (h, w) and U, V (ceil(h/2), ceil(w/2)) planes.

    The bytes are those :func:`rgba_to_yuva420` gives for the same RGB (the same
    arithmetic, alpha fixed at 255), without the alpha planes.  Planes may be row views
    of larger planes: a tall picture can be converted in bands of an even number of rows.
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(
            f"rgb must be a (h, w, 3) uint8 numpy array, got {getattr(rgb, 'dtype', type(rgb).__name__)} "
            f"of shape {getattr(rgb, 'shape', None)}"
        )
    full = rgb.shape[:2]
    half = _half(full)
    for name, plane, shape in (("y", y, full), ("u", u, half), ("v", v, half)):
        check_plane(name, plane, writable=True)
        if plane.shape != shape:
            raise ValueError(f"{name} must have shape {shape} for rgb of shape {rgb.shape}, got {plane.shape}")
    _rgb_to_yuv420(rgb, y, u, v)


@jit
def _rgb_to_yuv420(rgb, yp, up, vp):
    # _rgba_to_yuva420 with al = 255: keep the expressions (and their order) identical,
    # so the chroma mean is (255·Σr)·(1/(255·n)) exactly as there, not Σr/n.  Whole 2×2
    # blocks take a branch-free path: from components in 0..255, Y lies in [16, 235] and
    # Cb, Cr in [16, 240], so _round_u8's clamps never apply and int(x + 0.5) is its byte.
    h, w = yp.shape
    ch, cw = up.shape
    inv4 = 1.0 / (4 * 255)
    for cy in range(ch):
        yy0 = 2 * cy
        if yy0 + 1 >= h:  # a last odd row
            for cx in range(cw):
                _rgb_block(rgb, yp, up, vp, cy, cx)
            continue
        top, bot = rgb[yy0], rgb[yy0 + 1]
        ytop, ybot, urow, vrow = yp[yy0], yp[yy0 + 1], up[cy], vp[cy]
        for cx in range(w // 2):
            x = 2 * cx
            ra, ga, ba = float(top[x, 0]), float(top[x, 1]), float(top[x, 2])
            rb, gb, bb = float(top[x + 1, 0]), float(top[x + 1, 1]), float(top[x + 1, 2])
            rc, gc, bc = float(bot[x, 0]), float(bot[x, 1]), float(bot[x, 2])
            rd, gd, bd = float(bot[x + 1, 0]), float(bot[x + 1, 1]), float(bot[x + 1, 2])
            ytop[x] = np.uint8(int(16.0 + _Y_SCALE * (KR * ra + KG * ga + KB * ba) + 0.5))
            ytop[x + 1] = np.uint8(int(16.0 + _Y_SCALE * (KR * rb + KG * gb + KB * bb) + 0.5))
            ybot[x] = np.uint8(int(16.0 + _Y_SCALE * (KR * rc + KG * gc + KB * bc) + 0.5))
            ybot[x + 1] = np.uint8(int(16.0 + _Y_SCALE * (KR * rd + KG * gd + KB * bd) + 0.5))
            rws = 0.0 + 255 * ra + 255 * rb + 255 * rc + 255 * rd  # the loop's order of sums
            gws = 0.0 + 255 * ga + 255 * gb + 255 * gc + 255 * gd
            bws = 0.0 + 255 * ba + 255 * bb + 255 * bc + 255 * bd
            _, cb, cr = _yuv709(rws * inv4, gws * inv4, bws * inv4)
            urow[cx] = np.uint8(int(cb + 0.5))
            vrow[cx] = np.uint8(int(cr + 0.5))
        if w % 2:  # a last odd column
            _rgb_block(rgb, yp, up, vp, cy, cw - 1)


@jit
def _rgb_block(rgb, yp, up, vp, cy, cx):
    """One chroma sample's block at an odd edge, as _rgba_to_yuva420 computes it."""
    h, w = yp.shape
    asum = 0
    rws = 0.0
    gws = 0.0
    bws = 0.0
    for yy in range(2 * cy, min(2 * cy + 2, h)):
        for xx in range(2 * cx, min(2 * cx + 2, w)):
            r = float(rgb[yy, xx, 0])
            g = float(rgb[yy, xx, 1])
            b = float(rgb[yy, xx, 2])
            al = 255
            yp[yy, xx] = _round_u8(16.0 + _Y_SCALE * (KR * r + KG * g + KB * b))
            asum += al
            rws += al * r
            gws += al * g
            bws += al * b
    inv = 1.0 / asum
    _, cb, cr = _yuv709(rws * inv, gws * inv, bws * inv)
    up[cy, cx] = _round_u8(cb)
    vp[cy, cx] = _round_u8(cr)


def yuv420_to_rgb(y, u, v) -> np.ndarray:
    """New (h, w, 3) uint8 RGB image from BT.709 limited-range planes (nearest chroma).

    For tests and probes, not for the render loop.
    """
    check_plane("y", y)
    check_plane("u", u)
    check_plane("v", v)
    half = _half(y.shape)
    if u.shape != half or v.shape != half:
        raise ValueError(f"u and v must have shape {half} for y of shape {y.shape}, got {u.shape} and {v.shape}")
    out = np.empty(y.shape + (3,), np.uint8)
    _yuv420_to_rgb(y, u, v, out)
    return out


@jit
def _yuv420_to_rgb(yp, up, vp, out):
    h, w = yp.shape
    for yy in range(h):
        for xx in range(w):
            e = (float(yp[yy, xx]) - 16.0) * _Y_INV
            pb = (float(up[yy // 2, xx // 2]) - 128.0) * _C_INV
            pr = (float(vp[yy // 2, xx // 2]) - 128.0) * _C_INV
            out[yy, xx, 0] = _round_u8(e + _R_CR * pr)
            out[yy, xx, 1] = _round_u8(e - _G_CR * pr - _G_CB * pb)
            out[yy, xx, 2] = _round_u8(e + _B_CB * pb)
