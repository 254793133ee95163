"""Colour and texture adjustments of a YUV 4:2:0 picture, in place (pure, no I/O).

The filters and scene effects of :mod:`compositor.effects.filters` are built from these kernels
(plus the blurs of :mod:`.blur` / :mod:`.dirblur` and :mod:`.resample`):

* :func:`colour_matrix` — any affine RGB colour operation (saturation, tints, contrast,
  brightness, lift, fades towards a colour …) is an affine map of (Y, Cb, Cr) too, so it is
  applied **exactly** on the planes, no RGB round trip: per 2×2 block, with ``Ȳ`` the mean
  luma of the block and ``Cb = U − 128``, ``Cr = V − 128``::

      Y'  = k00·Y + k01·Cb + k02·Cr + k03          (each pixel of the block)
      Cb' = k10·Ȳ + k11·Cb + k12·Cr + k13          (the block's chroma)
      Cr' = k20·Ȳ + k21·Cb + k22·Cr + k23
      then Y' ← lut[Y'] when a 256-entry luma curve is given (non-linear tone curves),
      everything rounded half up and clamped to 0..255 (U' = Cb' + 128, V' = Cr' + 128).

  It differs from a per-pixel RGB implementation only by RGB clipping (which the matrix
  does not model) and the chroma subsampling the picture already has.
* :func:`add_grain` — ``Y += amplitude · n`` with ``n`` a deterministic hash noise in
  [−1, 1] per pixel and ``seed`` (film grain that changes every frame).
* :func:`sharpen_luma` — unsharp mask with a 3×3 box: ``Y' = Y + amount·(Y − box3(Y))``.
* :func:`rgb_split` — chromatic aberration: R sampled ``shift`` pixels to the right, B to
  the left, G in place, per pixel through BT.709 RGB and back (reads ``src``, writes ``dst``).
* :func:`highlights` / :func:`screen_upsampled` — bloom: the bright part of a (small) luma
  plane, blurred by the caller, then screened back over the full-size luma with bilinear
  upsampling: ``Y' = Y + strength · g · (255 − Y) / 255``.
"""

from __future__ import annotations

import numpy as np

from ._jit import check_finite, check_int, check_plane, check_same_shape, check_disjoint, jit
from .colour import _round_u8
from ..pixels.yuv import KB, KG, KR  # the BT.709 luma weights, defined once

__all__ = ["colour_matrix", "add_grain", "sharpen_luma", "rgb_split", "highlights", "screen_upsampled"]


