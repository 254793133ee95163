"""Sticker family (pure data): the registry entry and the size of a sticker at scale 1.

Where a sticker's image comes from (material path, user sticker table) is I/O and lives in
:mod:`compositor.stickers`.
"""

from __future__ import annotations

from ..geometry import Affine
from ..registry import APPROXIMATED, Entry

ENTRIES = (
    Entry(
        "sticker",
        "image sticker",
        "still",
        APPROXIMATED,
        note="artwork from the material's path/URL or a user sticker table (resource id → image); "
        "longer side ⅓ of min(W, H) at scale 1 (uncalibrated); animated stickers as stills",
    ),
)

# A sticker's longer side at scale 1, as a fraction of min(canvas W, H) (uncalibrated, docs/format.md#stickers).
BASE_FRACTION = 1.0 / 3.0


def sticker_base(width: int, height: int, canvas_w: int, canvas_h: int) -> Affine:
    """Sticker image pixels → element-centred canvas pixels at scale 1 (longer side ⅓ min(W, H))."""
    s = BASE_FRACTION * min(canvas_w, canvas_h) / max(width, height, 1)
    return Affine.translate(-width / 2.0, -height / 2.0).then(Affine.scale(s))
