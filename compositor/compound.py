"""Compound clips (复合片段): a video segment whose picture is a nested draft (pure).

How the apps store one (docs/compound-clips.md): the segment's ``material_id`` names a
``materials.videos`` entry with an empty ``path``; one of its ``extra_material_refs`` names a
``materials.drafts`` entry (``type`` "combination") whose ``draft`` field is a whole draft
with its own canvas, fps, tracks and materials. A nested draft may hold compound clips of
its own, stored in its own ``materials.drafts`` (or, in some layouts, in an enclosing one).

This module finds those entries, walks the nesting (for the media catalogue), and turns a
compound segment into a nested :class:`~compositor.timeline.Timeline` plus the facts that
let :mod:`compositor.resolve` treat it as a video of the nested canvas' size. The nested
timeline is drawn frame by frame by :mod:`compositor.compound_pictures`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import msgspec

from .draft import CompoundMaterial, Draft, Segment, VideoMaterial
from .errors import DraftEmpty, DraftError
from .timeline import AudioClip, MediaFacts, OutputOptions, Timeline
from .warnings import RenderWarning

#: Compound clips nested deeper than this are not drawn (a warning says so).
MAX_DEPTH = 8

#: MediaFacts.kind of a compound clip's picture; VisualClip/DrawOp kind "compound".
KIND = "compound"


@dataclass(frozen=True, slots=True)
class Level:
    """Where resolution stands: the chain of compound entries entered so far and the
    ``materials.drafts`` lists in scope (innermost first)."""

    chain: tuple[str, ...] = ()  # entry ids, outermost first
    drafts: tuple[tuple[CompoundMaterial, ...], ...] = ()  # innermost first

    def inside(self, draft: Draft) -> "Level":
        """This level with ``draft``'s own compound entries put innermost."""
        return Level(self.chain, (tuple(draft.materials.drafts), *self.drafts))


@dataclass(slots=True)
class Expansions:
    """Nested timelines of one draft level, keyed by the media key of the compound."""

    timelines: dict[str, Timeline] = field(default_factory=dict)


def media_key(entry: CompoundMaterial, width: int, height: int) -> str:
    return f"compound:{entry.id}@{width}x{height}"


def find_entry(seg: Segment, mat: VideoMaterial, level: Level) -> tuple[CompoundMaterial, int] | None:
    """The compound entry (and its index in its list) a segment shows, or None.

    The first of the segment's ``extra_material_refs`` that names a ``materials.drafts``
    entry in scope (innermost list first) is it — when that entry embeds its draft, or when
    the material has no file path (then the clip cannot be drawn; :func:`expand` warns).
    A material with a file path and an entry without a draft is an ordinary video."""
    for ref in seg.extra_material_refs:
        for entries in level.drafts:
            for i, e in enumerate(entries):
                if e.id == ref:
                    return (e, i) if e.draft is not None or not mat.path else None
    return None


def nested_drafts(draft: Draft) -> list[Draft]:
    """Every draft nested (at any depth up to :data:`MAX_DEPTH`) inside ``draft``'s compound
    clips, each once; cycles are not followed (resolution reports them)."""
    return [d for _, d in nested_drafts_with_paths(draft)]


def nested_drafts_with_paths(draft: Draft) -> list[tuple[str, Draft]]:
    """(JSON path, draft) of every nested draft, as :func:`nested_drafts`."""
    return [(path, d) for path, d, _ in _levels(draft)[1:]]


def _levels(draft: Draft) -> list[tuple[str, Draft, Level]]:
    """(JSON path, draft, its level) of ``draft`` and of every draft nested in it."""
    out: list[tuple[str, Draft, Level]] = [("$", draft, Level().inside(draft))]
    seen: set[int] = set()

    def walk(d: Draft, path: str, level: Level, paths: tuple[str, ...]) -> None:
        level, paths = level.inside(d), (path, *paths)
        if len(level.chain) >= MAX_DEPTH:
            return
        videos = {v.id: v for v in d.materials.videos}
        for track in d.tracks:
            if track.type != "video":
                continue
            for seg in track.segments:
                mat = videos.get(seg.material_id)
                found = find_entry(seg, mat, level) if mat is not None else None
                if found is None or found[0].id in level.chain:
                    continue
                entry, index = found
                if entry.draft is None or id(entry.draft) in seen:
                    continue
                seen.add(id(entry.draft))
                owner = next(i for i, entries in enumerate(level.drafts) if any(e is entry for e in entries))
                sub_path = f"{paths[owner]}.materials.drafts[{index}].draft"
                sub_level = Level((*level.chain, entry.id), level.drafts)
                out.append((sub_path, entry.draft, sub_level.inside(entry.draft)))
                walk(entry.draft, sub_path, Level((*level.chain, entry.id), level.drafts), paths)

    walk(draft, "$", Level(), ())
    return out


