"""Box blur, three-box Gaussian approximation and 2× box downsampling of one plane (pure, no I/O).

These build JianYing's blurred canvas background: downsample the frame a few times,
blur the small plane, then scale it back up with the warp kernel.

* :func:`box_blur` is separable: a horizontal pass ``src → tmp`` and a vertical pass
  ``tmp → dst``, each a running sum over ``2·radius + 1`` taps with edge pixels
  repeated (clamped), rounded half up after each pass.  Cost does not depend on radius.
* :func:`gaussian_like_blur` runs three box blurs whose radii
  (:func:`gauss_box_radii`) give a total variance close to ``sigma²``.
* :func:`downsample2x` averages 2×2 blocks (1×2, 2×1 or 1×1 on odd edges).
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import check_finite, check_int, check_plane, check_same_shape, jit

__all__ = ["box_blur", "gaussian_like_blur", "gauss_box_radii", "downsample2x"]


def check_blur_args(src, dst, tmp) -> None:
    """src, dst, tmp: uint8 planes of one shape; tmp must overlap neither (dst may be src)."""
    check_plane("src", src)
    check_plane("dst", dst, writable=True)
    check_plane("tmp", tmp, writable=True)
    check_same_shape("src, dst and tmp", src, dst, tmp)
    if np.may_share_memory(tmp, src) or np.may_share_memory(tmp, dst):
        raise ValueError("tmp must not overlap src or dst")


def check_radius(radius) -> int:
    r = check_int("radius", radius)
    if not 0 <= r <= 1 << 30:
        raise ValueError(f"radius must be in 0..2**30, got {radius!r}")
    return r


def box_blur(src, dst, radius, tmp) -> None:
    """Blur ``src`` into ``dst`` with a (2·radius+1)² box, edges clamped.

    src, dst, tmp: uint8 planes of one shape; ``dst`` may be ``src``; ``tmp`` is scratch
    that must not overlap either.  radius: int >= 0 (0 copies).
    """
    check_blur_args(src, dst, tmp)
    r = check_radius(radius)
    if src.size:
        _box_blur(src, dst, r, tmp)


def gauss_box_radii(sigma: float, n: int = 3) -> tuple[int, ...]:
    """Radii of ``n`` successive box blurs approximating a Gaussian of ``sigma`` pixels.

    Box widths are the odd integers ``wl`` and ``wl + 2`` mixed so that the summed box
    variance ``Σ (width² − 1) / 12`` is as close to ``sigma²`` as they allow
    (W. M. Wells, "Efficient synthesis of Gaussian filters by cascaded uniform filters", 1986).
    """
    s = check_finite("sigma", sigma)
    if s < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    w_ideal = math.sqrt(12.0 * s * s / n + 1.0)
    wl = int(math.floor(w_ideal))
    if wl % 2 == 0:
        wl -= 1
    m_ideal = (12.0 * s * s - n * wl * wl - 4.0 * n * wl - 3.0 * n) / (-4.0 * wl - 4.0)
    m = min(max(int(round(m_ideal)), 0), n)
    return tuple((wl - 1) // 2 if i < m else (wl + 1) // 2 for i in range(n))


def gaussian_like_blur(src, dst, sigma, tmp) -> None:
    """Approximate a Gaussian blur of ``sigma`` pixels with three box blurs (edges clamped).

    Same array rules as :func:`box_blur`; ``dst`` may be ``src``.
    """
    check_blur_args(src, dst, tmp)
    radii = gauss_box_radii(sigma)
    if not src.size:
        return
    _box_blur(src, dst, radii[0], tmp)
    for r in radii[1:]:
        _box_blur(dst, dst, r, tmp)


def downsample2x(src, dst) -> None:
    """Write the 2×2 box mean of ``src`` (h, w) into ``dst`` (ceil(h/2), ceil(w/2)).

    On odd edges the mean is over the 2 or 1 pixels that exist; rounding is half up.
    """
    check_plane("src", src)
    check_plane("dst", dst, writable=True)
    half = ((src.shape[0] + 1) // 2, (src.shape[1] + 1) // 2)
    if dst.shape != half:
        raise ValueError(f"dst must have shape {half} for src of shape {src.shape}, got {dst.shape}")
    _downsample2x(src, dst)


@jit
def _box_blur(src, dst, r, tmp):
    _blur_rows(src, tmp, r)
    _blur_cols(tmp, dst, r)


@jit
def _blur_rows(src, out, r):
    """Horizontal box mean of radius r, edges repeated, running sum (any r costs the same).

    ``out`` may not be ``src``. d = 2r+1 is odd, so s/d is never a tie: s·(1/d) + ½ rounds
    like (s + r) // d."""
    h, w = src.shape
    inv = 1.0 / (2 * r + 1)
    kw = min(r, w - 1)
    for y in range(h):
        srow = src[y]
        orow = out[y]
        s = (r + 1) * np.int64(srow[0]) + (r - kw) * np.int64(srow[w - 1])
        for k in range(1, kw + 1):
            s += srow[k]
        for x in range(w):
            orow[x] = int(s * inv + 0.5)
            s += np.int64(srow[min(x + r + 1, w - 1)]) - np.int64(srow[max(x - r, 0)])


@jit
def _blur_cols(src, out, r):
    """Vertical twin of :func:`_blur_rows`, row by row with one running sum per column
    (cache friendly). ``out`` may not be ``src``."""
    h, w = src.shape
    inv = 1.0 / (2 * r + 1)
    kh = min(r, h - 1)
    s = np.empty(w, np.int64)
    for x in range(w):
        s[x] = (r + 1) * np.int64(src[0, x]) + (r - kh) * np.int64(src[h - 1, x])
    for k in range(1, kh + 1):
        for x in range(w):
            s[x] += src[k, x]
    for y in range(h):
        orow = out[y]
        add = src[min(y + r + 1, h - 1)]
        sub = src[max(y - r, 0)]
        for x in range(w):
            orow[x] = int(s[x] * inv + 0.5)
            s[x] += np.int64(add[x]) - np.int64(sub[x])


@jit
def _downsample2x(src, dst):
    h, w = src.shape
    ch, cw = dst.shape
    wf = w // 2  # complete 2-wide blocks per row; an odd last column is handled after
    for cy in range(ch):
        r0 = src[2 * cy]
        drow = dst[cy]
        if 2 * cy + 1 < h:
            r1 = src[2 * cy + 1]
            for cx in range(wf):
                s = np.int32(r0[2 * cx]) + np.int32(r0[2 * cx + 1]) + np.int32(r1[2 * cx]) + np.int32(r1[2 * cx + 1])
                drow[cx] = (s + 2) >> 2
            if wf < cw:
                drow[wf] = (np.int32(r0[w - 1]) + np.int32(r1[w - 1]) + 1) >> 1
        else:  # odd last row
            for cx in range(wf):
                drow[cx] = (np.int32(r0[2 * cx]) + np.int32(r0[2 * cx + 1]) + 1) >> 1
            if wf < cw:
                drow[wf] = r0[w - 1]
