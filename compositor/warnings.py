"""Structured render warnings (pure).

Anything a draft asks for that the renderer skips or only imitates is reported as one
:class:`RenderWarning`, never silently. The CLI prints them; the API returns them.
"""

from __future__ import annotations

import msgspec


class RenderWarning(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # "transition", "text", "sticker", "effect", "filter", "mask", ...
    status: str  # "skipped" | "approximated" | "note"
    name: str = ""  # display name as the draft gives it (e.g. 向右擦除)
    resource_id: str = ""
    segment_id: str = ""
    start_us: int | None = None
    end_us: int | None = None
    message: str = ""

    def line(self) -> str:
        where = f" segment {self.segment_id}" if self.segment_id else ""
        when = ""
        if self.start_us is not None and self.end_us is not None:
            when = f" [{self.start_us / 1e6:.3f}s–{self.end_us / 1e6:.3f}s)"
        ident = f" {self.name!s}" if self.name else ""
        rid = f" (resource {self.resource_id})" if self.resource_id else ""
        msg = f": {self.message}" if self.message else ""
        return f"{self.status} {self.kind}{ident}{rid}{where}{when}{msg}"
