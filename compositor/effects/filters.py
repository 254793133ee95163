"""Filters and scene effects (pure data): names, families, strength; docs/format.md#effects-and-filters.

JianYing's ~1,050 filters (LUTs) and ~1,100 scene effects are proprietary. They are
matched to a handful of **approximation families** by name (docs/effects.md): first an exact
name, then the first rule whose substring the name contains (in the order of
:data:`RULES`); anything else is drawn unchanged and reported. Every family is
``approximated``.

Where an effect acts (timeline/plan): an effect or filter **track** is an adjustment
layer over the composite of everything below it (``AdjustOp`` at the track's z); one
referenced from a video segment acts on that segment's picture before it is placed.

Intensity: a filter's ``value`` (0–1) and an effect's ``value`` × its intensity-like
``adjust_params`` (value ÷ default) give a strength ``s`` (0 = no change, 1 = the
family's full look; up to 2). For colour families the result is exactly
``mix(input, filtered, s)``; for the others ``s`` scales the amount (blur radius, grain …).
An effect's ``effects_adjust_speed`` (÷ its default) scales periodic effects (flash, shake).

The pixels (colour matrices and the other families) are in :mod:`compositor.pixels.filters`.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from ..draft import EffectMaterial
from ..registry import APPROXIMATED, Entry, Registry

# -- name rules ----------------------------------------------------------------------------

_NOTES = {
    "desaturate": "desaturate to Rec.709 luma",
    "saturation_ramp": "saturation ramps 0 → 1 over the segment",
    "blur_in": "Gaussian blur (σ up to 2% of the width) clearing over the segment",
    "blur_const": "constant Gaussian blur (σ 1.5% of the width)",
    "blur": "Gaussian blur (σ 1.2% of the width)",
    "motion_blur_h": "horizontal directional blur",
    "motion_blur_v": "vertical directional blur",
    "bars_open": "black bars opening from the centre over the first second",
    "bars_close": "black bars closing to the centre over the last second",
    "border": "black frame border",
    "border_rec": "camera frame: white corner marks and a blinking red REC dot",
    "grain": "film grain on luma",
    "pixelate": "pixelation (tiles 2.5% of the width)",
    "bloom": "bloom: blurred highlights screened over the picture",
    "flash": "white flashes, one per second (× speed)",
    "exposure": "exposure lift (gain ×1.4)",
    "rgb_split": "RGB split (R right, B left, 0.6% of the width)",
    "shake": "small random offsets, 12 per second (× speed)",
    "cool": "cool tint (lower red, raise blue), slight desaturation",
    "warm": "warm tint (raise red, lower blue)",
    "vintage": "vintage: lifted blacks, less saturation, warm shift, light grain",
    "saturate": "saturation +30%",
    "fade": "contrast −20%, saturation −30%",
    "sharpen": "mild sharpen and brightness +5%",
}

EXACT_NAMES = {
    "effect": {
        "变黑白": "desaturate",
        "变彩色": "saturation_ramp",
        "变清晰": "blur_in",
        "变清晰 II": "blur_in",
        "失焦": "blur_const",
        "模糊": "blur",
        "动感模糊": "motion_blur_h",
        "纵向模糊": "motion_blur_v",
        "方形模糊": "blur",
        "开幕": "bars_open",
        "X开幕": "bars_open",
        "分屏开幕": "bars_open",
        "闭幕": "bars_close",
        "渐隐闭幕": "bars_close",
        "DV录制框": "border_rec",
        "基础黑框": "border",
        "噪点": "grain",
        "低像素": "pixelate",
        "像素画": "pixelate",
        "光晕": "bloom",
        "发光": "bloom",
        "复古发光": "bloom",
        "闪白": "flash",
        "曝光": "exposure",
        "抖动": "shake",
    },
    "filter": {"默片": "desaturate", "高清黑白": "desaturate", "黑白记忆": "desaturate"},
}

# (substring, impl, excluded substrings) in priority order, per kind.
RULES = {
    "effect": (
        ("开幕", "bars_open", ()),
        ("闭幕", "bars_close", ()),
        ("录制边框", "border_rec", ()),
        ("录制框", "border_rec", ()),
        ("取景框", "border", ()),
        ("黑框", "border", ()),
        ("色差", "rgb_split", ()),
        ("抖动", "shake", ()),
        ("变清晰", "blur_in", ()),
        ("黑白", "desaturate", ()),
        ("发光", "bloom", ()),
        ("光晕", "bloom", ()),
        ("动感模糊", "motion_blur_h", ()),
        ("纵向模糊", "motion_blur_v", ()),
        ("模糊", "blur", ()),
        ("噪点", "grain", ()),
        ("像素", "pixelate", ()),
        ("曝光", "exposure", ()),
        ("闪白", "flash", ()),
    ),
    "filter": (
        ("黑白", "desaturate", ()),
        ("褪色", "fade", ()),
        ("灰调", "fade", ("去灰",)),
        ("高饱和", "saturate", ()),
        ("鲜亮", "saturate", ()),
        ("浓郁", "saturate", ()),
        ("冷", "cool", ()),
        ("蓝", "cool", ()),
        ("冬", "cool", ()),
        ("暖", "warm", ()),
        ("橘", "warm", ()),
        ("落日", "warm", ()),
        ("日落", "warm", ()),
        ("夕阳", "warm", ()),
        ("奶油", "warm", ()),
        ("复古", "vintage", ()),
        ("胶片", "vintage", ()),
        ("港风", "vintage", ()),
        ("旧", "vintage", ()),
        ("1980", "vintage", ()),
        ("VHS", "vintage", ()),
        ("清晰", "sharpen", ()),
        ("高清", "sharpen", ()),
        ("明亮", "sharpen", ()),
    ),
}


def _entries() -> tuple[Entry, ...]:
    out: list[Entry] = []
    for kind in ("effect", "filter"):
        for name, impl in EXACT_NAMES[kind].items():
            out.append(Entry(kind, name, impl, APPROXIMATED, note=_NOTES[impl]))
        for sub, impl, excl in RULES[kind]:
            rule = f"names containing “{sub}”" + (f" (not “{'”, “'.join(excl)}”)" if excl else "")
            out.append(
                Entry(
                    kind,
                    f"*{sub}*",
                    impl,
                    APPROXIMATED,
                    params={"contains": sub, "excludes": excl},
                    note=f"{rule}: {_NOTES[impl]}",
                )
            )
    return tuple(out)


ENTRIES = _entries()
IMPL_KEYS = frozenset(_NOTES)


def match(
    kind: str, name: str, resource_id: str = "", registry: Registry | None = None, effect_id: str = ""
) -> Entry | None:
    """The registry entry for a filter/effect: by catalogue id (resource or effect id) or
    exact name first, then the first substring rule the name matches; None when nothing
    matches."""
    if registry is not None:
        hit = registry.lookup(kind, name, resource_id, effect_id)
        if hit is not None:
            return hit
        rules = [e for e in registry.entries(kind) if e.params.get("contains")]
    else:
        impl = EXACT_NAMES.get(kind, {}).get(name)
        if impl is not None:
            return next(e for e in ENTRIES if e.kind == kind and e.name == name)
        rules = [e for e in ENTRIES if e.kind == kind and e.params.get("contains")]
    for e in rules:
        sub, excludes = e.params["contains"], e.params.get("excludes", ())
        if not isinstance(sub, str) or not isinstance(excludes, tuple):
            continue  # not a name rule (the rules above hold a str and a tuple of str)
        if sub in name and not any(x in name for x in excludes):
            return e
    return None


# -- resolved specs ------------------------------------------------------------------------

INTENSITY_PARAMS = (
    "effects_adjust_intensity",
    "effects_adjust_filter",
    "effects_adjust_blur",
    "effects_adjust_size",
    "effects_adjust_noise",
    "effects_adjust_sharpen",
    "effects_adjust_range",
    "effects_adjust_luminance",
    "effects_adjust_number",
)


@dataclass(frozen=True, slots=True)
class AdjustSpec:
    """One filter or effect resolved to a family, with its strength."""

    kind: str  # "filter" | "effect"
    impl: str  # family key (see _NOTES)
    name: str
    resource_id: str = ""
    strength: float = 1.0  # 0 = unchanged, 1 = full look (up to 2)
    speed: float = 1.0  # rate multiplier of periodic effects
    seed: int = 0  # per-item noise seed


def _param(params: Iterable[object] | None, name: str) -> dict[str, object] | None:
    for p in params or ():
        if isinstance(p, dict) and p.get("name") == name:
            return p
    return None


def _number(value: object, default: float) -> float:
    """``value`` as a finite float, else ``default`` (effect parameters are cosmetic: a
    malformed one must not stop the render)."""
    if not isinstance(value, (int, float, str)):  # JSON's other values (null, list, object)
        return default
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return f if math.isfinite(f) else default


def strength_and_speed(kind: str, value: float, adjust_params: Iterable[object] | None) -> tuple[float, float]:
    """(strength, speed) of a filter/effect material (see module doc)."""
    s = _number(value, 1.0)
    speed = 1.0
    if kind == "effect":
        for name in INTENSITY_PARAMS:
            p = _param(adjust_params, name)
            if p is not None:
                v, d = _number(p.get("value"), 0.0), _number(p.get("default_value"), 0.0)
                if d > 0:
                    s *= v / d
                break
        p = _param(adjust_params, "effects_adjust_speed")
        if p is not None:
            v, d = _number(p.get("value"), 0.0), _number(p.get("default_value"), 0.0)
            if d > 0 and v > 0:
                speed = v / d
    return min(max(s, 0.0), 2.0), min(max(speed, 0.05), 20.0)


def adjust_spec(kind: str, entry: Entry, material: EffectMaterial) -> AdjustSpec:
    strength, speed = strength_and_speed(kind, material.value, material.adjust_params)
    return AdjustSpec(
        kind=kind,
        impl=entry.impl,
        name=material.name,
        resource_id=material.resource_id,
        strength=strength,
        speed=speed,
        seed=zlib.crc32(material.id.encode()) & 0x7FFFFFFF,
    )
