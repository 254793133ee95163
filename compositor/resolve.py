"""Resolve a draft into a render timeline (pure, given its inputs).

``resolve(draft, media, options)`` turns the JSON model (:mod:`compositor.draft`) into a
:class:`compositor.timeline.Timeline`: z-order, source/target ranges, speed, fitted
geometry, keyframes, transitions and their windows, canvas fills, audio clips, attachments
looked up in the effect registry, and a warning for everything not rendered exactly.
Facts about media files (decoded size, rotation, duration, audio) are passed in; text is
laid out by a text engine passed in (font files are its only I/O).
"""
from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

from . import compound, timebase
from .draft import (AnimationContainer, AudioEffectMaterial, AudioFade, CanvasMaterial, ChromaMaterial,
                    Draft, EffectMaterial, MaskMaterial, Segment, SpeedMaterial, TransitionMaterial)
from .errors import DraftEmpty, DraftError, OptionsError
from .effects.animation import AnimationSpec
from .geometry import Affine, metadata_rotation
from .registry import APPROXIMATED, Registry, default_registry
from .effects.filters import AdjustSpec, adjust_spec, match as match_adjust
from .effects.masks import MaskSpec, mask_spec, resolve_impl as mask_impl
from .effects.stickers import sticker_base
from .effects.transitions import FALLBACK as TRANSITION_FALLBACK
from .warnings import RenderWarning

from .timeline import (VISUAL_PROPERTIES, AdjustmentClip, AdjustmentTrack, AudioClip, BackgroundSpec,
                       ClipTransform, MediaFacts, OutputOptions, Timeline, TransitionSpan, VisualClip,
                       VisualTrack)


class _Index:
    """``id -> (list name, object)`` over every material list (spec §5.2)."""

    def __init__(self, draft: Draft):
        self.by_id: dict[str, tuple[str, object]] = {}
        m = draft.materials
        for name in m.__struct_fields__:
            for obj in getattr(m, name):
                self.by_id.setdefault(obj.id, (name, obj))
        self.videos = {v.id: v for v in m.videos}
        self.audios = {a.id: a for a in m.audios}
        self.texts = {t.id: t for t in m.texts}
        self.stickers = {s.id: s for s in m.stickers}
        self.video_effects = {e.id: e for e in m.video_effects}
        self.effects = {e.id: e for e in m.effects}

    def attachments(self, seg: Segment) -> list[tuple[str, object]]:
        return [self.by_id[r] for r in seg.extra_material_refs if r in self.by_id]


def _z_order(draft: Draft, warnings: list[RenderWarning]) -> list[int]:
    """Track positions bottom first, by (first segment's render_index, array position).

    A note is given only when that order puts two visual tracks that are on screen at the
    same time in the other order than the array does (otherwise the order changes nothing)."""
    keyed = []
    for pos, track in enumerate(draft.tracks):
        if not track.segments:
            continue
        keyed.append((track.segments[0].render_index, pos))
    order = [pos for _, pos in sorted(keyed)]
    rank = {pos: i for i, pos in enumerate(order)}
    visual = [p for p in order if draft.tracks[p].type != "audio"]
    swapped = [(a, b) for i, a in enumerate(visual) for b in visual[i + 1:]
               if (a < b) != (rank[a] < rank[b]) and _overlap(draft.tracks[a], draft.tracks[b])]
    if swapped:
        a, b = swapped[0]
        warnings.append(RenderWarning(kind="layer_order", status="note",
                                      message=f"tracks are drawn by render_index, not array order: "
                                              f"$.tracks[{max(a, b)}] is drawn under $.tracks[{min(a, b)}] "
                                              f"({len(swapped)} overlapping pair(s) reordered)"))
    return order


def _overlap(a, b) -> bool:
    """True when a segment of track ``a`` and one of track ``b`` share some time."""
    return any(x.target_timerange.start < y.target_timerange.end and y.target_timerange.start < x.target_timerange.end
               for x in a.segments if x.target_timerange.duration > 0
               for y in b.segments if y.target_timerange.duration > 0)


def _output_geometry(draft: Draft, options: OutputOptions) -> tuple[int, int, Affine]:
    cw, ch = draft.canvas_config.width, draft.canvas_config.height
    w, h = options.size_for(cw, ch)
    if w <= 0 or h <= 0 or w > 16384 or h > 16384:
        raise OptionsError(f"output size {w}x{h} is out of range")
    # yuv420p needs even sizes.
    w, h = w + (w & 1), h + (h & 1)
    s = min(w / cw, h / ch)
    m = Affine.scale(s).then(Affine.translate((w - cw * s) / 2, (h - ch * s) / 2))
    return w, h, m


