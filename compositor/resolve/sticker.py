"""Sticker tracks: stickers whose image could be loaded, drawn as still pictures (pure)."""

from __future__ import annotations

from ..draft import Track
from ..registry import Registry
from ..effects.stickers import sticker_base
from ..timeline import VISUAL_PROPERTIES, MediaFacts, VisualClip, VisualTrack
from .collector import WarningLog
from .index import MaterialIndex
from .segment import animations, clip_transform, keyframes, note_unrendered


def sticker_track(
    track: Track,
    z: int,
    idx: MaterialIndex,
    warnings: WarningLog,
    media: dict[str, MediaFacts],
    registry: Registry,
    cw: int,
    ch: int,
) -> VisualTrack | None:
    """Sticker segments (docs/format.md#stickers): drawn when their image could be loaded (``media`` holds
    facts for the sticker material, see :mod:`compositor.stickers`), else skipped with a warning."""
    clips: list[VisualClip] = []
    for seg in sorted(track.segments, key=lambda s: s.target_timerange.start):
        mat = idx.stickers.get(seg.material_id)
        about = warnings.about(seg)
        if mat is None:
            about.skip("sticker", message="sticker material not found")
            continue
        atts = idx.attachments(seg)
        note_unrendered(seg, atts, warnings)
        facts = media.get(mat.id)
        if facts is None:
            about.skip(
                "sticker",
                resource_id=mat.resource_id,
                message="JianYing-only sticker artwork (no image path; add its resource id to a sticker table)",
            )
            continue
        if seg.target_timerange.duration <= 0 or not seg.visible:
            continue
        entry = registry.lookup("sticker", "image sticker")
        about.approximate(
            "sticker",
            resource_id=mat.resource_id,
            message=entry.note if entry is not None else "drawn as a still image",
        )
        w, h = facts.width, facts.height
        clips.append(
            VisualClip(
                segment_id=seg.id,
                material_id=mat.id,
                media_key=facts.path,
                is_still=True,
                has_alpha=facts.has_alpha,
                target_start_us=seg.target_timerange.start,
                target_duration_us=seg.target_timerange.duration,
                source_start_us=0,
                source_duration_us=seg.target_timerange.duration,
                speed=1.0,
                reverse=False,
                media_duration_us=0,
                crop_px=(0, 0, w, h),
                base=sticker_base(w, h, cw, ch),
                static=clip_transform(seg),
                keyframes=keyframes(seg, warnings, VISUAL_PROPERTIES),
                uniform_scale=seg.uniform_scale.on if seg.uniform_scale else True,
                animations=animations(seg, atts, registry, warnings),
            )
        )
    if not clips:
        return None
    return VisualTrack(z=z, track_id=track.id, clips=tuple(clips))
