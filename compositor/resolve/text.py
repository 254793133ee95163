"""Text tracks: each caption laid out by the text engine becomes a clip whose picture is its
text raster (pure, given the engine: font files are its only I/O)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..draft import EffectMaterial, Track
from ..geometry import Affine
from ..registry import Registry
from ..timeline import VISUAL_PROPERTIES, ClipTransform, VisualClip, VisualTrack
from .collector import WarningLog
from .index import MaterialIndex
from .segment import animations, clip_transform, keyframes, missing_material, note_unrendered

if TYPE_CHECKING:  # the engine is handed in: resolve never imports the text package's pixel code
    from ..text.engine import TextEngine


def text_track(
    track: Track,
    z: int,
    idx: MaterialIndex,
    warnings: WarningLog,
    registry: Registry,
    cw: int,
    ch: int,
    canvas_to_output: Affine,
    tpath: str,
    engine: TextEngine,
) -> VisualTrack | None:
    """Text segments (docs/format.md#text): each becomes a VisualClip whose picture is its text raster.

    The laid-out text block is the element's base size, centred at the clip centre; from
    there on clip scale/rotation/flip, keyframes, alpha and animations apply as to a photo.
    The raster scale follows the output scale and the largest clip scale (sharp glyphs), and
    its grid is phased so that a static, unrotated caption lands on even whole output pixels.
    """
    from .. import text as textmod

    out_scale = abs(canvas_to_output.a)
    clips: list[VisualClip] = []
    for si, seg in sorted(enumerate(track.segments), key=lambda p: p[1].target_timerange.start):
        spath = f"{tpath}.segments[{si}]"
        mat = idx.texts.get(seg.material_id)
        if mat is None:
            missing_material(seg, "text", spath, warnings)
            continue
        atts = idx.attachments(seg)
        about = warnings.about(seg)
        bubble = effect = ""
        others = []
        for list_name, obj in atts:
            if isinstance(obj, EffectMaterial) and obj.type == "text_shape":
                bubble = obj.resource_id or obj.effect_id or obj.id
            elif isinstance(obj, EffectMaterial) and obj.type == "text_effect":
                effect = obj.resource_id or obj.effect_id or obj.id
            else:
                others.append((list_name, obj))
        note_unrendered(seg, others, warnings)
        if seg.target_timerange.duration <= 0 or not seg.visible:
            continue
        static = clip_transform(seg)
        kfs = keyframes(seg, warnings, VISUAL_PROPERTIES)
        scale = text_raster_scale(static, kfs) * out_scale
        spec = textmod.TextSpec.of(mat, bubble=bubble, effect=effect)
        phase = (0.0, 0.0)
        moving = any(name != "KFTypeAlpha" for name, _ in kfs)
        if (
            not moving
            and static.rotation % 360 == 0
            and abs(abs(static.scale_x) * out_scale - scale) < 1e-9
            and abs(abs(static.scale_y) * out_scale - scale) < 1e-9
        ):
            cx, cy = canvas_to_output.apply(cw / 2 + static.x * cw / 2, ch / 2 - static.y * ch / 2)
            phase = (cx % 2.0, cy % 2.0)
        layer = engine.layer(spec, cw, ch, scale, phase)
        for note in layer.notes:
            about.add("text", note.status, name=note.name, resource_id=note.resource_id, message=note.message)
        if not layer.layout.glyphs and layer.box is None:
            continue
        rx, ry = layer.centre
        base = Affine.translate(-rx, -ry).then(Affine.scale(1.0 / layer.geo.scale))
        clips.append(
            VisualClip(
                segment_id=seg.id,
                material_id=mat.id,
                media_key=layer.key,
                is_still=True,
                has_alpha=True,
                target_start_us=seg.target_timerange.start,
                target_duration_us=seg.target_timerange.duration,
                source_start_us=0,
                source_duration_us=seg.target_timerange.duration,
                speed=1.0,
                reverse=False,
                media_duration_us=0,
                crop_px=(0, 0, layer.width, layer.height),
                base=base,
                static=static,
                keyframes=kfs,
                uniform_scale=seg.uniform_scale.on if seg.uniform_scale else True,
                animations=animations(seg, atts, registry, warnings),
                kind="text",
                text=layer,
            )
        )
    if not clips:
        return None
    return VisualTrack(z=z, track_id=track.id, clips=tuple(clips))


def text_raster_scale(static: ClipTransform, kfs: tuple[tuple[str, tuple[tuple[int, float], ...]], ...]) -> float:
    """Raster pixels per canvas pixel for a text clip: its largest |scale| (static or keyframed)."""
    values = [abs(static.scale_x), abs(static.scale_y)]
    for name, pts in kfs:
        if name in ("KFTypeScaleX", "KFTypeScaleY", "UNIFORM_SCALE"):
            values.extend(abs(v) for _, v in pts)
    return min(max(max(values), 1.0 / 16), 4.0)
