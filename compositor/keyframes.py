"""Keyframe interpolation (pure).

A keyframed property is a tuple of ``(offset_us, value)`` pairs sorted by offset, offsets
relative to the segment's start on the timeline (docs/format.md#keyframes). Between neighbours the value
is linear; before the first keyframe the first value holds, after the last the last holds.
"""

from __future__ import annotations

from bisect import bisect_right

Track = tuple[tuple[int, float], ...]


def evaluate(points: Track, local_us: int | float) -> float:
    """Value of a keyframe track at ``local_us`` (µs from the segment start)."""
    if not points:
        raise ValueError("empty keyframe track")
    if local_us <= points[0][0]:
        return points[0][1]
    if local_us >= points[-1][0]:
        return points[-1][1]
    i = bisect_right([p[0] for p in points], local_us)
    (t0, v0), (t1, v1) = points[i - 1], points[i]
    if t1 == t0:
        return v1
    return v0 + (v1 - v0) * (local_us - t0) / (t1 - t0)
