"""Shared helpers of the effect tests (transitions, masks, blend modes, filters): test
pictures, YUV ↔ RGB, and golden frames under ``tests/golden/effects/``.

Golden frames are small PNGs rendered once and looked at by a person. Regenerate them
with ``UPDATE_GOLDEN=1 pytest tests/test_transitions.py tests/test_masks.py
tests/test_blend_modes.py`` (then look at them again before committing).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from compositor.kernels import rgba_to_yuva420, yuv420_to_rgb
from compositor.media.planes import Planes

GOLDEN = Path(__file__).resolve().parent / "golden" / "effects"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def planes_of_rgb(rgb: np.ndarray, alpha: np.ndarray | None = None) -> Planes:
    rgba = np.dstack([rgb, alpha if alpha is not None else np.full(rgb.shape[:2], 255, np.uint8)])
    y, u, v, a, ah = rgba_to_yuva420(np.ascontiguousarray(rgba))
    if alpha is None:
        a = ah = None
    return Planes(y, u, v, a, ah)


def rgb_of(p: Planes) -> np.ndarray:
    return yuv420_to_rgb(p.y, p.u, p.v)


def blank(w: int, h: int) -> Planes:
    return Planes(
        np.zeros((h, w), np.uint8),
        np.zeros(((h + 1) // 2, (w + 1) // 2), np.uint8),
        np.zeros(((h + 1) // 2, (w + 1) // 2), np.uint8),
    )


def copy(p: Planes) -> Planes:
    return p.copy()


def picture_a(w: int, h: int) -> np.ndarray:
    """Warm checkerboard with a blue top-left quarter and an arrow-like bar (orientation visible)."""
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = 220
    rgb[..., 1] = (xx * 200 // max(w - 1, 1)).astype(np.uint8)
    rgb[..., 2] = 40
    cell = max(2, w // 16)
    rgb[((yy // cell + xx // cell) % 2) == 0] = (250, 200, 60)
    rgb[: h // 2, : w // 2, 2] = 200
    rgb[h // 2 - h // 16 : h // 2 + h // 16, w // 8 : w // 2] = (20, 20, 20)  # bar pointing left of centre
    return rgb


def picture_b(w: int, h: int) -> np.ndarray:
    """Cool gradient with a white disc and a navy top band."""
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = 30
    rgb[..., 1] = 160
    rgb[..., 2] = (yy * 255 // max(h - 1, 1)).astype(np.uint8)
    r = min(w, h) // 4
    rgb[(xx - w // 2) ** 2 + (yy - h // 2) ** 2 < r * r] = (255, 255, 255)
    rgb[: max(1, h // 8), :] = (0, 0, 120)
    return rgb


def check_golden(name: str, rgb: np.ndarray, *, max_diff: int = 8, mean_diff: float = 0.6) -> None:
    """Compare ``rgb`` with ``tests/golden/effects/<name>.png`` (write it when UPDATE_GOLDEN=1)."""
    path = GOLDEN / f"{name}.png"
    if UPDATE or not path.exists():
        if not UPDATE:
            raise AssertionError(f"missing golden frame {path}; run with UPDATE_GOLDEN=1 and look at it")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(path, optimize=True)
        return
    want = np.asarray(Image.open(path).convert("RGB"))
    assert want.shape == rgb.shape, f"{name}: shape {rgb.shape} != golden {want.shape}"
    diff = np.abs(want.astype(int) - rgb.astype(int))
    assert diff.max() <= max_diff and diff.mean() <= mean_diff, (
        f"{name}: max diff {diff.max()}, mean {diff.mean():.3f} against {path}"
    )


def strip(frames: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Frames side by side with a black gap."""
    h = frames[0].shape[0]
    parts = []
    for i, f in enumerate(frames):
        if i:
            parts.append(np.zeros((h, gap, 3), np.uint8))
        parts.append(f)
    return np.concatenate(parts, axis=1)