def _crop_and_base(crop, facts: MediaFacts, cw: int, ch: int) -> tuple[tuple[int, int, int, int], Affine]:
    """Crop rectangle in coded pixels and the base transform of a video/photo material."""
    fx0, fy0, fx1, fy1 = crop.rect()
    fx0, fy0 = min(max(fx0, 0.0), 1.0), min(max(fy0, 0.0), 1.0)
    fx1, fy1 = min(max(fx1, fx0), 1.0), min(max(fy1, fy0), 1.0)
    to_display = metadata_rotation(facts.coded_width, facts.coded_height, facts.rotation)
    to_coded = to_display.inverse()
    dw, dh = facts.width, facts.height
    x0, y0, x1, y1 = _rect_bounds(to_coded, fx0 * dw, fy0 * dh, fx1 * dw, fy1 * dh)
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


def _rect_bounds(m: Affine, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    pts = [m.apply(x, y) for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    return (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))


def _clip_transform(seg: Segment) -> ClipTransform:
    c = seg.clip
    if c is None:
        return ClipTransform()
    return ClipTransform(alpha=c.alpha, rotation=c.rotation, scale_x=c.scale.x, scale_y=c.scale.y,
                         x=c.transform.x, y=c.transform.y, flip_h=c.flip.horizontal, flip_v=c.flip.vertical)


def _keyframes(seg: Segment, path: str, warnings: list[RenderWarning], allowed: set[str]):
    out = []
    for li, kl in enumerate(seg.common_keyframes):
        pts = sorted(((max(0, min(k.time_offset, seg.target_timerange.duration)), float(k.values[0]))
                      for k in kl.keyframe_list if k.values), key=lambda p: p[0])
        if not pts:
            continue
        if kl.property_type not in allowed:
            warnings.append(RenderWarning(kind="keyframe", status="skipped", name=kl.property_type,
                                          segment_id=seg.id, message="keyframed property not rendered"))
            continue
        curves = {k.curveType for k in kl.keyframe_list} - {"Line", ""}
        if curves:
            warnings.append(RenderWarning(kind="keyframe", status="approximated", name=kl.property_type,
                                          segment_id=seg.id,
                                          message=f"curve types {sorted(curves)} interpolated linearly"))
        out.append((kl.property_type, tuple(pts)))
    return tuple(out)


def _speed(seg: Segment, attachments, warnings: list[RenderWarning], fps: Fraction) -> float:
    speed = seg.speed if seg.speed > 0 else 1.0
    for _, obj in attachments:
        if isinstance(obj, SpeedMaterial) and (obj.mode != 0 or obj.curve_speed is not None):
            curve_name = obj.curve_speed.get("name", "") if isinstance(obj.curve_speed, dict) else ""
            warnings.append(RenderWarning(kind="speed", status="approximated", segment_id=seg.id,
                                          name=str(curve_name or ""), start_us=seg.target_timerange.start,
                                          end_us=seg.target_timerange.end,
                                          message="speed curve played at its constant average speed"))
            if seg.source_timerange and seg.target_timerange.duration:
                speed = seg.source_timerange.duration / seg.target_timerange.duration
    src, tgt = seg.source_timerange, seg.target_timerange
    if src is not None and tgt.duration > 0 and src.duration > 0:
        derived = src.duration / tgt.duration
        # Disagreement beyond one frame of drift over the segment: trust the two durations.
        if abs(derived - speed) * tgt.duration > 1_000_000 / float(fps):
            speed = derived
    return speed


def _note_unrendered(seg: Segment, attachments, warnings: list[RenderWarning], *, visual: bool = False) -> None:
    """Warn about attachments nothing renders; ``visual``: masks, filters, effects and mix
    modes are handled by :func:`_visual_extras` (video segments)."""
    span = dict(segment_id=seg.id, start_us=seg.target_timerange.start, end_us=seg.target_timerange.end)
    for list_name, obj in attachments:
        if visual and (isinstance(obj, MaskMaterial) or (
                isinstance(obj, EffectMaterial) and obj.type in ("filter", "mix_mode", "video_effect",
                                                                 "face_effect", ""))):
            continue
        if isinstance(obj, MaskMaterial):
            warnings.append(RenderWarning(kind="mask", status="skipped", name=obj.name,
                                          resource_id=obj.resource_id, **span))
        elif isinstance(obj, EffectMaterial):
            kind = {"filter": "filter", "mix_mode": "mix_mode", "text_shape": "text_bubble",
                    "text_effect": "text_effect"}.get(obj.type, "effect")
            warnings.append(RenderWarning(kind=kind, status="skipped", name=obj.name,
                                          resource_id=obj.resource_id, **span))
        elif isinstance(obj, AudioEffectMaterial):
            warnings.append(RenderWarning(kind="audio_effect", status="skipped", name=obj.name,
                                          resource_id=obj.resource_id, **span))
        elif isinstance(obj, ChromaMaterial):
            warnings.append(RenderWarning(kind="chroma", status="skipped", **span))


def _animations(seg: Segment, attachments, registry: Registry,
                warnings: list[RenderWarning]) -> tuple[AnimationSpec, ...]:
    """Resolve a segment's animation container against the registry (spec §10)."""
    out = []
    for _, obj in attachments:
        if not isinstance(obj, AnimationContainer):
            continue
        for a in obj.animations:
            span = dict(segment_id=seg.id, resource_id=a.resource_id, name=f"{a.type}:{a.name}",
                        start_us=seg.target_timerange.start + a.start,
                        end_us=seg.target_timerange.start + a.start + a.duration)
            entry = registry.lookup(f"animation_{a.type}", a.name, a.resource_id, a.id)
            if entry is None:
                warnings.append(RenderWarning(kind="animation", status="skipped", **span,
                                              message="no implementation; drawn without it"))
                continue
            if entry.status == APPROXIMATED:
                warnings.append(RenderWarning(kind="animation", status="approximated", **span,
                                              message=entry.note))
            out.append(AnimationSpec(type=a.type, name=a.name, impl=entry.impl, start_us=a.start,
                                     duration_us=a.duration, resource_id=a.resource_id))
    return tuple(out)


def _parse_rgba(color: str) -> tuple[int, int, int, int]:
    s = color.lstrip("#")
    try:
        if len(s) == 6:
            return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16), 255
        if len(s) == 8:
            return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16), int(s[6:8], 16)
    except ValueError:
        pass
    raise ValueError(f"not a #RRGGBB[AA] colour: {color!r}")


