"""Animation family (pure): in / out / group / loop animations as data → per-frame state.

JianYing animations are proprietary; each registry entry imitates one by name (spec §10).
An implementation is a function of progress ``p`` in [0, 1] returning an
:class:`AnimState`, which the planner combines with the clip's own values and keyframes:
alpha and scale multiply, offsets and rotation add.

Timing (spec §10): ``in`` runs over ``[start, start + duration)`` and is the identity after;
``out`` runs over its window and is the identity before; ``group`` spans its window; ``loop``
repeats with period ``duration`` from ``start`` until the out animation begins (or the
segment ends).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .registry import EXACT, Entry


@dataclass(frozen=True, slots=True)
class AnimState:
    alpha: float = 1.0             # multiplies opacity
    scale: float = 1.0             # multiplies both scale axes
    dx: float = 0.0                # added to clip x (half-canvas widths, right positive)
    dy: float = 0.0                # added to clip y (half-canvas heights, up positive)
    rotation: float = 0.0          # added degrees, clockwise
    reveal: float = 1.0            # text: fraction of characters shown (typewriter)

    def combine(self, other: "AnimState") -> "AnimState":
        return AnimState(self.alpha * other.alpha, self.scale * other.scale, self.dx + other.dx,
                         self.dy + other.dy, self.rotation + other.rotation, min(self.reveal, other.reveal))


IDENTITY = AnimState()


@dataclass(frozen=True, slots=True)
class AnimationSpec:
    """One animation of a segment, resolved against the registry."""

    type: str                      # "in" | "out" | "group" | "loop"
    name: str
    impl: str                      # key into IMPLS
    start_us: int                  # relative to the segment start
    duration_us: int
    resource_id: str = ""


def smooth(p: float) -> float:
    """Smoothstep easing (for approximations that should start and stop gently)."""
    return p * p * (3 - 2 * p)


# impl key -> function(p) -> AnimState; p runs 0 -> 1 over the animation window.
IMPLS: dict[str, Callable[[float], AnimState]] = {
    "fade_in": lambda p: AnimState(alpha=p),
    "fade_out": lambda p: AnimState(alpha=1.0 - p),
}

ENTRIES = (
    Entry("animation_in", "渐显", "fade_in", EXACT, resource_ids=("6798320778182922760",),
          note="opacity 0 → 1"),
    Entry("animation_out", "渐隐", "fade_out", EXACT, note="opacity 1 → 0"),
)


def state_at(specs: tuple[AnimationSpec, ...], local_us: int, segment_duration_us: int) -> AnimState:
    """Combined animation state of a segment at ``local_us`` from its start."""
    if not specs:
        return IDENTITY
    out_start = min((s.start_us for s in specs if s.type == "out"), default=segment_duration_us)
    state = IDENTITY
    for s in specs:
        fn = IMPLS.get(s.impl)
        if fn is None or s.duration_us <= 0:
            continue
        rel = local_us - s.start_us
        if s.type == "in":
            if rel >= s.duration_us:
                continue
            p = min(max(rel / s.duration_us, 0.0), 1.0)
        elif s.type == "out":
            if rel < 0:
                continue
            p = min(rel / s.duration_us, 1.0)
        elif s.type == "loop":
            if rel < 0 or local_us >= out_start:
                continue
            p = (rel % s.duration_us) / s.duration_us
        else:  # group
            p = min(max(rel / s.duration_us, 0.0), 1.0)
        state = state.combine(fn(p))
    return state


__all__ = ["AnimState", "AnimationSpec", "IMPLS", "ENTRIES", "state_at", "IDENTITY", "smooth"]
