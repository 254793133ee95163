"""Transition family (pure data + pixels): registry entries and their kernels.

``blend(kind, dst, a, b, progress)`` combines two full pictures (what clip A and clip B
each look like over the layers below) into ``dst``, plane by plane. ``dst`` may be ``b``.
"""
from __future__ import annotations

from .kernels import crossfade
from .media.planes import Planes
from .registry import APPROXIMATED, EXACT, Entry

ENTRIES = (
    Entry("transition", "叠化", "dissolve", EXACT, resource_ids=("6724845717472416269",),
          aliases=("dissolve", "fade"), note="linear crossfade"),
    Entry("transition", "溶解", "dissolve", APPROXIMATED),
    Entry("transition", "色彩溶解", "dissolve", APPROXIMATED),
    Entry("transition", "水滴溶解", "dissolve", APPROXIMATED),
)

# Name of the fallback implementation for unknown transitions (reported as approximated).
FALLBACK = "dissolve"


def blend(kind: str, dst: Planes, a: Planes, b: Planes, progress: float) -> None:
    """Write the transition picture at ``progress`` (0 = A, 1 = B) into ``dst``."""
    if kind == "dissolve":
        for d, pa, pb in ((dst.y, a.y, b.y), (dst.u, a.u, b.u), (dst.v, a.v, b.v)):
            crossfade(d, pa, pb, progress)
        return
    raise ValueError(f"no kernel for transition {kind!r}")
