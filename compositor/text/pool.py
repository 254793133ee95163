"""Text pictures for the compositor (pixels, cached): the planes of a text DrawOp.

A static caption is rasterised once — the first time one of its frames is drawn — and its
YUVA planes are kept while its clip is on screen, then dropped (memory follows the number
of captions visible at once, not the video length). Animated variants (typewriter counts,
wipe windows) are cached in a small LRU keyed by (layer, reveal, wipe): a typewriter
re-rasterises once per newly shown character, not once per frame.
"""

from __future__ import annotations

from collections import OrderedDict

from ..media.planes import Planes
from .engine import TextLayer


class TextRasters:
    def __init__(self, tl, max_variants: int = 24):
        self._layers: dict[str, TextLayer] = {}
        self._last_us: dict[str, int] = {}
        for track in tl.tracks:
            for c in track.clips:
                if getattr(c, "kind", "media") == "text" and c.text is not None:
                    self._layers[c.media_key] = c.text
                    self._last_us[c.media_key] = max(self._last_us.get(c.media_key, 0), c.target_end_us)
        self._full: dict[str, Planes] = {}
        self._variants: OrderedDict[tuple, Planes] = OrderedDict()
        self._max = max_variants
        self.rasterised = 0  # how many rasters were made (for tests and benchmarks)

    def __contains__(self, key: str) -> bool:
        return key in self._layers

    def __call__(self, op) -> Planes:
        key = op.media_key
        layer = self._layers[key]
        if op.reveal < 0 and op.wipe == (0.0, 1.0):
            planes = self._full.get(key)
            if planes is None:
                planes = self._full[key] = layer.planes()
                self.rasterised += 1
            return planes
        vkey = (key, op.reveal, op.wipe)
        planes = self._variants.get(vkey)
        if planes is None:
            planes = layer.planes(op.reveal, op.wipe)
            self.rasterised += 1
            self._variants[vkey] = planes
            if len(self._variants) > self._max:
                self._variants.popitem(last=False)
        else:
            self._variants.move_to_end(vkey)
        return planes

    def advance(self, t_us: int) -> None:
        """Forget the pictures of layers whose clips have all ended."""
        for key in [k for k in self._full if self._last_us.get(k, 0) <= t_us]:
            del self._full[key]
        for vkey in [k for k in self._variants if self._last_us.get(k[0], 0) <= t_us]:
            del self._variants[vkey]

    def clear(self) -> None:
        self._full.clear()
        self._variants.clear()