def _background(seg: Segment, attachments, path: str, media: dict[str, MediaFacts] | None = None,
                warnings: list[RenderWarning] | None = None) -> BackgroundSpec | None:
    for _, obj in attachments:
        if not isinstance(obj, CanvasMaterial):
            continue
        if obj.type == "canvas_blur":
            # 0..1 as JianYing writes it; above → 1, below or not a number → the app's default
            blur = obj.blur if 0.0 <= obj.blur <= 1.0 else (1.0 if obj.blur > 1.0 else 0.0625)
            return BackgroundSpec(kind="blur", blur=blur)
        if obj.type == "canvas_image":
            facts = (media or {}).get(obj.id)
            if facts is not None:
                return BackgroundSpec(kind="image", image_path=facts.path, image_size=(facts.width, facts.height))
            if warnings is not None:
                warnings.append(RenderWarning(
                    kind="canvas", status="skipped", name="canvas_image", segment_id=seg.id,
                    start_us=seg.target_timerange.start, end_us=seg.target_timerange.end,
                    message=f"background image {obj.image!r} could not be loaded; black instead"))
            return None
        if not obj.color.strip():
            return None                           # "" = no canvas fill (JianYing/CapCut exports)
        try:
            rgba = _parse_rgba(obj.color)
        except ValueError as exc:
            if warnings is not None:
                warnings.append(RenderWarning(
                    kind="canvas", status="skipped", name="canvas_color", segment_id=seg.id,
                    start_us=seg.target_timerange.start, end_us=seg.target_timerange.end,
                    message=f"{exc} (at {path}); black instead"))
            return None
        return BackgroundSpec(kind="color", rgba=rgba)
    return None


def _missing_material(seg: Segment, kind: str, path: str, warnings: list[RenderWarning]) -> None:
    """A segment whose material is not in the draft: skipped (JianYing shows missing media)."""
    warnings.append(RenderWarning(kind="media", status="skipped", segment_id=seg.id,
                                  start_us=seg.target_timerange.start, end_us=seg.target_timerange.end,
                                  message=f"{kind} material {seg.material_id!r} is not in the draft "
                                          f"({path}.material_id); segment not drawn"))


def _dropped_value_warnings(draft: Draft) -> list[RenderWarning]:
    """One warning per value the parser ignored (wrong type; the default is used instead)."""
    return [RenderWarning(kind="draft_value", status="skipped", message=f"{text}; default used instead")
            for text in draft.dropped_values]


def check_not_empty(draft: Draft) -> int:
    """The end (µs) of the draft's last segment; raises DraftEmpty when nothing would render."""
    seg_end = max((s.target_timerange.end for t in draft.tracks for s in t.segments), default=0)
    if seg_end <= 0:
        raise DraftEmpty("the draft has no segment with a positive duration", "$.tracks")
    return seg_end


