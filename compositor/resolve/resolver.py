"""``resolve``: a draft and the facts about its media -> a :class:`~compositor.timeline.Timeline` (pure).

Walks the tracks bottom first (:func:`~compositor.resolve.index.z_order`) and hands each to the
module of its kind; collects every warning in one :class:`~compositor.resolve.collector.WarningLog`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import compound, timebase
from ..draft import Draft
from ..errors import OptionsError
from ..registry import Registry, default_registry
from ..timeline import AdjustmentTrack, AudioClip, MediaFacts, OutputOptions, Timeline, VisualTrack
from .adjustment import adjustment_track
from .audio import audio_clip
from .collector import WarningLog, dropped_values
from .index import MaterialIndex, skip_track, z_order
from .output import duration_us, frame_range, output_geometry
from .segment import missing_material, note_unrendered
from .sticker import sticker_track
from .text import text_track
from .video import video_track

if TYPE_CHECKING:  # made on demand (it reads font files), never imported at load
    from ..text.engine import TextEngine


def resolve(
    draft: Draft,
    media: dict[str, MediaFacts],
    options: OutputOptions = OutputOptions(),
    registry: Registry | None = None,
    text_engine: TextEngine | None = None,
    *,
    _level: compound.Level | None = None,
) -> Timeline:
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
    warnings = WarningLog()
    dropped_values(draft, warnings)
    try:
        fps = timebase.fps_fraction(options.fps if options.fps is not None else draft.fps)
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise OptionsError(f"output frame rate: {exc}") from None
    idx = MaterialIndex(draft)
    level = (_level or compound.Level()).inside(draft)
    expansions = compound.Expansions()
    cw, ch = draft.canvas_config.width, draft.canvas_config.height
    out_w, out_h, canvas_to_output = output_geometry(draft, options, warnings)
    total_us = duration_us(draft, warnings)

    tracks: list[VisualTrack] = []
    adjustments: list[AdjustmentTrack] = []
    audio: list[AudioClip] = []
    order = z_order(draft, warnings)
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
                    missing_material(seg, "audio", spath, warnings)
                    continue
                atts = idx.attachments(seg)
                note_unrendered(seg, atts, warnings)
                if track.muted:
                    continue
                clip = audio_clip(seg, atts, media.get(mat.id), spath, warnings, fps)
                if clip is not None:
                    audio.append(clip)
            continue
        if track.type == "text":
            if text_engine is None:
                from ..text import default_engine

                text_engine = default_engine()
            visual = text_track(track, z, idx, warnings, registry, cw, ch, canvas_to_output, tpath, text_engine)
            if visual is not None:
                tracks.append(visual)
            continue
        if track.type == "sticker":
            visual = sticker_track(track, z, idx, warnings, media, registry, cw, ch)
            if visual is not None:
                tracks.append(visual)
            continue
        if track.type in ("effect", "filter", "adjust"):
            adj = adjustment_track(track, z, idx, warnings, registry)
            if adj is not None:
                adjustments.append(adj)
            continue
        if track.type != "video":
            skip_track(track, idx, warnings, kind=f"track:{track.type}")
            continue
        visual = video_track(
            track,
            z,
            pos,
            tpath,
            idx=idx,
            warnings=warnings,
            media=media,
            registry=registry,
            fps=fps,
            canvas_w=cw,
            canvas_h=ch,
            canvas_to_output=canvas_to_output,
            level=level,
            expansions=expansions,
            text_engine=text_engine,
            bottom_video_pos=bottom_video_pos,
            video_mute=video_mute,
            audio=audio,
        )
        if visual is not None:
            tracks.append(visual)

    first, count = frame_range(total_us, fps, options)
    return Timeline(
        canvas_width=cw,
        canvas_height=ch,
        width=out_w,
        height=out_h,
        fps=fps,
        duration_us=total_us,
        first_frame=first,
        frame_count=count,
        canvas_to_output=canvas_to_output,
        tracks=tuple(tracks),
        audio_clips=tuple(audio),
        warnings=tuple(warnings.items),
        adjustments=tuple(adjustments),
        compounds=dict(expansions.timelines),
    )