def file_materials(draft: Draft):
    """(JSON path of its ``path``, material) of every video/audio material a segment of
    ``draft`` or of a draft nested in its compound clips uses as a file (compound clips'
    own empty-path materials are not files)."""
    for prefix, d, level in _levels(draft):
        videos = {v.id: v for v in d.materials.videos}
        used: set[str] = set()
        for t in d.tracks:
            if t.type in ("video", "audio"):
                used.update(
                    seg.material_id
                    for seg in t.segments
                    if not (
                        t.type == "video"
                        and seg.material_id in videos
                        and find_entry(seg, videos[seg.material_id], level) is not None
                    )
                )
        for kind, items in (("videos", d.materials.videos), ("audios", d.materials.audios)):
            for i, mat in enumerate(items):
                if mat.id in used:
                    yield f"{prefix}.materials.{kind}[{i}].path", mat


#: A compound clip scaled up is drawn from a picture at most this many times its fitted size.
MAX_ZOOM = 2.0
#: ... and never larger than this many pixels a side.
MAX_PICTURE_SIDE = 8192


def zoom_of(seg: Segment) -> float:
    """How much larger than fitted the segment shows its picture at most (static scale and
    scale keyframes), clamped to [1, MAX_ZOOM]: the nested picture is drawn that much
    larger so that a zoomed compound clip stays sharp."""
    values = [1.0]
    if seg.clip is not None:
        values += [abs(seg.clip.scale.x), abs(seg.clip.scale.y)]
    for kl in seg.common_keyframes:
        if kl.property_type in ("KFTypeScaleX", "KFTypeScaleY", "UNIFORM_SCALE"):
            values += [abs(float(k.values[0])) for k in kl.keyframe_list if k.values]
    return min(max(v for v in values if math.isfinite(v)), MAX_ZOOM)


def picture_size(nested: Draft, canvas_w: int, canvas_h: int, out_scale: float, zoom: float = 1.0) -> tuple[int, int]:
    """Pixel size of the picture a nested draft is drawn into: its canvas as big as it
    appears fitted into the enclosing canvas at output scale, times ``zoom`` (even sizes, ≥ 2)."""
    ncw, nch = nested.canvas_config.width, nested.canvas_config.height
    fit = min(canvas_w / ncw, canvas_h / nch) * out_scale * zoom
    fit = min(fit, MAX_PICTURE_SIDE / max(ncw, nch))
    w = max(2, round(ncw * fit))
    h = max(2, round(nch * fit))
    return w + (w & 1), h + (h & 1)


@dataclass(frozen=True, slots=True)
class Expanded:
    facts: MediaFacts  # the compound as a video of its picture size
    timeline: Timeline  # nested timeline, output = that picture


def expand(
    seg: Segment,
    mat: VideoMaterial,
    level: Level,
    path: str,
    *,
    media: dict[str, MediaFacts],
    canvas_w: int,
    canvas_h: int,
    out_scale: float,
    fps: Fraction,
    registry,
    text_engine,
    expansions: Expansions,
    warnings: list[RenderWarning],
    overlay: bool = False,
) -> Expanded | None:
    """Resolve the compound clip ``seg`` shows into a nested timeline.

    Returns None when ``seg`` is not a compound clip, or — with a warning — when it cannot
    be drawn (nested too deep, empty nested draft). A compound that contains itself is a
    :class:`DraftError` (its timeline cannot exist). Nested warnings are attributed to
    ``seg``. ``expansions`` caches nested timelines by entry and picture size. ``overlay``:
    the segment lies over other tracks (see :func:`covers`)."""
    found = find_entry(seg, mat, level)
    if found is None:
        return None
    entry, index = found
    span: dict[str, Any] = dict(segment_id=seg.id, start_us=seg.target_timerange.start, end_us=seg.target_timerange.end)
    name = entry.name or mat.material_name
    if entry.id in level.chain:
        raise DraftError(f"compound clip {entry.id!r} contains itself", path + ".extra_material_refs")
    if len(level.chain) + 1 > MAX_DEPTH:
        warnings.append(
            RenderWarning(
                kind="compound",
                status="skipped",
                name=name,
                **span,
                message=f"compound clips nested deeper than {MAX_DEPTH} levels are not drawn",
            )
        )
        return None
    nested = entry.draft
    if nested is None:
        warnings.append(
            RenderWarning(
                kind="compound",
                status="skipped",
                name=name,
                **span,
                message="the compound clip's nested draft is not embedded in "
                "materials.drafts (no 'draft' object); not drawn",
            )
        )
        return None
    if nested.canvas_config.width <= 0 or nested.canvas_config.height <= 0:
        warnings.append(
            RenderWarning(
                kind="compound",
                status="skipped",
                name=name,
                **span,
                message=f"the nested draft's canvas size "
                f"{nested.canvas_config.width}x{nested.canvas_config.height} "
                "is not positive; not drawn",
            )
        )
        return None
    w, h = picture_size(nested, canvas_w, canvas_h, out_scale, zoom_of(seg))
    key = media_key(entry, w, h)
    tl = expansions.timelines.get(key)
    if tl is None:
        from .resolve import resolve  # resolve imports this module

        try:
            tl = resolve(
                nested,
                media,
                OutputOptions(width=w, height=h, fps=fps),
                registry=registry,
                text_engine=text_engine,
                _level=Level((*level.chain, entry.id), level.drafts),
            )
        except DraftEmpty:
            warnings.append(
                RenderWarning(
                    kind="compound",
                    status="skipped",
                    name=name,
                    **span,
                    message="the compound clip's nested draft is empty",
                )
            )
            return None
        except DraftError as exc:
            raise DraftError(exc.message, f"$.materials.drafts[{index}].draft" + exc.json_path[1:]) from exc
        expansions.timelines[key] = tl
    for nested_warning in tl.warnings:
        if nested_warning.kind == "output_size":
            continue  # the nested picture size is ours, not the draft's
        inner = f"nested segment {nested_warning.segment_id}: " if nested_warning.segment_id else ""
        warnings.append(
            msgspec.structs.replace(
                nested_warning,
                message=f"in compound clip {name or entry.id}: {inner}{nested_warning.message}".rstrip(": "),
                **span,
            )
        )
    src = seg.source_timerange or type(seg.target_timerange)(0, seg.target_timerange.duration)
    if overlay and not covers(tl, src.start, src.end):
        warnings.append(
            RenderWarning(
                kind="compound",
                status="approximated",
                name=name,
                **span,
                message="where the nested draft's bottom track has no clip, the compound clip is drawn "
                "black (opaque), not see-through",
            )
        )
    facts = MediaFacts(
        path=key,
        kind=KIND,
        width=tl.width,
        height=tl.height,
        coded_width=tl.width,
        coded_height=tl.height,
        duration_us=tl.duration_us,
        has_video=True,
        has_audio=False,
    )
    return Expanded(facts=facts, timeline=tl)