def resolve(draft: Draft, media: dict[str, MediaFacts], options: OutputOptions = OutputOptions(),
            registry: Registry | None = None, text_engine=None, *,
            _level: compound.Level | None = None) -> Timeline:
    """Build the :class:`Timeline` of ``draft``.

    ``media`` maps material ids (videos and audios) to facts about their files. A material
    missing from it raises :class:`DraftError` at the segment that uses it. ``registry``
    says which transitions, animations … have implementations (default: all of this build).
    ``text_engine`` (a :class:`compositor.text.TextEngine`) lays out captions; one is made
    from the environment's font settings when the draft has text and none is given (pass
    one in to reuse its font and glyph caches across drafts).
    Compound clips (:mod:`compositor.compound`) resolve to nested timelines; ``media``
    then also holds the facts of their materials. ``_level``: the nesting (internal).
    """
    registry = registry or default_registry()
    warnings: list[RenderWarning] = _dropped_value_warnings(draft)
    fps = timebase.fps_fraction(options.fps if options.fps is not None else draft.fps)
    idx = _Index(draft)
    level = (_level or compound.Level()).inside(draft)
    expansions = compound.Expansions()
    cw, ch = draft.canvas_config.width, draft.canvas_config.height
    out_w, out_h, canvas_to_output = _output_geometry(draft, options)
    if (out_w, out_h) != (options.width or out_w, options.height or out_h) or \
            (options.width is None and options.height is None and (out_w, out_h) != (cw, ch)):
        warnings.append(RenderWarning(kind="output_size", status="note",
                                      message=f"output size rounded up to even {out_w}x{out_h} (yuv420p)"))

    seg_end = check_not_empty(draft)
    duration_us = max(draft.duration, seg_end)
    if draft.duration and draft.duration != seg_end:
        warnings.append(RenderWarning(kind="duration", status="note",
                                      message=f"draft duration {draft.duration} µs differs from the last "
                                              f"segment end {seg_end} µs; rendering {duration_us} µs"))

    tracks: list[VisualTrack] = []
    adjustments: list[AdjustmentTrack] = []
    audio: list[AudioClip] = []
    order = _z_order(draft, warnings)
    bottom_video_pos = next((p for p in order if draft.tracks[p].type == "video"), None)
    video_mute = bool(draft.config and draft.config.video_mute)

    for z, pos in enumerate(order):
        track = draft.tracks[pos]
        tpath = f"$.tracks[{pos}]"
        if track.type == "audio":
            for si, seg in enumerate(track.segments):
                spath = f"{tpath}.segments[{si}]"
                mat = idx.audios.get(seg.material_id)
                if mat is None:
                    _missing_material(seg, "audio", spath, warnings)
                    continue
                atts = idx.attachments(seg)
                _note_unrendered(seg, atts, warnings)
                if track.muted:
                    continue
                clip = _audio_clip(seg, atts, media.get(mat.id), spath, warnings, fps)
                if clip is not None:
                    audio.append(clip)
            continue
        if track.type == "text":
            if text_engine is None:
                from .text import default_engine
                text_engine = default_engine()
            text_track = _text_track(track, z, idx, warnings, registry, cw, ch, canvas_to_output, tpath,
                                     text_engine)
            if text_track is not None:
                tracks.append(text_track)
            continue
        if track.type == "sticker":
            sticker_track = _sticker_track(track, z, idx, warnings, media, registry, cw, ch, tpath)
            if sticker_track is not None:
                tracks.append(sticker_track)
            continue
        if track.type in ("effect", "filter", "adjust"):
            adj = _adjustment_track(track, z, idx, warnings, registry)
            if adj is not None:
                adjustments.append(adj)
            continue
        if track.type != "video":
            _skip_track(track, idx, warnings, kind=f"track:{track.type}")
            continue
        clips: list[VisualClip] = []
        segs = sorted(enumerate(track.segments), key=lambda p: p[1].target_timerange.start)
        for si, seg in segs:
            spath = f"{tpath}.segments[{si}]"
            mat = idx.videos.get(seg.material_id)
            if mat is None:
                _missing_material(seg, "video", spath, warnings)
                continue
            expanded = None
            if compound.find_entry(seg, mat, level) is not None:
                if seg.target_timerange.duration <= 0:
                    continue
                expanded = compound.expand(
                    seg, mat, level, spath, media=media, canvas_w=cw, canvas_h=ch,
                    out_scale=abs(canvas_to_output.a), fps=fps, registry=registry, text_engine=text_engine,
                    expansions=expansions, warnings=warnings, overlay=pos != bottom_video_pos)
                if expanded is None:
                    continue                  # not drawn; expand() said why
            facts = expanded.facts if expanded is not None else media.get(mat.id)
            if facts is None:
                raise DraftError(f"no media for material {mat.id!r} ({mat.path})", spath + ".material_id")
            atts = idx.attachments(seg)
            _note_unrendered(seg, atts, warnings, visual=True)
            if seg.target_timerange.duration <= 0:
                continue
            speed = _speed(seg, atts, warnings, fps)
            # Trust the file's content over the material's type: a "photo" that is really a
            # video plays as a video, a "video" that is a still image is drawn as a still.
            is_still = facts.kind == "image"
            if facts.has_audio and not is_still and seg.volume > 0 and not track.muted \
                    and not (video_mute and pos == bottom_video_pos):
                audio.append(_sound(seg, atts, facts, speed, spath, warnings))
            elif expanded is not None and not track.muted and not (video_mute and pos == bottom_video_pos):
                audio.extend(compound.lift_audio(expanded.timeline, seg, speed, seg.reverse, warnings,
                                                 outer_fades=_fade(atts)))
            if not seg.visible:
                continue
            if not facts.has_video and not is_still:
                warnings.append(RenderWarning(kind="media", status="skipped", segment_id=seg.id,
                                              name=mat.material_name, start_us=seg.target_timerange.start,
                                              end_us=seg.target_timerange.end,
                                              message="the file has no picture (audio only); its sound plays"))
                continue
            if seg.reverse and not is_still and facts.has_audio and seg.volume > 0:
                warnings.append(RenderWarning(kind="reverse", status="approximated", segment_id=seg.id,
                                              start_us=seg.target_timerange.start, end_us=seg.target_timerange.end,
                                              message="the picture plays backwards; its sound plays forwards"))
            crop_px, base = _crop_and_base(mat.crop, facts, cw, ch)
            if not mat.crop.is_rectangular():
                warnings.append(RenderWarning(kind="crop", status="approximated", segment_id=seg.id,
                                              message="non-rectangular crop drawn as its bounding box"))
            src = seg.source_timerange or type(seg.target_timerange)(0, seg.target_timerange.duration)
            mask, mix_mode, seg_filters = _visual_extras(seg, atts, registry, warnings, crop_px, facts.rotation)
            clips.append(VisualClip(
                segment_id=seg.id, material_id=mat.id, media_key=facts.path, is_still=is_still,
                has_alpha=facts.has_alpha,
                target_start_us=seg.target_timerange.start, target_duration_us=seg.target_timerange.duration,
                source_start_us=0 if is_still else src.start, source_duration_us=src.duration,
                speed=1.0 if is_still else speed, reverse=seg.reverse and not is_still,
                media_duration_us=facts.duration_us, crop_px=crop_px, base=base,
                static=_clip_transform(seg),
                keyframes=_keyframes(seg, spath, warnings, VISUAL_PROPERTIES | {"KFTypeVolume"}),
                uniform_scale=seg.uniform_scale.on if seg.uniform_scale else True,
                background=_background(seg, atts, spath, media, warnings) if pos == bottom_video_pos else None,
                animations=_animations(seg, atts, registry, warnings),
                mask=mask, mix_mode=mix_mode, filters=seg_filters,
                kind=compound.KIND if expanded is not None else "media",
            ))
        clips = _attach_transitions(clips, track, idx, fps, registry, warnings)
        if clips:
            tracks.append(VisualTrack(z=z, track_id=track.id, clips=tuple(clips)))

    first = 0
    end_frame = timebase.frame_count(duration_us, fps)
    if options.start_us is not None:
        first = timebase.first_frame_at_or_after(options.start_us, fps)
    if options.end_us is not None:
        end_frame = min(end_frame, timebase.first_frame_at_or_after(options.end_us, fps))
    if end_frame - first <= 0:
        raise OptionsError(f"time range [{options.start_us}, {options.end_us}) selects no frame "
                           f"of a {duration_us} µs draft")
    return Timeline(canvas_width=cw, canvas_height=ch, width=out_w, height=out_h, fps=fps,
                    duration_us=duration_us, first_frame=first, frame_count=end_frame - first,
                    canvas_to_output=canvas_to_output, tracks=tuple(tracks), audio_clips=tuple(audio),
                    warnings=tuple(warnings), adjustments=tuple(adjustments),
                    compounds=dict(expansions.timelines))


