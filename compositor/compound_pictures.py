"""The picture of a compound clip (pixels; I/O through its nested picture pool).

A :class:`CompoundPicture` draws its nested timeline at the time the enclosing clip asks
for, into one picture buffer of the nested output size that is reused for every frame:
plan (:func:`compositor.plan.plan_at`) → the nested :class:`~compositor.pictures.PicturePool`
(same media catalogue, its own decoders, opened and closed as the nested time moves, so
nested compounds recurse) → a :class:`~compositor.pixels.compose.Compositor` of that size. Nothing
is pre-rendered: memory is one buffer, one compositor's scratch and the decoders of the
nested clips visible around the current time, per open compound clip.
"""

from __future__ import annotations

from typing import Callable

from .pixels.compose import Compositor
from .media.planes import Planes
from .plan import plan_at
from .pixels.scratch import new_planes
from .timeline import Timeline


class CompoundPicture:
    """Draws one compound clip's nested timeline on demand (one picture, reused)."""

    def __init__(self, tl: Timeline, make_pool: Callable[[Timeline], object]):
        self.timeline = tl
        self.pool = make_pool(tl)
        self.buffer: Planes = new_planes(tl.width, tl.height)
        self._compositor = Compositor(tl.width, tl.height)
        self._shown_us: int | None = None

    def picture(self, t_us: int) -> Planes:
        """The nested timeline at its time ``t_us`` (clamped to its length)."""
        t = min(max(int(t_us), 0), max(0, self.timeline.duration_us - 1))
        if t != self._shown_us:
            plan = plan_at(self.timeline, t)
            self.pool.advance(t)
            self._compositor.compose(plan, self.buffer, self.pool)
            self._shown_us = t
        return self.buffer

    def close(self) -> None:
        self.pool.close()