def _check_yuv(y, u, v, *, writable=True):
    check_plane("y", y, writable=writable)
    check_plane("u", u, writable=writable)
    check_plane("v", v, writable=writable)
    half = ((y.shape[0] + 1) // 2, (y.shape[1] + 1) // 2)
    if u.shape != half or v.shape != half:
        raise ValueError(f"u and v must have shape {half} for y of shape {y.shape}, got {u.shape}, {v.shape}")


def colour_matrix(y, u, v, k, lut=None) -> None:
    """Apply the (3, 4) YUV affine ``k`` (and the optional luma ``lut``) in place."""
    _check_yuv(y, u, v)
    m = np.asarray(k, dtype=np.float64)
    if m.shape != (3, 4) or not np.all(np.isfinite(m)):
        raise ValueError(f"k must be a finite (3, 4) matrix, got {m.tolist()}")
    has_lut = lut is not None
    if has_lut:
        lut = np.asarray(lut)
        if lut.dtype != np.uint8 or lut.shape != (256,):
            raise ValueError("lut must be 256 uint8 values")
    else:
        lut = np.zeros(256, np.uint8)
    _colour_matrix(y, u, v, m, lut, has_lut)


@jit
def _luma_row(row, k00, base, lut, has_lut):
    """row[x] = curve(clamp(round(k00·row[x] + base[x // 2]))) in 16.16 fixed point."""
    for x in range(row.shape[0]):
        o = (k00 * np.int64(row[x]) + base[x >> 1]) >> 16
        o = 0 if o < 0 else (255 if o > 255 else o)
        row[x] = lut[o] if has_lut else o


@jit
def _clamp8(o):
    return 0 if o < 0 else (255 if o > 255 else o)


@jit
def _colour_matrix(yp, up, vp, k, lut, has_lut):
    h, w = yp.shape
    ch, cw = up.shape
    q = 65536.0
    k00 = np.int64(round(k[0, 0] * q))
    k01 = np.int64(round(k[0, 1] * q))
    k02 = np.int64(round(k[0, 2] * q))
    k03 = np.int64(round(k[0, 3] * q)) + 32768  # + ½ for rounding
    # chroma rows, for full 2×2 blocks (Ȳ = s / 4 folded into the coefficient)
    k10 = np.int64(round(k[1, 0] * q / 4.0))
    k11 = np.int64(round(k[1, 1] * q))
    k12 = np.int64(round(k[1, 2] * q))
    k13 = np.int64(round((128.0 + k[1, 3]) * q)) + 32768
    k20 = np.int64(round(k[2, 0] * q / 4.0))
    k21 = np.int64(round(k[2, 1] * q))
    k22 = np.int64(round(k[2, 2] * q))
    k23 = np.int64(round((128.0 + k[2, 3]) * q)) + 32768
    base = np.empty(cw, np.int64)  # per block: k01·Cb + k02·Cr + k03 (fixed point)
    full_cols = w // 2
    for cy in range(ch):
        y0 = 2 * cy
        two = y0 + 1 < h
        r0 = yp[y0]
        r1 = yp[y0 + 1 if two else y0]
        ur = up[cy]
        vr = vp[cy]
        # chroma first, from the block's original luma
        for cx in range(cw):
            cb = np.int64(ur[cx]) - 128
            cr = np.int64(vr[cx]) - 128
            base[cx] = k01 * cb + k02 * cr + k03
            x0 = 2 * cx
            if two and cx < full_cols:
                s = np.int64(r0[x0]) + np.int64(r0[x0 + 1]) + np.int64(r1[x0]) + np.int64(r1[x0 + 1])
                ur[cx] = _clamp8((k10 * s + k11 * cb + k12 * cr + k13) >> 16)
                vr[cx] = _clamp8((k20 * s + k21 * cb + k22 * cr + k23) >> 16)
            else:  # a block cut by an odd edge
                sf = float(r0[x0])
                n = 1
                if x0 + 1 < w:
                    sf += r0[x0 + 1]
                    n += 1
                if two:
                    sf += r1[x0]
                    n += 1
                    if x0 + 1 < w:
                        sf += r1[x0 + 1]
                        n += 1
                ym = sf / n
                ur[cx] = _round_u8(128.0 + k[1, 0] * ym + k[1, 1] * cb + k[1, 2] * cr + k[1, 3])
                vr[cx] = _round_u8(128.0 + k[2, 0] * ym + k[2, 1] * cb + k[2, 2] * cr + k[2, 3])
        _luma_row(r0, k00, base, lut, has_lut)
        if two:
            _luma_row(r1, k00, base, lut, has_lut)


def add_grain(plane, amplitude, seed) -> None:
    """Add deterministic hash noise of ``amplitude`` (levels) to ``plane`` in place."""
    check_plane("plane", plane, writable=True)
    a = check_finite("amplitude", amplitude)
    s = check_int("seed", seed)
    if a <= 0:
        return
    _add_grain(plane, a, s & 0x7FFFFFFF)


@jit
def _hash(x, y, seed):
    """32-bit integer hash of (x, y, seed) in int64 arithmetic (no overflow)."""
    h = (x * 374761393 + y * 668265263 + seed * 1442695041) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 1274126177) & 0xFFFFFFFF
    return h ^ (h >> 16)


@jit
def _add_grain(plane, a, seed):
    h, w = plane.shape
    scale = 2.0 / 4294967295.0
    for y in range(h):
        row = plane[y]
        for x in range(w):
            n = float(_hash(x, y, seed)) * scale - 1.0
            row[x] = _round_u8(float(row[x]) + a * n)


def sharpen_luma(dst, src, amount) -> None:
    """``dst = src + amount·(src − box3(src))`` (edges repeated); dst must not overlap src."""
    check_plane("dst", dst, writable=True)
    check_plane("src", src)
    check_same_shape("dst and src", dst, src)
    check_disjoint("src and dst", src, dst)
    _sharpen(dst, src, check_finite("amount", amount))


@jit
def _sharpen(dst, src, amount):
    h, w = src.shape
    # c + amount·(c − s/9) = ((1 + amount)·c − (amount/9)·s) in 16.16 fixed point
    kc = np.int64(round((1.0 + amount) * 65536.0))
    ks = np.int64(round(amount / 9.0 * 65536.0))
    col = np.empty(w + 2, np.int64)  # column sums of the 3 rows, edges repeated
    for y in range(h):
        r0 = src[max(y - 1, 0)]
        r1 = src[y]
        r2 = src[min(y + 1, h - 1)]
        for x in range(w):
            col[x + 1] = np.int64(r0[x]) + np.int64(r1[x]) + np.int64(r2[x])
        col[0] = col[1]
        col[w + 1] = col[w]
        out = dst[y]
        for x in range(w):
            sm = col[x] + col[x + 1] + col[x + 2]
            o = (kc * np.int64(r1[x]) - ks * sm + 32768) >> 16
            out[x] = 0 if o < 0 else (255 if o > 255 else o)


def rgb_split(dst_y, dst_u, dst_v, src_y, src_u, src_v, shift) -> None:
    """Chromatic aberration (see module doc): R from ``x + shift``, B from ``x − shift``."""
    _check_yuv(dst_y, dst_u, dst_v)
    _check_yuv(src_y, src_u, src_v, writable=False)
    check_same_shape("dst_y and src_y", dst_y, src_y)
    for d, s in ((dst_y, src_y), (dst_u, src_u), (dst_v, src_v)):
        check_disjoint("src and dst", s, d)
    _rgb_split(dst_y, dst_u, dst_v, src_y, src_u, src_v, check_int("shift", shift))