def _skip_track(track, idx: _Index, warnings: list[RenderWarning], kind: str,
                message: str = "not rendered yet") -> None:
    for seg in track.segments:
        warnings.append(RenderWarning(
            kind=kind, status="skipped", name=_name_of(idx, track.type, seg.material_id),
            resource_id=_resource_of(idx, track.type, seg.material_id), segment_id=seg.id,
            start_us=seg.target_timerange.start, end_us=seg.target_timerange.end, message=message))


def _text_track(track, z: int, idx: _Index, warnings: list[RenderWarning], registry: Registry,
                cw: int, ch: int, canvas_to_output: Affine, tpath: str, engine) -> VisualTrack | None:
    """Text segments (spec §14): each becomes a VisualClip whose picture is its text raster.

    The laid-out text block is the element's base size, centred at the clip centre; from
    there on clip scale/rotation/flip, keyframes, alpha and animations apply as to a photo.
    The raster scale follows the output scale and the largest clip scale (sharp glyphs), and
    its grid is phased so that a static, unrotated caption lands on even whole output pixels.
    """
    from . import text as textmod

    out_scale = abs(canvas_to_output.a)
    clips: list[VisualClip] = []
    for si, seg in sorted(enumerate(track.segments), key=lambda p: p[1].target_timerange.start):
        spath = f"{tpath}.segments[{si}]"
        mat = idx.texts.get(seg.material_id)
        if mat is None:
            _missing_material(seg, "text", spath, warnings)
            continue
        atts = idx.attachments(seg)
        span = dict(segment_id=seg.id, start_us=seg.target_timerange.start, end_us=seg.target_timerange.end)
        bubble = effect = ""
        others = []
        for list_name, obj in atts:
            if isinstance(obj, EffectMaterial) and obj.type == "text_shape":
                bubble = obj.resource_id or obj.effect_id or obj.id
            elif isinstance(obj, EffectMaterial) and obj.type == "text_effect":
                effect = obj.resource_id or obj.effect_id or obj.id
            else:
                others.append((list_name, obj))
        _note_unrendered(seg, others, warnings)
        if seg.target_timerange.duration <= 0 or not seg.visible:
            continue
        static = _clip_transform(seg)
        kfs = _keyframes(seg, spath, warnings, VISUAL_PROPERTIES)
        scale = _text_raster_scale(static, kfs) * out_scale
        spec = textmod.TextSpec.of(mat, bubble=bubble, effect=effect)
        phase = (0.0, 0.0)
        moving = any(name != "KFTypeAlpha" for name, _ in kfs)
        if not moving and static.rotation % 360 == 0 and abs(abs(static.scale_x) * out_scale - scale) < 1e-9 \
                and abs(abs(static.scale_y) * out_scale - scale) < 1e-9:
            cx, cy = canvas_to_output.apply(cw / 2 + static.x * cw / 2, ch / 2 - static.y * ch / 2)
            phase = (cx % 2.0, cy % 2.0)
        layer = engine.layer(spec, cw, ch, scale, phase)
        for note in layer.notes:
            warnings.append(RenderWarning(kind="text", status=note.status, name=note.name,
                                          resource_id=note.resource_id, message=note.message, **span))
        if not layer.layout.glyphs and layer.box is None:
            continue
        rx, ry = layer.centre
        base = Affine.translate(-rx, -ry).then(Affine.scale(1.0 / layer.geo.scale))
        clips.append(VisualClip(
            segment_id=seg.id, material_id=mat.id, media_key=layer.key, is_still=True, has_alpha=True,
            target_start_us=seg.target_timerange.start, target_duration_us=seg.target_timerange.duration,
            source_start_us=0, source_duration_us=seg.target_timerange.duration, speed=1.0, reverse=False,
            media_duration_us=0, crop_px=(0, 0, layer.width, layer.height), base=base, static=static,
            keyframes=kfs, uniform_scale=seg.uniform_scale.on if seg.uniform_scale else True,
            animations=_animations(seg, atts, registry, warnings), kind="text", text=layer))
    if not clips:
        return None
    return VisualTrack(z=z, track_id=track.id, clips=tuple(clips))


