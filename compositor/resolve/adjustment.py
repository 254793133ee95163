"""Effect and filter tracks: adjustment layers over everything below, and the filter/effect
materials attached to one segment (pure)."""

from __future__ import annotations

from ..draft import EffectMaterial, Track
from ..effects.filters import AdjustSpec, adjust_spec, match as match_adjust
from ..registry import Registry
from ..timeline import AdjustmentClip, AdjustmentTrack
from .collector import SegmentWarnings, WarningSubject, WarningLog
from .index import MaterialIndex


def adjust_entry(kind: str, obj: EffectMaterial, registry: Registry, about: SegmentWarnings) -> AdjustSpec | None:
    """Resolve a filter / effect material to an AdjustSpec (warning: approximated or skipped)."""
    ident = WarningSubject(name=obj.name, resource_id=obj.resource_id)
    if obj.type == "face_effect":
        about.skip(kind, **ident, message="face/character effects are not rendered")
        return None
    entry = match_adjust(kind, obj.name, obj.resource_id, registry, effect_id=obj.effect_id)
    if entry is None:
        about.skip(kind, **ident, message="no approximation for this name; drawn unchanged")
        return None
    about.add(kind, entry.status, **ident, message=entry.note)
    return adjust_spec(kind, entry, obj)


def adjustment_track(
    track: Track, z: int, idx: MaterialIndex, warnings: WarningLog, registry: Registry
) -> AdjustmentTrack | None:
    """Effect and filter tracks: adjustment layers over everything below (docs/format.md#effects-and-filters)."""
    clips: list[AdjustmentClip] = []
    for seg in sorted(track.segments, key=lambda s: s.target_timerange.start):
        about = warnings.about(seg)
        if track.type == "effect":
            obj, kind = idx.video_effects.get(seg.material_id), "effect"
        elif track.type == "filter":
            obj, kind = idx.effects.get(seg.material_id), "filter"
        else:
            obj, kind = None, "adjust"
        if obj is None:
            about.skip(kind, message="adjustment layer material not found or not supported")
            continue
        if seg.target_timerange.duration <= 0 or not seg.visible:
            continue
        spec = adjust_entry(kind, obj, registry, about)
        if spec is not None:
            clips.append(
                AdjustmentClip(
                    segment_id=seg.id,
                    target_start_us=seg.target_timerange.start,
                    target_duration_us=seg.target_timerange.duration,
                    spec=spec,
                )
            )
    if not clips:
        return None
    return AdjustmentTrack(z=z, track_id=track.id, clips=tuple(clips))
