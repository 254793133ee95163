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

    gu = min(max(math.hypot(m[0, 0], m[0, 1]), 1e-12), 1.0)  # edge ramp: see kernels/warp.py
    gv = min(max(math.hypot(m[1, 0], m[1, 1]), 1e-12), 1.0)

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
            cov = (
                1.0
                if inside
                else (min(max(min(u, sw - u) / gu + 0.5, 0.0), 1.0) * min(max(min(v, sh - v) / gv + 0.5, 0.0), 1.0))
            )
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
    out[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = value
    return out


def fill_blend(dst, value, alpha, box):
    out = dst.copy()
    x0, y0, x1, y1 = box
    sl = np.s_[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)]
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
            block = f[2 * cy : 2 * cy + 2, 2 * cx : 2 * cx + 2, :3].reshape(-1, 3)
            ab = alpha[2 * cy : 2 * cy + 2, 2 * cx : 2 * cx + 2].reshape(-1).astype(np.float64)
            n = len(ab)
            if ab.sum() > 0:
                mean = (block * ab[:, None]).sum(axis=0) / ab.sum()
            else:
                mean = block.mean(axis=0)
            _, cb, cr = yuv709(*mean)
            u[cy, cx], v[cy, cx] = round_u8(cb), round_u8(cr)
            a_half[cy, cx] = (int(ab.sum()) + n // 2) // n
    return y, u, v, alpha.copy(), a_half


def rgb_to_yuv420(rgb):
    """Opaque RGB → (y, u, v): the RGBA twin with every alpha 255, alpha planes dropped."""
    y, u, v, _, _ = rgba_to_yuva420(rgb[..., :3])
    return y, u, v


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
        horiz += p[:, k : k + s.shape[1]]
    horiz = (horiz + radius) // d
    p = np.pad(horiz, ((radius, radius), (0, 0)), mode="edge")
    vert = np.zeros_like(s)
    for k in range(d):
        vert += p[k : k + s.shape[0], :]
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
            block = src[2 * cy : 2 * cy + 2, 2 * cx : 2 * cx + 2].astype(np.int64)
            out[cy, cx] = (block.sum() + block.size // 2) // block.size
    return out


# -- effects (docs/effects.md): transitions, masks, blend modes, filters ----------------------


def _edge_index(i, n, edge):
    """Twin of resample._edge_index: 0 fill, 1 clamp, 2 mirror (period 2n)."""
    if 0 <= i < n:
        return i
    if edge == 1:
        return 0 if i < 0 else n - 1
    if edge == 2:
        m = i % (2 * n)
        return m if m < n else 2 * n - 1 - m
    return None


def _bilinear(src, u, v, edge, fill):
    h, w = src.shape
    tu, tv = u - 0.5, v - 0.5
    ix, iy = math.floor(tu), math.floor(tv)
    fx, fy = tu - ix, tv - iy

    def tap(yy, xx):
        xi, yi = _edge_index(xx, w, edge), _edge_index(yy, h, edge)
        return float(fill) if xi is None or yi is None else float(src[yi, xi])

    top = tap(iy, ix) * (1 - fx) + tap(iy, ix + 1) * fx
    bot = tap(iy + 1, ix) * (1 - fx) + tap(iy + 1, ix + 1) * fx
    return top * (1 - fy) + bot * fy


def warp_mix(dst, a, inv_a, b, inv_b, w, box=None, edge=2, fill=0, taps=1, blur_dx=0.0, blur_dy=0.0):
    out = dst.copy()
    h, wd = dst.shape
    x0, y0, x1, y1 = box if box is not None else (0, 0, wd, h)
    ma, mb = np.asarray(inv_a, float), np.asarray(inv_b if b is not None else inv_a, float)

    def sample(src, m, x, y):
        acc = 0.0
        for k in range(taps):
            f = k / (taps - 1) - 0.5 if taps > 1 else 0.0
            dx, dy = blur_dx * f, blur_dy * f
            xc, yc = x + 0.5, y + 0.5
            u = m[0, 0] * xc + m[0, 1] * yc + m[0, 2] + (m[0, 0] * dx + m[0, 1] * dy)
            v = m[1, 0] * xc + m[1, 1] * yc + m[1, 2] + (m[1, 0] * dx + m[1, 1] * dy)
            acc += _bilinear(src, u, v, edge, fill)
        return acc / taps

    for y in range(max(y0, 0), min(y1, h)):
        for x in range(max(x0, 0), min(x1, wd)):
            va = sample(a, ma, x, y) if w < 1 else 0.0
            vb = sample(b, mb, x, y) if w > 0 else 0.0
            out[y, x] = round_u8(va + (vb - va) * w)
    return out


def pixelate_mix(a, b, w, block, ox=0, oy=0):
    h, wd = a.shape
    out = np.empty_like(a)
    b = a if b is None else b
    ys = sorted({0, h, *range(oy % block, h, block)})
    xs = sorted({0, wd, *range(ox % block, wd, block)})
    for ya, yb in zip(ys, ys[1:]):
        for xa, xb in zip(xs, xs[1:]):
            ma = a[ya:yb, xa:xb].astype(float).mean()
            mb = b[ya:yb, xa:xb].astype(float).mean()
            out[ya:yb, xa:xb] = int(ma + (mb - ma) * w + 0.5)
    return out


def reveal_distance(shape, X, Y, p):
    p0, p1, p2, p3, p4 = (list(p) + [0.0] * 5)[:5]
    if shape == 0:
        return p2 - (p0 * X + p1 * Y)
    if shape == 1:
        return p2 - np.abs(p0 * (X - p3) + p1 * (Y - p4))
    if shape == 2:
        return p2 - np.hypot(X - p0, Y - p1)
    if shape == 3:
        th = np.mod(np.arctan2(X - p0, -(Y - p1)), 2 * np.pi)
        return (p2 - th) * np.maximum(np.hypot(X - p0, Y - p1), 1.0)
    return p2 - np.mod(Y - p1, p0)


def reveal_mix(a, b, shape, params, sx=1.0, sy=1.0, soft=1.0):
    h, w = a.shape
    Y, X = np.mgrid[0:h, 0:w].astype(float)
    d = reveal_distance(shape, (X + 0.5) * sx, (Y + 0.5) * sy, params)
    t = np.clip(d / soft + 0.5, 0.0, 1.0)
    af = a.astype(float)
    return round_u8(af + (b.astype(float) - af) * t)


def directional_blur(src, radius, axis, passes=1):
    out = src
    for _ in range(passes):
        s = out.astype(np.int64)
        d = 2 * radius + 1
        pad = ((0, 0), (radius, radius)) if axis == 1 else ((radius, radius), (0, 0))
        p = np.pad(s, pad, mode="edge")
        acc = np.zeros_like(s)
        for k in range(d):
            acc += p[:, k : k + s.shape[1]] if axis == 1 else p[k : k + s.shape[0], :]
        out = ((acc + radius) // d).astype(np.uint8)
    return out


def mask_alpha_simple(shape, m, hw, hh, feather, h, w, radius=0.0, invert=False, base=None):
    """Coverage of the line / mirror / ellipse (circles exact) / rounded-rect masks."""
    Y, X = np.mgrid[0:h, 0:w].astype(float) + 0.5
    m = np.asarray(m, float)
    lx = m[0, 0] * X + m[0, 1] * Y + m[0, 2]
    ly = m[1, 0] * X + m[1, 1] * Y + m[1, 2]
    if shape == 0:
        d = ly
    elif shape == 1:
        d = np.abs(ly) - hh
    elif shape == 2:
        k0 = np.hypot(lx / hw, ly / hh)
        k1 = np.hypot(lx / hw**2, ly / hh**2)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(k1 == 0, -min(hw, hh), k0 * (k0 - 1) / np.where(k1 == 0, 1, k1))
    else:
        r = min(radius, hw, hh)
        qx, qy = np.abs(lx) - hw + r, np.abs(ly) - hh + r
        d = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r
    c = np.clip(0.5 - d / max(feather, 1.0), 0, 1)
    if invert:
        c = 1 - c
    v = 255 * c
    if base is not None:
        v = v * base / 255.0
    return round_u8(v)


def multiply_alpha(a, b):
    return round_u8(a.astype(float) * b.astype(float) / 255.0)


def yuv420_to_rgb_float(y, u, v):
    """Per-pixel (h, w, 3) RGB floats (0..255, unclipped) with nearest (block) chroma."""
    h, w = y.shape
    uu = np.repeat(np.repeat(u, 2, axis=0), 2, axis=1)[:h, :w].astype(float) - 128
    vv = np.repeat(np.repeat(v, 2, axis=0), 2, axis=1)[:h, :w].astype(float) - 128
    e = (y.astype(float) - 16) * 255 / 219
    r = e + 1.5748 * vv * 255 / 224
    b = e + 1.8556 * uu * 255 / 224
    g = (e - KR * r - KB * b) / KG
    return np.stack([r, g, b], axis=-1)


def rgb_float_to_yuv420(rgb):
    """Y per pixel, U/V from the 2×2 block mean of the RGB (rounded, clamped)."""
    h, w, _ = rgb.shape
    yy = round_u8(yuv709(rgb[..., 0], rgb[..., 1], rgb[..., 2])[0])
    hh, hw = (h + 1) // 2, (w + 1) // 2
    u = np.empty((hh, hw), np.uint8)
    v = np.empty((hh, hw), np.uint8)
    for cy in range(hh):
        for cx in range(hw):
            mean = rgb[2 * cy : 2 * cy + 2, 2 * cx : 2 * cx + 2].reshape(-1, 3).mean(axis=0)
            _, cb, cr = yuv709(*mean)
            u[cy, cx], v[cy, cx] = round_u8(cb), round_u8(cr)
    return yy, u, v


def colour_matrix(y, u, v, k, lut=None):
    """Twin of adjust.colour_matrix, straight from its docstring formula."""
    k = np.asarray(k, float)
    h, w = y.shape
    yo, uo, vo = y.copy(), u.copy(), v.copy()
    for cy in range(u.shape[0]):
        for cx in range(u.shape[1]):
            blk = y[2 * cy : 2 * cy + 2, 2 * cx : 2 * cx + 2].astype(float)
            cb, cr = float(u[cy, cx]) - 128, float(v[cy, cx]) - 128
            ny = round_u8(k[0, 0] * blk + k[0, 1] * cb + k[0, 2] * cr + k[0, 3])
            yo[2 * cy : 2 * cy + 2, 2 * cx : 2 * cx + 2] = ny if lut is None else np.asarray(lut)[ny]
            ym = blk.mean()
            uo[cy, cx] = round_u8(128 + k[1, 0] * ym + k[1, 1] * cb + k[1, 2] * cr + k[1, 3])
            vo[cy, cx] = round_u8(128 + k[2, 0] * ym + k[2, 1] * cb + k[2, 2] * cr + k[2, 3])
    return yo, uo, vo


def sharpen_luma(src, amount):
    s = src.astype(float)
    p = np.pad(s, 1, mode="edge")
    box = sum(p[dy : dy + s.shape[0], dx : dx + s.shape[1]] for dy in range(3) for dx in range(3)) / 9
    return round_u8(s + amount * (s - box))


def highlights(plane, t):
    v = plane.astype(float) - t
    return np.where(v <= 0, 0, round_u8(v * 255 / (255 - t))).astype(np.uint8)


def blend_channel(mode, b, s):
    """W3C separable blend modes, per channel, arrays in [0, 1]."""
    if mode == "multiply":
        return b * s
    if mode == "screen":
        return b + s - b * s
    if mode == "overlay":
        return blend_channel("hard_light", s, b)
    if mode == "soft_light":
        d = np.where(b <= 0.25, ((16 * b - 12) * b + 4) * b, np.sqrt(b))
        return np.where(s <= 0.5, b - (1 - 2 * s) * b * (1 - b), b + (2 * s - 1) * (d - b))
    if mode == "hard_light":
        return np.where(s <= 0.5, 2 * b * s, blend_channel("screen", b, 2 * s - 1))
    if mode == "lighten":
        return np.maximum(b, s)
    if mode == "darken":
        return np.minimum(b, s)
    if mode == "color_dodge":
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.minimum(1.0, b / np.where(s >= 1, 1, 1 - s))
        return np.where(b <= 0, 0.0, np.where(s >= 1, 1.0, r))
    if mode == "color_burn":
        with np.errstate(divide="ignore", invalid="ignore"):
            r = 1 - np.minimum(1.0, (1 - b) / np.where(s <= 0, 1, s))
        return np.where(b >= 1, 1.0, np.where(s <= 0, 0.0, r))
    return np.maximum(0.0, b + s - 1)


def blend_yuv(dy, du, dv, sy, su, sv, alpha, mode):
    """Twin of blend_mode.blend_yuv over the whole frame (touched blocks only change)."""
    b = np.clip(yuv420_to_rgb_float(dy, du, dv) / 255.0, 0, 1)
    s = np.clip(yuv420_to_rgb_float(sy, su, sv) / 255.0, 0, 1)
    a = (alpha.astype(float) / 255.0)[..., None]
    res = b + a * (blend_channel(mode, b, s) - b)
    y, u, v = rgb_float_to_yuv420(res * 255.0)
    y = np.where(alpha > 0, y, dy)
    touched = np.zeros(du.shape, bool)
    for cy in range(du.shape[0]):
        for cx in range(du.shape[1]):
            touched[cy, cx] = (alpha[2 * cy : 2 * cy + 2, 2 * cx : 2 * cx + 2] > 0).any()
    return y, np.where(touched, u, du), np.where(touched, v, dv)


def rgb_split(y, u, v, shift):
    """Twin of adjust.rgb_split: R read ``shift`` px to the right, B to the left (clamped)."""
    rgb = yuv420_to_rgb_float(y, u, v)
    h, w, _ = rgb.shape
    xs = np.arange(w)
    out = rgb.copy()
    out[..., 0] = rgb[:, np.clip(xs + shift, 0, w - 1), 0]
    out[..., 2] = rgb[:, np.clip(xs - shift, 0, w - 1), 2]
    return rgb_float_to_yuv420(np.clip(out, 0, 255))