def _text_raster_scale(static: ClipTransform, kfs) -> float:
    """Raster pixels per canvas pixel for a text clip: its largest |scale| (static or keyframed)."""
    values = [abs(static.scale_x), abs(static.scale_y)]
    for name, pts in kfs:
        if name in ("KFTypeScaleX", "KFTypeScaleY", "UNIFORM_SCALE"):
            values.extend(abs(v) for _, v in pts)
    return min(max(max(values), 1.0 / 16), 4.0)


def _sticker_track(track, z: int, idx: _Index, warnings: list[RenderWarning], media: dict[str, MediaFacts],
                   registry: Registry, cw: int, ch: int, tpath: str) -> VisualTrack | None:
    """Sticker segments (spec §15): drawn when their image could be loaded (``media`` holds
    facts for the sticker material, see :mod:`compositor.stickers`), else skipped with a warning."""
    clips: list[VisualClip] = []
    for si, seg in sorted(enumerate(track.segments), key=lambda p: p[1].target_timerange.start):
        spath = f"{tpath}.segments[{si}]"
        mat = idx.stickers.get(seg.material_id)
        span = dict(segment_id=seg.id, start_us=seg.target_timerange.start, end_us=seg.target_timerange.end)
        if mat is None:
            warnings.append(RenderWarning(kind="sticker", status="skipped", message="sticker material not found",
                                          **span))
            continue
        atts = idx.attachments(seg)
        _note_unrendered(seg, atts, warnings)
        facts = media.get(mat.id)
        if facts is None:
            warnings.append(RenderWarning(kind="sticker", status="skipped", resource_id=mat.resource_id, **span,
                                          message="JianYing-only sticker artwork (no image path; add its "
                                                  "resource id to a sticker table)"))
            continue
        if seg.target_timerange.duration <= 0 or not seg.visible:
            continue
        entry = registry.lookup("sticker", "image sticker")
        warnings.append(RenderWarning(kind="sticker", status="approximated", resource_id=mat.resource_id, **span,
                                      message=entry.note if entry is not None else "drawn as a still image"))
        w, h = facts.width, facts.height
        clips.append(VisualClip(
            segment_id=seg.id, material_id=mat.id, media_key=facts.path, is_still=True,
            has_alpha=facts.has_alpha, target_start_us=seg.target_timerange.start,
            target_duration_us=seg.target_timerange.duration, source_start_us=0,
            source_duration_us=seg.target_timerange.duration, speed=1.0, reverse=False, media_duration_us=0,
            crop_px=(0, 0, w, h), base=sticker_base(w, h, cw, ch), static=_clip_transform(seg),
            keyframes=_keyframes(seg, spath, warnings, VISUAL_PROPERTIES),
            uniform_scale=seg.uniform_scale.on if seg.uniform_scale else True,
            animations=_animations(seg, atts, registry, warnings)))
    if not clips:
        return None
    return VisualTrack(z=z, track_id=track.id, clips=tuple(clips))


