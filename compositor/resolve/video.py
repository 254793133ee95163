"""Video tracks: media and photo segments (and compound clips) as visual clips, with crop,
fit, canvas fill, mask, mix mode, attached filters and transitions; their soundtracks (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from dataclasses import replace
from fractions import Fraction

from .. import compound
from ..draft import CanvasMaterial, Crop, EffectMaterial, MaskMaterial, TransitionMaterial, Track
from ..errors import DraftError
from ..effects.filters import AdjustSpec
from ..geometry import Affine, metadata_rotation
from ..effects.masks import MaskSpec, mask_spec, resolve_impl as mask_impl
from ..registry import APPROXIMATED, Registry
from ..timeline import VISUAL_PROPERTIES, AudioClip, BackgroundSpec, MediaFacts, TransitionSpan, VisualClip, VisualTrack
from ..effects.transitions import FALLBACK as TRANSITION_FALLBACK
from .adjustment import adjust_entry
from .audio import fades_us, sound
from .collector import SegmentWarnings, WarningLog
from .index import MaterialIndex
from .segment import animations, clip_transform, keyframes, missing_material, note_unrendered, speed as segment_speed

if TYPE_CHECKING:  # handed in by the resolver, never imported here
    from ..text.engine import TextEngine


def video_track(
    track: Track,
    z: int,
    pos: int,
    tpath: str,
    *,
    idx: MaterialIndex,
    warnings: WarningLog,
    media: dict[str, MediaFacts],
    registry: Registry,
    fps: Fraction,
    canvas_w: int,
    canvas_h: int,
    canvas_to_output: Affine,
    level: compound.Level,
    expansions: compound.Expansions,
    text_engine: TextEngine | None,
    bottom_video_pos: int | None,
    video_mute: bool,
    audio: list[AudioClip],
) -> VisualTrack | None:
    """The visual clips of a video track; the sound of its segments is appended to ``audio``.

    ``pos`` is the track's position in the draft (``bottom_video_pos``: the lowest video track,
    which carries the canvas fill and, with ``video_mute``, is silent)."""
    cw, ch = canvas_w, canvas_h
    clips: list[VisualClip] = []
    segs = sorted(enumerate(track.segments), key=lambda p: p[1].target_timerange.start)
    for si, seg in segs:
        spath = f"{tpath}.segments[{si}]"
        mat = idx.videos.get(seg.material_id)
        if mat is None:
            missing_material(seg, "video", spath, warnings)
            continue
        expanded = None
        if compound.find_entry(seg, mat, level) is not None:
            if seg.target_timerange.duration <= 0:
                continue
            expanded = compound.expand(
                seg,
                mat,
                level,
                spath,
                media=media,
                canvas_w=cw,
                canvas_h=ch,
                out_scale=abs(canvas_to_output.a),
                fps=fps,
                registry=registry,
                text_engine=text_engine,
                expansions=expansions,
                warnings=warnings.items,
                overlay=pos != bottom_video_pos,
            )
            if expanded is None:
                continue  # not drawn; expand() said why
        facts = expanded.facts if expanded is not None else media.get(mat.id)
        if facts is None:
            raise DraftError(f"no media for material {mat.id!r} ({mat.path})", spath + ".material_id")
        atts = idx.attachments(seg)
        note_unrendered(seg, atts, warnings, visual=True)
        if seg.target_timerange.duration <= 0:
            continue
        speed = segment_speed(seg, atts, warnings, fps)
        about = warnings.about(seg)
        # Trust the file's content over the material's type: a "photo" that is really a
        # video plays as a video, a "video" that is a still image is drawn as a still.
        is_still = facts.kind == "image"
        if (
            facts.has_audio
            and not is_still
            and seg.volume > 0
            and not track.muted
            and not (video_mute and pos == bottom_video_pos)
        ):
            audio.append(sound(seg, atts, facts, speed))
        elif expanded is not None and not track.muted and not (video_mute and pos == bottom_video_pos):
            audio.extend(
                compound.lift_audio(
                    expanded.timeline, seg, speed, seg.reverse, warnings.items, outer_fades=fades_us(atts)
                )
            )
        if not seg.visible:
            continue
        if not facts.has_video and not is_still:
            about.skip("media", name=mat.material_name, message="the file has no picture (audio only); its sound plays")
            continue
        if seg.reverse and not is_still and facts.has_audio and seg.volume > 0:
            about.approximate("reverse", message="the picture plays backwards; its sound plays forwards")
        crop_px, base = crop_and_base(mat.crop, facts, cw, ch)
        if not mat.crop.is_rectangular():
            warnings.approximate("crop", segment_id=seg.id, message="non-rectangular crop drawn as its bounding box")
        src = seg.source_timerange or type(seg.target_timerange)(0, seg.target_timerange.duration)
        mask, mix_mode, seg_filters = visual_extras(atts, registry, about, crop_px, facts.rotation)
        clips.append(
            VisualClip(
                segment_id=seg.id,
                material_id=mat.id,
                media_key=facts.path,
                is_still=is_still,
                has_alpha=facts.has_alpha,
                target_start_us=seg.target_timerange.start,
                target_duration_us=seg.target_timerange.duration,
                source_start_us=0 if is_still else src.start,
                source_duration_us=src.duration,
                speed=1.0 if is_still else speed,
                reverse=seg.reverse and not is_still,
                media_duration_us=facts.duration_us,
                crop_px=crop_px,
                base=base,
                static=clip_transform(seg),
                keyframes=keyframes(seg, warnings, VISUAL_PROPERTIES | {"KFTypeVolume"}),
                uniform_scale=seg.uniform_scale.on if seg.uniform_scale else True,
                background=background(atts, spath, media, about) if pos == bottom_video_pos else None,
                animations=animations(seg, atts, registry, warnings),
                mask=mask,
                mix_mode=mix_mode,
                filters=seg_filters,
                kind=compound.KIND if expanded is not None else "media",
            )
        )
    clips = attach_transitions(clips, track, idx, fps, registry, warnings)
    if not clips:
        return None
    return VisualTrack(z=z, track_id=track.id, clips=tuple(clips))


def crop_and_base(crop: Crop, facts: MediaFacts, cw: int, ch: int) -> tuple[tuple[int, int, int, int], Affine]:
    """Crop rectangle in coded pixels and the base transform of a video/photo material."""
    fx0, fy0, fx1, fy1 = crop.rect()
    fx0, fy0 = min(max(fx0, 0.0), 1.0), min(max(fy0, 0.0), 1.0)
    fx1, fy1 = min(max(fx1, fx0), 1.0), min(max(fy1, fy0), 1.0)
    to_display = metadata_rotation(facts.coded_width, facts.coded_height, facts.rotation)
    to_coded = to_display.inverse()
    dw, dh = facts.width, facts.height
    x0, y0, x1, y1 = rect_bounds(to_coded, fx0 * dw, fy0 * dh, fx1 * dw, fy1 * dh)
    # Even-aligned origin keeps the chroma planes in step with luma.
    ix0 = max(0, int(x0) & ~1)
    iy0 = max(0, int(y0) & ~1)
    ix1 = min(facts.coded_width, max(ix0 + 1, int(round(x1))))
    iy1 = min(facts.coded_height, max(iy0 + 1, int(round(y1))))
    cw_px, ch_px = ix1 - ix0, iy1 - iy0
    rot = metadata_rotation(cw_px, ch_px, facts.rotation)
    disp_w, disp_h = (ch_px, cw_px) if facts.rotation % 180 else (cw_px, ch_px)
    s_fit = min(cw / disp_w, ch / disp_h)
    base = rot.then(Affine.translate(-disp_w / 2, -disp_h / 2)).then(Affine.scale(s_fit))
    return (ix0, iy0, ix1, iy1), base


def rect_bounds(m: Affine, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    pts = [m.apply(x, y) for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    return (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))


def parse_rgba(color: str) -> tuple[int, int, int, int]:
    s = color.lstrip("#")
    try:
        if len(s) == 6:
            return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16), 255
        if len(s) == 8:
            return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16), int(s[6:8], 16)
    except ValueError:
        pass
    raise ValueError(f"not a #RRGGBB[AA] colour: {color!r}")


def background(
    attachments: Sequence[tuple[str, object]], path: str, media: dict[str, MediaFacts], about: SegmentWarnings
) -> BackgroundSpec | None:
    """The canvas fill of a segment on the bottom video track (None: black)."""
    for _, obj in attachments:
        if not isinstance(obj, CanvasMaterial):
            continue
        if obj.type == "canvas_blur":
            # 0..1 as JianYing writes it; above → 1, below or not a number → the app's default
            blur = obj.blur if 0.0 <= obj.blur <= 1.0 else (1.0 if obj.blur > 1.0 else 0.0625)
            return BackgroundSpec(kind="blur", blur=blur)
        if obj.type == "canvas_image":
            facts = media.get(obj.id)
            if facts is not None:
                return BackgroundSpec(kind="image", image_path=facts.path, image_size=(facts.width, facts.height))
            about.skip(
                "canvas",
                name="canvas_image",
                message=f"background image {obj.image!r} could not be loaded; black instead",
            )
            return None
        if not obj.color.strip():
            return None  # "" = no canvas fill (JianYing/CapCut exports)
        try:
            rgba = parse_rgba(obj.color)
        except ValueError as exc:
            about.skip("canvas", name="canvas_color", message=f"{exc} (at {path}); black instead")
            return None
        return BackgroundSpec(kind="color", rgba=rgba)
    return None


def visual_extras(
    atts: Sequence[tuple[str, object]],
    registry: Registry,
    about: SegmentWarnings,
    crop_px: tuple[int, int, int, int],
    rotation: int,
) -> tuple[MaskSpec | None, str, tuple[AdjustSpec, ...]]:
    """Mask, mix mode and segment-attached filters/effects of a video/photo segment."""
    mask, mix_mode, filters = None, "", []
    for _, obj in atts:
        if isinstance(obj, MaskMaterial):
            if mask is not None:
                continue  # one mask per segment (pyJianYingDraft writes both lists)
            impl = mask_impl(obj, registry)
            if impl is None:
                about.skip("mask", name=obj.name, resource_id=obj.resource_id, message="unknown mask shape")
                continue
            entry = registry.lookup("mask", obj.name, obj.resource_id, obj.effect_id) or registry.lookup("mask", impl)
            if entry is not None and entry.status == APPROXIMATED:
                about.approximate("mask", name=obj.name, resource_id=obj.resource_id, message=entry.note)
            mask = mask_spec(obj, impl, crop_px[2] - crop_px[0], crop_px[3] - crop_px[1], rotation)
        elif isinstance(obj, EffectMaterial) and obj.type == "mix_mode":
            entry = registry.lookup("mix_mode", obj.name, obj.resource_id, obj.effect_id)
            if entry is None:
                about.skip(
                    "mix_mode", name=obj.name, resource_id=obj.resource_id, message="unknown mix mode; drawn normally"
                )
                continue
            if entry.status == APPROXIMATED:
                about.approximate("mix_mode", name=obj.name, resource_id=obj.resource_id, message=entry.note)
            mix_mode = entry.impl
        elif isinstance(obj, EffectMaterial) and obj.type in ("filter", "video_effect", "face_effect", ""):
            kind = "filter" if obj.type == "filter" else "effect"
            spec = adjust_entry(kind, obj, registry, about)
            if spec is not None:
                filters.append(spec)
    return mask, mix_mode, tuple(filters)


def attach_transitions(
    clips: list[VisualClip], track: Track, idx: MaterialIndex, fps: Fraction, registry: Registry, warnings: WarningLog
) -> list[VisualClip]:
    """Each clip's transition to the next clip (a window centred on the cut), when they touch."""
    frame_us = 1_000_000 / float(fps)
    by_seg = {s.id: s for s in track.segments}
    out = list(clips)
    for i, a in enumerate(clips):
        seg = by_seg[a.segment_id]
        tr = next((obj for _, obj in idx.attachments(seg) if isinstance(obj, TransitionMaterial)), None)
        if tr is None:
            continue
        b = clips[i + 1] if i + 1 < len(clips) else None
        if b is None or abs(b.target_start_us - a.target_end_us) > frame_us or tr.duration <= 0:
            warnings.skip(
                "transition",
                name=tr.name,
                resource_id=tr.resource_id,
                segment_id=a.segment_id,
                message="no adjacent next clip on the track",
            )
            continue
        d = min(tr.duration, a.target_duration_us, b.target_duration_us)
        cut = b.target_start_us
        start = cut - d // 2
        entry = registry.lookup("transition", tr.name, tr.resource_id, tr.effect_id)
        impl = entry.impl if entry is not None else TRANSITION_FALLBACK
        if entry is None or entry.status == APPROXIMATED:
            warnings.approximate(
                "transition",
                name=tr.name,
                resource_id=tr.resource_id,
                segment_id=a.segment_id,
                start_us=start,
                end_us=start + d,
                message=entry.note if entry is not None else f"unknown transition drawn as {TRANSITION_FALLBACK}",
            )
        out[i] = replace(
            out[i],
            transition_out=TransitionSpan(
                name=tr.name,
                resource_id=tr.resource_id,
                impl=impl,
                start_us=start,
                end_us=start + d,
                is_overlap=tr.is_overlap,
            ),
        )
    return out
