"""What every segment kind shares: transform, keyframes, speed, animations, and the warnings
for attachments nothing renders or a material that is missing (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from ..effects.animation import AnimationSpec
from ..draft import (
    AnimationContainer,
    AudioEffectMaterial,
    ChromaMaterial,
    EffectMaterial,
    MaskMaterial,
    Segment,
    SpeedMaterial,
)
from ..registry import APPROXIMATED, Registry
from ..timeline import ClipTransform
from .collector import WarningSubject, WarningLog


def clip_transform(seg: Segment) -> ClipTransform:
    c = seg.clip
    if c is None:
        return ClipTransform()
    return ClipTransform(
        alpha=c.alpha,
        rotation=c.rotation,
        scale_x=c.scale.x,
        scale_y=c.scale.y,
        x=c.transform.x,
        y=c.transform.y,
        flip_h=c.flip.horizontal,
        flip_v=c.flip.vertical,
    )


def keyframes(
    seg: Segment, warnings: WarningLog, allowed: set[str]
) -> tuple[tuple[str, tuple[tuple[int, float], ...]], ...]:
    """``((property, ((offset µs, value), ...)), ...)`` of the keyframed properties in ``allowed``."""
    out: list[tuple[str, tuple[tuple[int, float], ...]]] = []
    for kl in seg.common_keyframes:
        pts = sorted(
            (
                (max(0, min(k.time_offset, seg.target_timerange.duration)), float(k.values[0]))
                for k in kl.keyframe_list
                if k.values
            ),
            key=lambda p: p[0],
        )
        if not pts:
            continue
        if kl.property_type not in allowed:
            warnings.skip(
                "keyframe", name=kl.property_type, segment_id=seg.id, message="keyframed property not rendered"
            )
            continue
        curves = {k.curveType for k in kl.keyframe_list} - {"Line", ""}
        if curves:
            warnings.approximate(
                "keyframe",
                name=kl.property_type,
                segment_id=seg.id,
                message=f"curve types {sorted(curves)} interpolated linearly",
            )
        out.append((kl.property_type, tuple(pts)))
    return tuple(out)


def speed(seg: Segment, attachments: Sequence[tuple[str, object]], warnings: WarningLog, fps: Fraction) -> float:
    value = seg.speed if seg.speed > 0 else 1.0
    for _, obj in attachments:
        if isinstance(obj, SpeedMaterial) and (obj.mode != 0 or obj.curve_speed is not None):
            curve_name = obj.curve_speed.get("name", "") if isinstance(obj.curve_speed, dict) else ""
            warnings.about(seg).approximate(
                "speed", name=str(curve_name or ""), message="speed curve played at its constant average speed"
            )
            if seg.source_timerange and seg.target_timerange.duration:
                value = seg.source_timerange.duration / seg.target_timerange.duration
    src, tgt = seg.source_timerange, seg.target_timerange
    if src is not None and tgt.duration > 0 and src.duration > 0:
        derived = src.duration / tgt.duration
        # Disagreement beyond one frame of drift over the segment: trust the two durations.
        if abs(derived - value) * tgt.duration > 1_000_000 / float(fps):
            value = derived
    return value


def note_unrendered(
    seg: Segment, attachments: Sequence[tuple[str, object]], warnings: WarningLog, *, visual: bool = False
) -> None:
    """Warn about attachments nothing renders; ``visual``: masks, filters, effects and mix
    modes are handled by :func:`compositor.resolve.video.visual_extras` (video segments)."""
    about = warnings.about(seg)
    for _, obj in attachments:
        if visual and (
            isinstance(obj, MaskMaterial)
            or (
                isinstance(obj, EffectMaterial)
                and obj.type in ("filter", "mix_mode", "video_effect", "face_effect", "")
            )
        ):
            continue
        if isinstance(obj, MaskMaterial):
            about.skip("mask", name=obj.name, resource_id=obj.resource_id)
        elif isinstance(obj, EffectMaterial):
            kind = {
                "filter": "filter",
                "mix_mode": "mix_mode",
                "text_shape": "text_bubble",
                "text_effect": "text_effect",
            }.get(obj.type, "effect")
            about.skip(kind, name=obj.name, resource_id=obj.resource_id)
        elif isinstance(obj, AudioEffectMaterial):
            about.skip("audio_effect", name=obj.name, resource_id=obj.resource_id)
        elif isinstance(obj, ChromaMaterial):
            about.skip("chroma")


def animations(
    seg: Segment, attachments: Sequence[tuple[str, object]], registry: Registry, warnings: WarningLog
) -> tuple[AnimationSpec, ...]:
    """Resolve a segment's animation container against the registry (docs/format.md#animations)."""
    out: list[AnimationSpec] = []
    for _, obj in attachments:
        if not isinstance(obj, AnimationContainer):
            continue
        for a in obj.animations:
            span = WarningSubject(
                segment_id=seg.id,
                resource_id=a.resource_id,
                name=f"{a.type}:{a.name}",
                start_us=seg.target_timerange.start + a.start,
                end_us=seg.target_timerange.start + a.start + a.duration,
            )
            entry = registry.lookup(f"animation_{a.type}", a.name, a.resource_id, a.id)
            if entry is None:
                warnings.skip("animation", **span, message="no implementation; drawn without it")
                continue
            if entry.status == APPROXIMATED:
                warnings.approximate("animation", **span, message=entry.note)
            out.append(
                AnimationSpec(
                    type=a.type,
                    name=a.name,
                    impl=entry.impl,
                    start_us=a.start,
                    duration_us=a.duration,
                    resource_id=a.resource_id,
                )
            )
    return tuple(out)


def missing_material(seg: Segment, kind: str, path: str, warnings: WarningLog) -> None:
    """A segment whose material is not in the draft: skipped (JianYing shows missing media)."""
    warnings.about(seg).skip(
        "media",
        message=f"{kind} material {seg.material_id!r} is not in the draft ({path}.material_id); segment not drawn",
    )