def _adjust_entry(kind: str, obj: EffectMaterial, registry: Registry, span: dict,
                  warnings: list[RenderWarning]) -> AdjustSpec | None:
    """Resolve a filter / effect material to an AdjustSpec (warning: approximated or skipped)."""
    ident = dict(name=obj.name, resource_id=obj.resource_id, **span)
    if obj.type == "face_effect":
        warnings.append(RenderWarning(kind=kind, status="skipped", **ident,
                                      message="face/character effects are not rendered"))
        return None
    entry = match_adjust(kind, obj.name, obj.resource_id, registry, effect_id=obj.effect_id)
    if entry is None:
        warnings.append(RenderWarning(kind=kind, status="skipped", **ident,
                                      message="no approximation for this name; drawn unchanged"))
        return None
    warnings.append(RenderWarning(kind=kind, status=entry.status, **ident, message=entry.note))
    return adjust_spec(kind, entry, obj)


def _adjustment_track(track, z: int, idx: _Index, warnings: list[RenderWarning],
                      registry: Registry) -> AdjustmentTrack | None:
    """Effect and filter tracks: adjustment layers over everything below (spec §16, A7)."""
    clips: list[AdjustmentClip] = []
    for seg in sorted(track.segments, key=lambda s: s.target_timerange.start):
        span = dict(segment_id=seg.id, start_us=seg.target_timerange.start, end_us=seg.target_timerange.end)
        if track.type == "effect":
            obj, kind = idx.video_effects.get(seg.material_id), "effect"
        elif track.type == "filter":
            obj, kind = idx.effects.get(seg.material_id), "filter"
        else:
            obj, kind = None, "adjust"
        if obj is None:
            warnings.append(RenderWarning(kind=kind, status="skipped", **span,
                                          message="adjustment layer material not found or not supported"))
            continue
        if seg.target_timerange.duration <= 0 or not seg.visible:
            continue
        spec = _adjust_entry(kind, obj, registry, span, warnings)
        if spec is not None:
            clips.append(AdjustmentClip(segment_id=seg.id, target_start_us=seg.target_timerange.start,
                                        target_duration_us=seg.target_timerange.duration, spec=spec))
    if not clips:
        return None
    return AdjustmentTrack(z=z, track_id=track.id, clips=tuple(clips))


def _visual_extras(seg: Segment, atts, registry: Registry, warnings: list[RenderWarning],
                   crop_px: tuple[int, int, int, int], rotation: int
                   ) -> tuple[MaskSpec | None, str, tuple[AdjustSpec, ...]]:
    """Mask, mix mode and segment-attached filters/effects of a video/photo segment."""
    span = dict(segment_id=seg.id, start_us=seg.target_timerange.start, end_us=seg.target_timerange.end)
    mask, mix_mode, filters = None, "", []
    for _, obj in atts:
        if isinstance(obj, MaskMaterial):
            if mask is not None:
                continue                  # one mask per segment (pyJianYingDraft writes both lists)
            impl = mask_impl(obj, registry)
            if impl is None:
                warnings.append(RenderWarning(kind="mask", status="skipped", name=obj.name,
                                              resource_id=obj.resource_id, **span, message="unknown mask shape"))
                continue
            entry = registry.lookup("mask", obj.name, obj.resource_id, obj.effect_id) or registry.lookup("mask", impl)
            if entry is not None and entry.status == APPROXIMATED:
                warnings.append(RenderWarning(kind="mask", status="approximated", name=obj.name,
                                              resource_id=obj.resource_id, **span, message=entry.note))
            mask = mask_spec(obj, impl, crop_px[2] - crop_px[0], crop_px[3] - crop_px[1], rotation)
        elif isinstance(obj, EffectMaterial) and obj.type == "mix_mode":
            entry = registry.lookup("mix_mode", obj.name, obj.resource_id, obj.effect_id)
            if entry is None:
                warnings.append(RenderWarning(kind="mix_mode", status="skipped", name=obj.name,
                                              resource_id=obj.resource_id, **span,
                                              message="unknown mix mode; drawn normally"))
                continue
            if entry.status == APPROXIMATED:
                warnings.append(RenderWarning(kind="mix_mode", status="approximated", name=obj.name,
                                              resource_id=obj.resource_id, **span, message=entry.note))
            mix_mode = entry.impl
        elif isinstance(obj, EffectMaterial) and obj.type in ("filter", "video_effect", "face_effect", ""):
            kind = "filter" if obj.type == "filter" else "effect"
            spec = _adjust_entry(kind, obj, registry, span, warnings)
            if spec is not None:
                filters.append(spec)
    return mask, mix_mode, tuple(filters)


