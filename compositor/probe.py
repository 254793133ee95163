"""Machine-readable draft summary for ``python -m compositor probe --json`` (pure).

:func:`summarize` condenses a parsed draft and its resolved timeline into a
:class:`ProbeSummary` (msgspec Struct, encoded as JSON by the CLI): canvas, frame rate,
duration, the output the renderer would write, each track with its segment count and time
span, segments whose material is not in the draft, and every warning. Two drafts (or two
versions of the renderer) can then be compared mechanically.
"""

from __future__ import annotations

import msgspec

from .draft import Draft
from .timeline import Timeline
from .warnings import RenderWarning

# materials list (in Materials) holding the material of each track type's segments
_MATERIAL_LISTS = {
    "video": ("videos",),
    "audio": ("audios",),
    "text": ("texts",),
    "sticker": ("stickers",),
    "effect": ("video_effects",),
    "filter": ("effects",),
}


class Size(msgspec.Struct, frozen=True):
    width: int
    height: int


class OutputSummary(msgspec.Struct, frozen=True):
    width: int
    height: int
    fps: str  # exact rational, e.g. "30000/1001"
    frame_count: int
    duration_us: int


class TrackSummary(msgspec.Struct, frozen=True):
    index: int  # position in $.tracks
    type: str
    id: str
    segments: int  # segments in the draft
    start_us: int | None  # first segment start (None: no segment)
    end_us: int | None  # last segment end
    muted: bool = False


class MissingMaterial(msgspec.Struct, frozen=True):
    json_path: str  # $.tracks[i].segments[j].material_id
    segment_id: str
    material_id: str


class ProbeSummary(msgspec.Struct, frozen=True):
    canvas: Size
    fps: float  # as the draft gives it
    duration_us: int  # the timeline's length
    output: OutputSummary
    tracks: list[TrackSummary]
    materials_missing: list[MissingMaterial]
    warnings: list[RenderWarning]


def missing_materials(draft: Draft) -> list[MissingMaterial]:
    """Segments whose ``material_id`` names no material of the list their track reads."""
    m = draft.materials
    out = []
    for ti, track in enumerate(draft.tracks):
        lists = _MATERIAL_LISTS.get(track.type)
        if lists is None:
            continue
        ids = {obj.id for name in lists for obj in getattr(m, name)}
        for si, seg in enumerate(track.segments):
            if seg.material_id not in ids:
                out.append(
                    MissingMaterial(
                        json_path=f"$.tracks[{ti}].segments[{si}].material_id",
                        segment_id=seg.id,
                        material_id=seg.material_id,
                    )
                )
    return out


def summarize(draft: Draft, timeline: Timeline, warnings: tuple[RenderWarning, ...]) -> ProbeSummary:
    tracks = []
    for i, t in enumerate(draft.tracks):
        ranges = [s.target_timerange for s in t.segments]
        tracks.append(
            TrackSummary(
                index=i,
                type=t.type,
                id=t.id,
                segments=len(t.segments),
                start_us=min((r.start for r in ranges), default=None),
                end_us=max((r.end for r in ranges), default=None),
                muted=t.muted,
            )
        )
    fps = timeline.fps
    return ProbeSummary(
        canvas=Size(draft.canvas_config.width, draft.canvas_config.height),
        fps=float(draft.fps),
        duration_us=timeline.duration_us,
        output=OutputSummary(
            width=timeline.width,
            height=timeline.height,
            fps=f"{fps.numerator}/{fps.denominator}",
            frame_count=timeline.frame_count,
            duration_us=timeline.output_duration_us,
        ),
        tracks=tracks,
        materials_missing=missing_materials(draft),
        warnings=list(warnings),
    )


def to_json(summary: ProbeSummary) -> bytes:
    """Pretty-printed JSON of ``summary``."""
    return msgspec.json.format(msgspec.json.encode(summary), indent=2)