def covers(tl: Timeline, lo_us: int, hi_us: int) -> bool:
    """True when the nested timeline's bottom visual track has a clip at every time of
    ``[lo_us, hi_us)`` (bottom-track clips fill the canvas with their canvas background, so
    the nested picture has no empty area there)."""
    bottom = min(tl.tracks, key=lambda tr: tr.z, default=None)
    if bottom is None or bottom.z != 0 or any(c.kind == "text" for c in bottom.clips):
        return False
    t = lo_us
    for c in sorted(bottom.clips, key=lambda c: c.target_start_us):
        if c.target_start_us > t:
            break
        t = max(t, c.target_end_us)
    return t >= min(hi_us, tl.duration_us)


def lift_audio(
    nested: Timeline,
    seg: Segment,
    speed: float,
    reverse: bool,
    warnings: list[RenderWarning],
    outer_fades: tuple[int, int] = (0, 0),
) -> list[AudioClip]:
    """The nested timeline's sound as clips of the enclosing timeline: the part of each
    nested clip inside the segment's source range, moved to the segment's place, at the
    product of the speeds, volume times the segment's volume. A fade is kept when its end
    of the nested clip is not trimmed away. ``outer_fades``: the segment's own audio fade
    (in, out) µs, which is not applied to the nested sound (a warning says so)."""
    if not nested.audio_clips or seg.volume <= 0 or seg.target_timerange.duration <= 0:
        return []
    span: dict[str, Any] = dict(segment_id=seg.id, start_us=seg.target_timerange.start, end_us=seg.target_timerange.end)
    if reverse:
        warnings.append(
            RenderWarning(
                kind="compound", status="skipped", **span, message="the sound of a reversed compound clip is not played"
            )
        )
        return []
    if any(outer_fades) or any(kl.property_type == "KFTypeVolume" for kl in seg.common_keyframes):
        warnings.append(
            RenderWarning(
                kind="compound",
                status="approximated",
                **span,
                message="the compound clip's own audio fade / volume keyframes are "
                "not applied to its nested sound (its volume is)",
            )
        )
    src = seg.source_timerange or type(seg.target_timerange)(0, seg.target_timerange.duration)
    lo, hi = src.start, src.start + round(seg.target_timerange.duration * speed)
    t0 = seg.target_timerange.start
    out = []
    for c in nested.audio_clips:
        a, b = max(c.target_start_us, lo), min(c.target_end_us, hi)
        if b <= a:
            continue
        cut = a - c.target_start_us  # nested µs trimmed from the clip's start
        start = t0 + round((a - lo) / speed)
        dur = max(1, round((b - a) / speed))
        kfs = tuple((round((t - cut) / speed), v) for t, v in c.volume_keyframes)
        out.append(
            replace(
                c,
                segment_id=f"{seg.id}/{c.segment_id}",
                target_start_us=start,
                target_duration_us=dur,
                source_start_us=c.source_start_us + round(cut * c.speed),
                speed=c.speed * speed,
                volume=c.volume * seg.volume,
                fade_in_us=round(c.fade_in_us / speed) if cut == 0 else 0,
                fade_out_us=round(c.fade_out_us / speed) if b == c.target_end_us else 0,
                volume_keyframes=kfs,
            )
        )
    return out
