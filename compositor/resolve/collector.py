"""The warnings of one resolve (pure).

:class:`WarningLog` collects :class:`~compositor.warnings.RenderWarning` in the order they are
found: ``skip`` (not rendered), ``approximate`` (rendered differently), ``note`` (rendered as
asked, worth knowing). :meth:`WarningLog.about` gives a :class:`SegmentWarnings` that fills in
the segment's id and target time range once; a field given explicitly wins.
"""

from __future__ import annotations

from typing import TypedDict, Unpack

from ..draft import Draft, Segment
from ..warnings import RenderWarning


class WarningSubject(TypedDict, total=False):
    """What a :class:`~compositor.warnings.RenderWarning` is about (its optional fields but the message)."""

    name: str
    resource_id: str
    segment_id: str
    start_us: int | None
    end_us: int | None


class WarningFields(WarningSubject, total=False):
    """The optional fields of a :class:`~compositor.warnings.RenderWarning`."""

    message: str


class WarningLog:
    """Warnings in order; ``items`` is the list itself (handed to code that appends)."""

    def __init__(self) -> None:
        self.items: list[RenderWarning] = []

    def add(self, kind: str, status: str, **fields: Unpack[WarningFields]) -> None:
        self.items.append(RenderWarning(kind=kind, status=status, **fields))

    def skip(self, kind: str, **fields: Unpack[WarningFields]) -> None:
        self.add(kind, "skipped", **fields)

    def approximate(self, kind: str, **fields: Unpack[WarningFields]) -> None:
        self.add(kind, "approximated", **fields)

    def note(self, kind: str, **fields: Unpack[WarningFields]) -> None:
        self.add(kind, "note", **fields)

    def about(self, seg: Segment) -> SegmentWarnings:
        return SegmentWarnings(self, seg)


class SegmentWarnings:
    """Warnings about one segment: ``segment_id``, ``start_us`` and ``end_us`` filled in."""

    def __init__(self, log: WarningLog, seg: Segment) -> None:
        self.log = log
        self.span = WarningSubject(
            segment_id=seg.id, start_us=seg.target_timerange.start, end_us=seg.target_timerange.end
        )

    def add(self, kind: str, status: str, **fields: Unpack[WarningFields]) -> None:
        merged: WarningFields = {**self.span, **fields}
        self.log.add(kind, status, **merged)

    def skip(self, kind: str, **fields: Unpack[WarningFields]) -> None:
        self.add(kind, "skipped", **fields)

    def approximate(self, kind: str, **fields: Unpack[WarningFields]) -> None:
        self.add(kind, "approximated", **fields)

    def note(self, kind: str, **fields: Unpack[WarningFields]) -> None:
        self.add(kind, "note", **fields)


def dropped_values(draft: Draft, log: WarningLog) -> None:
    """One warning per value the parser ignored (wrong type; the default is used instead)."""
    for text in draft.dropped_values:
        log.skip("draft_value", message=f"{text}; default used instead")
