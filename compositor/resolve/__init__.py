"""Resolve a draft into a render timeline (pure, given its inputs).

``resolve(draft, media, options)`` turns the JSON model (:mod:`compositor.draft`) into a
:class:`compositor.timeline.Timeline`: z-order, source/target ranges, speed, fitted
geometry, keyframes, transitions and their windows, canvas fills, audio clips, attachments
looked up in the effect registry, and a warning for everything not rendered exactly.
Facts about media files (decoded size, rotation, duration, audio) are passed in; text is
laid out by a text engine passed in (font files are its only I/O).

The package: :mod:`.resolver` (the walk over the tracks), one module per track kind
(:mod:`.video`, :mod:`.text`, :mod:`.sticker`, :mod:`.adjustment`, :mod:`.audio`), what every
segment shares (:mod:`.segment`), the material index and drawing order (:mod:`.index`), the
output geometry and time range (:mod:`.output`) and the warning collector (:mod:`.collector`).
"""

from __future__ import annotations

from .audio import MAX_GAIN
from .output import check_not_empty
from .resolver import resolve

__all__ = ["resolve", "check_not_empty", "MAX_GAIN"]
