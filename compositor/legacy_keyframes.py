"""CapCut 1.x keyframes into the segment keyframe model (pure).

Newer apps keep a segment's keyframes in ``segments[].common_keyframes`` (one list per
property). CapCut 1.x (and JianYing of the same era) kept them in a top-level ``keyframes``
object — ``keyframes.videos``, ``.audios``, ``.texts``, ``.stickers``, ``.effects``,
``.filters`` … — each entry holding the values of several properties at one
``time_offset``; a segment names its entries in ``keyframe_refs`` (some builds list them in
``extra_material_refs``). :func:`with_legacy_keyframes` turns the entries a segment refers to
into per-property :class:`KeyframeList` s appended to its ``common_keyframes``; a property
that already has a ``common_keyframes`` list keeps that list.
"""

from __future__ import annotations

import msgspec

from .draft import Draft, Keyframe, KeyframeList, LegacyKeyframe, Segment

# (property_type, value of a LegacyKeyframe or None)
_PROPERTIES = (
    ("KFTypePositionX", lambda k: k.position.x if k.position is not None else None),
    ("KFTypePositionY", lambda k: k.position.y if k.position is not None else None),
    ("KFTypeScaleX", lambda k: k.scale.x if k.scale is not None else None),
    ("KFTypeScaleY", lambda k: k.scale.y if k.scale is not None else None),
    ("KFTypeRotation", lambda k: k.rotation),
    ("KFTypeAlpha", lambda k: k.alpha),
    ("KFTypeVolume", lambda k: k.volume),
)
# Colour adjustments: listed (so that they are reported when not rendered) only when some
# entry moves them off 0, their "unchanged" value.
_ADJUSTMENTS = (
    ("KFTypeBrightness", lambda k: k.brightness_value),
    ("KFTypeContrast", lambda k: k.contrast_value),
    ("KFTypeSaturation", lambda k: k.saturation_value),
)


def _index(draft: Draft) -> dict[str, LegacyKeyframe]:
    store = draft.keyframes
    out: dict[str, LegacyKeyframe] = {}
    if store is None:
        return out
    for name in store.__struct_fields__:
        for entry in getattr(store, name):
            if entry.id:
                out.setdefault(entry.id, entry)
    return out


def lists_of(entries: list[LegacyKeyframe]) -> list[KeyframeList]:
    """Per-property keyframe lists of a segment's legacy entries (sorted by time)."""
    out: list[KeyframeList] = []
    snapshots = sorted((e for e in entries if not e.property_type), key=lambda e: e.time_offset)
    for prop, value_of in _PROPERTIES:
        points = [
            Keyframe(time_offset=e.time_offset, values=[float(v)], curveType=e.curveType)
            for e in snapshots
            if (v := value_of(e)) is not None
        ]
        if points:
            out.append(KeyframeList(property_type=prop, keyframe_list=points, id=f"legacy:{prop}"))
    for prop, value_of in _ADJUSTMENTS:
        points = [
            Keyframe(time_offset=e.time_offset, values=[float(v)], curveType=e.curveType)
            for e in snapshots
            if (v := value_of(e)) is not None
        ]
        if any(p.values[0] != 0.0 for p in points):
            out.append(KeyframeList(property_type=prop, keyframe_list=points, id=f"legacy:{prop}"))
    out.extend(
        KeyframeList(property_type=e.property_type, keyframe_list=list(e.keyframe_list), id=e.id)
        for e in entries
        if e.property_type
    )
    return out


def _merged(seg: Segment, store: dict[str, LegacyKeyframe]) -> Segment:
    refs = [*seg.keyframe_refs, *seg.extra_material_refs]
    entries = list({r: store[r] for r in refs if r in store}.values())
    if not entries:
        return seg
    have = {kl.property_type for kl in seg.common_keyframes}
    extra = [kl for kl in lists_of(entries) if kl.property_type not in have]
    if not extra:
        return seg
    return msgspec.structs.replace(seg, common_keyframes=[*seg.common_keyframes, *extra])


def with_legacy_keyframes(draft: Draft) -> Draft:
    """``draft`` with the top-level keyframes its segments refer to moved into the segments."""
    store = _index(draft)
    if not store:
        return draft
    tracks = [msgspec.structs.replace(t, segments=[_merged(s, store) for s in t.segments]) for t in draft.tracks]
    return msgspec.structs.replace(draft, tracks=tracks)
