"""Slow, obviously correct NumPy twins of the pixel kernels (pure, no I/O, no Numba).

Each twin takes the same arguments as its kernel but returns a new array instead of
writing in place, and follows the formula in the kernel's docstring literally.
They are for tests only: plain loops or straightforward vectorised NumPy.
"""
from __future__ import annotations

import math

import numpy as np

KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB


def round_u8(x):
    """Round half up and clamp to 0..255 (scalar or array) -> uint8."""
    return np.clip(np.floor(np.asarray(x, dtype=np.float64) + 0.5), 0, 255).astype(np.uint8)


def warp_blend(dst, src, src_alpha, inv, opacity, box):
    out = dst.copy()
    h, w = dst.shape
    sh, sw = src.shape
    x0, y0, x1, y1 = box
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    m = np.asarray(inv, dtype=np.float64)

    gu = max(math.hypot(m[0, 0], m[0, 1]), 1e-12)
    gv = max(math.hypot(m[1, 0], m[1, 1]), 1e-12)

    def tap(ty, tx):
        """(colour, alpha 0..1) of one source tap, clamped to the nearest edge pixel."""
        ty, tx = min(max(ty, 0), sh - 1), min(max(tx, 0), sw - 1)
        a = 1.0 if src_alpha is None else src_alpha[ty, tx] / 255.0
        return float(src[ty, tx]), a

    for y in range(y0, y1):
        for x in range(x0, x1):
            u = m[0, 0] * (x + 0.5) + m[0, 1] * (y + 0.5) + m[0, 2]
            v = m[1, 0] * (x + 0.5) + m[1, 1] * (y + 0.5) + m[1, 2]
            iu, iv = math.floor(u - 0.5), math.floor(v - 0.5)
            if iu < -1 or iv < -1 or iu >= sw or iv >= sh:
                continue  # no tap touches the source
            fu, fv = (u - 0.5) - iu, (v - 0.5) - iv
            inside = 0 <= iu and iu + 1 < sw and 0 <= iv and iv + 1 < sh
            cov = 1.0 if inside else (min(max(min(u, sw - u) / gu + 0.5, 0.0), 1.0)
                                      * min(max(min(v, sh - v) / gv + 0.5, 0.0), 1.0))
            C = A = 0.0
            for ty, tx, wgt in (
                (iv, iu, (1 - fu) * (1 - fv)),
                (iv, iu + 1, fu * (1 - fv)),
                (iv + 1, iu, (1 - fu) * fv),
                (iv + 1, iu + 1, fu * fv),
            ):
                c, a = tap(ty, tx)
                C += wgt * a * c * cov
                A += wgt * a * cov
            if A == 0.0:
                continue
            out[y, x] = round_u8(opacity * C + (1.0 - opacity * A) * float(dst[y, x]))
    return out


def copy_region(dst, src, dx, dy):
    out = dst.copy()
    for sy in range(src.shape[0]):
        for sx in range(src.shape[1]):
            y, x = sy + dy, sx + dx
            if 0 <= y < dst.shape[0] and 0 <= x < dst.shape[1]:
                out[y, x] = src[sy, sx]
    return out


def blend_region(dst, src, dx, dy, opacity):
    out = dst.copy()
    for sy in range(src.shape[0]):
        for sx in range(src.shape[1]):
            y, x = sy + dy, sx + dx
            if 0 <= y < dst.shape[0] and 0 <= x < dst.shape[1]:
                out[y, x] = round_u8(opacity * float(src[sy, sx]) + (1 - opacity) * float(dst[y, x]))
    return out


def fill(dst, value, box):
    out = dst.copy()
    x0, y0, x1, y1 = box
    out[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = value
    return out


def fill_blend(dst, value, alpha, box):
    out = dst.copy()
    x0, y0, x1, y1 = box
    sl = np.s_[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)]
    out[sl] = round_u8(alpha * value + (1 - alpha) * dst[sl].astype(np.float64))
    return out


