"""Material lookup and drawing order of a draft's tracks (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from ..draft import Draft, Segment, Track
from .collector import WarningLog


class MaterialIndex:
    """``id -> (list name, object)`` over every material list (docs/format.md#materials-and-references)."""

    def __init__(self, draft: Draft) -> None:
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

    def name_of(self, track_type: str, material_id: str) -> str:
        tables: dict[str, Mapping[str, object]] = {
            "text": self.texts,
            "sticker": self.stickers,
            "effect": self.video_effects,
            "filter": self.effects,
        }
        name = getattr(tables.get(track_type, {}).get(material_id), "name", "")
        return name if isinstance(name, str) and name else ""

    def resource_of(self, track_type: str, material_id: str) -> str:
        tables: dict[str, Mapping[str, object]] = {
            "sticker": self.stickers,
            "effect": self.video_effects,
            "filter": self.effects,
        }
        rid = getattr(tables.get(track_type, {}).get(material_id), "resource_id", "")
        return rid if isinstance(rid, str) and rid else ""


def z_order(draft: Draft, warnings: WarningLog) -> list[int]:
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
    swapped = [
        (a, b)
        for i, a in enumerate(visual)
        for b in visual[i + 1 :]
        if (a < b) != (rank[a] < rank[b]) and _overlap(draft.tracks[a], draft.tracks[b])
    ]
    if swapped:
        a, b = swapped[0]
        warnings.note(
            "layer_order",
            message=f"tracks are drawn by render_index, not array order: "
            f"$.tracks[{max(a, b)}] is drawn under $.tracks[{min(a, b)}] "
            f"({len(swapped)} overlapping pair(s) reordered)",
        )
    return order


def _overlap(a: Track, b: Track) -> bool:
    """True when a segment of track ``a`` and one of track ``b`` share some time."""
    return any(
        x.target_timerange.start < y.target_timerange.end and y.target_timerange.start < x.target_timerange.end
        for x in a.segments
        if x.target_timerange.duration > 0
        for y in b.segments
        if y.target_timerange.duration > 0
    )


def skip_track(
    track: Track, idx: MaterialIndex, warnings: WarningLog, kind: str, message: str = "not rendered yet"
) -> None:
    """One ``skipped`` warning per segment of a track kind nothing renders."""
    for seg in track.segments:
        warnings.about(seg).skip(
            kind,
            name=idx.name_of(track.type, seg.material_id),
            resource_id=idx.resource_of(track.type, seg.material_id),
            message=message,
        )