def _name_of(idx: _Index, track_type: str, material_id: str) -> str:
    obj = {"text": idx.texts, "sticker": idx.stickers, "effect": idx.video_effects,
           "filter": idx.effects}.get(track_type, {}).get(material_id)
    return getattr(obj, "name", "") or ""


def _resource_of(idx: _Index, track_type: str, material_id: str) -> str:
    obj = {"sticker": idx.stickers, "effect": idx.video_effects, "filter": idx.effects}.get(track_type, {}).get(material_id)
    return getattr(obj, "resource_id", "") or ""


def _fade(atts) -> tuple[int, int]:
    for _, obj in atts:
        if isinstance(obj, AudioFade):
            return max(0, obj.fade_in_duration), max(0, obj.fade_out_duration)
    return 0, 0


def _audio_clip(seg: Segment, atts, facts: MediaFacts | None, path: str,
                warnings: list[RenderWarning], fps: Fraction) -> AudioClip | None:
    """The sound of an audio-track segment (None when its file has no audio)."""
    if facts is None:
        raise DraftError(f"no media for audio material {seg.material_id!r}", path + ".material_id")
    if not facts.has_audio or seg.target_timerange.duration <= 0:
        return None
    return _sound(seg, atts, facts, _speed(seg, atts, warnings, fps), path, warnings, keyframe_warnings=warnings)


def _sound(seg: Segment, atts, facts: MediaFacts, speed: float, path: str,
           warnings: list[RenderWarning], keyframe_warnings: list[RenderWarning] | None = None) -> AudioClip:
    """The AudioClip of a segment that sounds (audio segments and videos' own soundtracks).

    ``keyframe_warnings`` receives warnings about keyframed properties sound ignores (video
    segments report theirs once, from the picture side)."""
    fin, fout = _fade(atts)
    kfs = dict(_keyframes(seg, path, [] if keyframe_warnings is None else keyframe_warnings, {"KFTypeVolume"}))
    src = seg.source_timerange or type(seg.target_timerange)(0, seg.target_timerange.duration)
    _warn_audio_speed(seg, speed, warnings)
    return AudioClip(segment_id=seg.id, media_key=facts.path, target_start_us=seg.target_timerange.start,
                     target_duration_us=seg.target_timerange.duration, source_start_us=src.start,
                     speed=speed, volume=_gain(seg.volume), fade_in_us=fin, fade_out_us=fout,
                     volume_keyframes=tuple((t, _gain(v)) for t, v in kfs.get("KFTypeVolume", ())),
                     tone_modify=seg.is_tone_modify)


# Largest linear gain taken from a draft (JianYing's slider tops out far below: +20 dB = 10).
MAX_GAIN = 100.0


def _gain(value: float) -> float:
    """A draft volume as a usable gain: clamped to [0, MAX_GAIN], 1 when not finite."""
    return min(max(value, 0.0), MAX_GAIN) if math.isfinite(value) else 1.0


def _warn_audio_speed(seg: Segment, speed: float, warnings: list[RenderWarning]) -> None:
    """Audio at speed ≠ 1 is time-stretched with FFmpeg's atempo (pitch kept) or, with
    ``is_tone_modify``, resampled (pitch follows speed): both as the draft asks, no warning."""


def _attach_transitions(clips: list[VisualClip], track, idx: _Index, fps: Fraction, registry: Registry,
                        warnings: list[RenderWarning]) -> list[VisualClip]:
    frame_us = 1_000_000 / float(fps)
    by_seg = {s.id: s for s in track.segments}
    out = list(clips)
    for i, a in enumerate(clips):
        seg = by_seg[a.segment_id]
        tr = next((obj for name, obj in idx.attachments(seg) if isinstance(obj, TransitionMaterial)), None)
        if tr is None:
            continue
        b = clips[i + 1] if i + 1 < len(clips) else None
        if b is None or abs(b.target_start_us - a.target_end_us) > frame_us or tr.duration <= 0:
            warnings.append(RenderWarning(kind="transition", status="skipped", name=tr.name,
                                          resource_id=tr.resource_id, segment_id=a.segment_id,
                                          message="no adjacent next clip on the track"))
            continue
        d = min(tr.duration, a.target_duration_us, b.target_duration_us)
        cut = b.target_start_us
        start = cut - d // 2
        entry = registry.lookup("transition", tr.name, tr.resource_id, tr.effect_id)
        kind = entry.impl if entry is not None else TRANSITION_FALLBACK
        if entry is None or entry.status == APPROXIMATED:
            warnings.append(RenderWarning(kind="transition", status="approximated", name=tr.name,
                                          resource_id=tr.resource_id, segment_id=a.segment_id,
                                          start_us=start, end_us=start + d,
                                          message=entry.note if entry is not None
                                          else f"unknown transition drawn as {TRANSITION_FALLBACK}"))
        out[i] = replace(out[i], transition_out=TransitionSpan(
            name=tr.name, resource_id=tr.resource_id, kind=kind, start_us=start, end_us=start + d,
            is_overlap=tr.is_overlap))
    return out