def crossfade(a, b, p):
    af = a.astype(np.float64)
    return round_u8(af + (b.astype(np.float64) - af) * p)


def yuv709(r, g, b):
    """Unrounded BT.709 limited-range (Y, Cb, Cr) of RGB in 0..255 (floats or arrays)."""
    e = KR * r + KG * g + KB * b
    y = 16 + 219 * e / 255
    cb = 128 + 224 * (b - e) / (1.8556 * 255)
    cr = 128 + 224 * (r - e) / (1.5748 * 255)
    return y, cb, cr


def rgb_to_yuv709(r, g, b):
    return tuple(int(round_u8(c)) for c in yuv709(float(r), float(g), float(b)))


def rgba_to_yuva420(rgba):
    h, w, ch = rgba.shape
    f = rgba.astype(np.float64)
    alpha = rgba[..., 3] if ch == 4 else np.full((h, w), 255, np.uint8)
    y = round_u8(yuv709(f[..., 0], f[..., 1], f[..., 2])[0])
    hh, hw = (h + 1) // 2, (w + 1) // 2
    u = np.empty((hh, hw), np.uint8)
    v = np.empty((hh, hw), np.uint8)
    a_half = np.empty((hh, hw), np.uint8)
    for cy in range(hh):
        for cx in range(hw):
            block = f[2 * cy:2 * cy + 2, 2 * cx:2 * cx + 2, :3].reshape(-1, 3)
            ab = alpha[2 * cy:2 * cy + 2, 2 * cx:2 * cx + 2].reshape(-1).astype(np.float64)
            n = len(ab)
            if ab.sum() > 0:
                mean = (block * ab[:, None]).sum(axis=0) / ab.sum()
            else:
                mean = block.mean(axis=0)
            _, cb, cr = yuv709(*mean)
            u[cy, cx], v[cy, cx] = round_u8(cb), round_u8(cr)
            a_half[cy, cx] = (int(ab.sum()) + n // 2) // n
    return y, u, v, alpha.copy(), a_half


def yuv420_to_rgb(y, u, v):
    h, w = y.shape
    uu = np.repeat(np.repeat(u, 2, axis=0), 2, axis=1)[:h, :w].astype(np.float64)
    vv = np.repeat(np.repeat(v, 2, axis=0), 2, axis=1)[:h, :w].astype(np.float64)
    e = (y.astype(np.float64) - 16) * 255 / 219
    pb = (uu - 128) * 255 / 224
    pr = (vv - 128) * 255 / 224
    r = e + 1.5748 * pr
    b = e + 1.8556 * pb
    g = (e - KR * r - KB * b) / KG
    return np.stack([round_u8(r), round_u8(g), round_u8(b)], axis=-1)


def box_blur(src, radius):
    """Separable (2r+1) box mean with edge pixels repeated, rounded half up after each pass."""
    d = 2 * radius + 1
    s = src.astype(np.int64)
    p = np.pad(s, ((0, 0), (radius, radius)), mode="edge")
    horiz = np.zeros_like(s)
    for k in range(d):
        horiz += p[:, k:k + s.shape[1]]
    horiz = (horiz + radius) // d
    p = np.pad(horiz, ((radius, radius), (0, 0)), mode="edge")
    vert = np.zeros_like(s)
    for k in range(d):
        vert += p[k:k + s.shape[0], :]
    return ((vert + radius) // d).astype(np.uint8)


def gaussian_like_blur(src, radii):
    out = src
    for r in radii:
        out = box_blur(out, r)
    return out


def downsample2x(src):
    h, w = src.shape
    out = np.empty(((h + 1) // 2, (w + 1) // 2), np.uint8)
    for cy in range(out.shape[0]):
        for cx in range(out.shape[1]):
            block = src[2 * cy:2 * cy + 2, 2 * cx:2 * cx + 2].astype(np.int64)
            out[cy, cx] = (block.sum() + block.size // 2) // block.size
    return out
