"""Mask family (pure data): ``materials.masks`` / ``common_mask`` (docs/format.md#masks).

A mask lives in **material space**: it is an alpha plane over the (cropped) source picture
that multiplies the picture's own alpha before the clip's warp, so it moves, scales and
rotates with the clip and its keyframes for free. :func:`mask_spec` reduces a mask
material to a :class:`MaskSpec` (a matrix from cropped source pixels to mask-local pixels
plus sizes); :func:`compositor.pixels.masks.render_mask` draws the alpha planes (cached by the compositor: a mask
over a static picture is computed once per clip).

Geometry (best readings, docs/format.md#masks): centre ``(centerX, centerY)`` in half material
widths/heights from the material centre, **y up**; ``width``/``height`` fractions of the
material width/height (line: none; mirror: the band's thickness is ``height``);
``rotation`` degrees clockwise; ``feather`` 0–1 → an edge band of ``feather × ½ ×`` the
shape's smaller side (line and mirror: of the material's smaller side); ``roundCorner``
0–1 → corner radius as a fraction of half the rectangle's shorter side; ``invert`` keeps
the outside.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

from ..draft import MaskMaterial
from ..geometry import Affine, metadata_rotation
from ..registry import APPROXIMATED, EXACT, Entry, Registry

ENTRIES = (
    Entry(
        "mask",
        "线性",
        "line",
        EXACT,
        resource_ids=("6791652175668843016",),
        aliases=("line",),
        note="keeps the side above a line through the centre; feather width uncalibrated",
    ),
    Entry(
        "mask",
        "镜面",
        "mirror",
        EXACT,
        resource_ids=("6791699060140020232",),
        aliases=("mirror",),
        note="keeps a band `height` thick; feather width uncalibrated",
    ),
    Entry(
        "mask",
        "圆形",
        "circle",
        EXACT,
        resource_ids=("6791700663249146381",),
        aliases=("circle",),
        note="ellipse width × height; feather width uncalibrated",
    ),
    Entry(
        "mask",
        "矩形",
        "rectangle",
        EXACT,
        resource_ids=("6791700809454195207",),
        aliases=("rectangle",),
        note="rectangle with rounded corners (roundCorner); feather width uncalibrated",
    ),
    Entry(
        "mask",
        "爱心",
        "heart",
        APPROXIMATED,
        resource_ids=("6794051276482023949",),
        note="geometric heart filling width × height",
    ),
    Entry(
        "mask",
        "星形",
        "star",
        APPROXIMATED,
        resource_ids=("6794051169434997255",),
        note="regular five-pointed star filling width × height",
    ),
)


@dataclass(frozen=True, slots=True)
class MaskSpec:
    """A mask resolved against one clip's source picture."""

    impl: str  # implementation key (compositor.pixels.masks.SHAPES)
    name: str
    resource_id: str
    local: Affine  # cropped source px (coded) -> mask-local px (y down)
    hw: float  # half sizes, local px
    hh: float
    feather: float  # local px
    radius: float = 0.0  # rounded corners, local px
    invert: bool = False


# Mask geometry beyond this many material half-sizes changes nothing visible.
_MASK_LIMIT = 1e4


def _bounded(v: float) -> float:
    """A mask config number clamped to ±_MASK_LIMIT (0 when not finite): the mask kernel
    takes only finite geometry, and a draft's cosmetic value must not stop the render."""
    return min(max(v, -_MASK_LIMIT), _MASK_LIMIT) if math.isfinite(v) else 0.0


def mask_spec(material: MaskMaterial, impl: str, crop_w: int, crop_h: int, rotation: int) -> MaskSpec:
    """The :class:`MaskSpec` of ``material`` over a cropped source of ``crop_w × crop_h``
    coded pixels shown with container ``rotation`` (clockwise degrees)."""
    c = material.config
    to_display = metadata_rotation(crop_w, crop_h, rotation)
    dw, dh = (crop_h, crop_w) if rotation % 180 else (crop_w, crop_h)
    cx = dw / 2.0 + _bounded(c.centerX) * dw / 2.0
    cy = dh / 2.0 - _bounded(c.centerY) * dh / 2.0
    local = to_display.then(Affine.translate(-cx, -cy)).then(Affine.rotate_cw(-_bounded(c.rotation) % 360.0))
    hw = max(abs(_bounded(c.width)), 1e-6) * dw / 2.0
    hh = max(abs(_bounded(c.height)), 1e-6) * dh / 2.0
    feather = min(max(_bounded(c.feather), 0.0), 1.0)
    if impl in ("line", "mirror"):
        feather_px = feather * 0.5 * min(dw, dh)
    else:
        feather_px = feather * min(hw, hh)
    radius = min(max(c.roundCorner, 0.0), 1.0) * min(hw, hh) if impl == "rectangle" else 0.0
    return MaskSpec(
        impl=impl,
        name=material.name,
        resource_id=material.resource_id,
        local=local,
        hw=hw,
        hh=hh,
        feather=feather_px,
        radius=radius,
        invert=bool(c.invert),
    )


def resolve_impl(material: MaskMaterial, registry: Registry) -> str | None:
    """Implementation key of a mask material (by resource id, name, then resource_type)."""
    e = registry.lookup("mask", material.name, material.resource_id, material.effect_id)
    if e is None and material.resource_type and material.resource_type != "geometric_shape":
        e = registry.lookup("mask", material.resource_type)
    return e.impl if e is not None else None