@jit
def _split_row(sy, su, sv, y, shift, r_out, g_out, b_out, rr, bb):
    """The split RGB (clamped, 0..255) of source row y: R from x + shift, B from x − shift."""
    w = sy.shape[1]
    yr = sy[y]
    ur = su[y >> 1]
    vr = sv[y >> 1]
    ky = 255.0 / 219.0
    kc = 255.0 / 224.0
    for x in range(w):
        e = (float(yr[x]) - 16.0) * ky
        rr[x] = e + 2.0 * (1.0 - KR) * (float(vr[x >> 1]) - 128.0) * kc
        bb[x] = e + 2.0 * (1.0 - KB) * (float(ur[x >> 1]) - 128.0) * kc
        g = (e - KR * rr[x] - KB * bb[x]) / KG
        g_out[x] = 0.0 if g < 0.0 else (255.0 if g > 255.0 else g)
    for x in range(w):
        r = rr[min(max(x + shift, 0), w - 1)]
        b = bb[min(max(x - shift, 0), w - 1)]
        r_out[x] = 0.0 if r < 0.0 else (255.0 if r > 255.0 else r)
        b_out[x] = 0.0 if b < 0.0 else (255.0 if b > 255.0 else b)


@jit
def _rgb_split(dy, du, dv, sy, su, sv, shift):
    h, w = sy.shape
    ch, cw = su.shape
    rows = np.empty((2, 3, w), np.float64)
    rr = np.empty(w, np.float64)
    bb = np.empty(w, np.float64)
    ky = 219.0 / 255.0
    for cy in range(ch):
        n_rows = 2 if 2 * cy + 1 < h else 1
        for j in range(n_rows):
            y = 2 * cy + j
            _split_row(sy, su, sv, y, shift, rows[j, 0], rows[j, 1], rows[j, 2], rr, bb)
            out = dy[y]
            for x in range(w):
                e = KR * rows[j, 0, x] + KG * rows[j, 1, x] + KB * rows[j, 2, x]
                out[x] = _round_u8(16.0 + e * ky)
        for cx in range(cw):
            rs = 0.0
            gs = 0.0
            bs = 0.0
            n = 0
            for j in range(n_rows):
                for x in range(2 * cx, min(2 * cx + 2, w)):
                    rs += rows[j, 0, x]
                    gs += rows[j, 1, x]
                    bs += rows[j, 2, x]
                    n += 1
            r, g, b = rs / n, gs / n, bs / n
            e = KR * r + KG * g + KB * b
            du[cy, cx] = _round_u8(128.0 + (224.0 / 255.0) * (b - e) / (2.0 * (1.0 - KB)))
            dv[cy, cx] = _round_u8(128.0 + (224.0 / 255.0) * (r - e) / (2.0 * (1.0 - KR)))


def highlights(plane, threshold) -> None:
    """In place: ``p = max(p − threshold, 0) · 255 / (255 − threshold)`` (threshold 0..254)."""
    check_plane("plane", plane, writable=True)
    t = check_int("threshold", threshold)
    if not 0 <= t <= 254:
        raise ValueError(f"threshold must be in 0..254, got {threshold!r}")
    _highlights(plane, t)


@jit
def _highlights(plane, t):
    h, w = plane.shape
    k = 255.0 / (255.0 - t)
    for y in range(h):
        for x in range(w):
            v = int(plane[y, x]) - t
            plane[y, x] = 0 if v <= 0 else _round_u8(v * k)


def screen_upsampled(dst, small, strength) -> None:
    """Screen the bilinearly upsampled ``small`` over ``dst`` in place (see module doc)."""
    check_plane("dst", dst, writable=True)
    check_plane("small", small)
    check_disjoint("small and dst", small, dst)
    st = check_finite("strength", strength)
    if st <= 0 or not small.size:
        return
    _screen_up(dst, small, st)


@jit
def _screen_up(dst, small, st):
    h, w = dst.shape
    sh, sw = small.shape
    fx = sw / w
    fy = sh / h
    for y in range(h):
        v = (y + 0.5) * fy - 0.5
        iy = int(np.floor(v))
        wy = v - iy
        y0 = min(max(iy, 0), sh - 1)
        y1 = min(max(iy + 1, 0), sh - 1)
        for x in range(w):
            u = (x + 0.5) * fx - 0.5
            ix = int(np.floor(u))
            wx = u - ix
            x0 = min(max(ix, 0), sw - 1)
            x1 = min(max(ix + 1, 0), sw - 1)
            top = small[y0, x0] + (float(small[y0, x1]) - small[y0, x0]) * wx
            bot = small[y1, x0] + (float(small[y1, x1]) - small[y1, x0]) * wx
            g = (top + (bot - top) * wy) / 255.0
            d = float(dst[y, x])
            dst[y, x] = _round_u8(d + st * g * (255.0 - d))
