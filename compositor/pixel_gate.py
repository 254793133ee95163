"""A counting gate on the pixels being decoded at once (pure, no I/O; thread-safe).

Decoding a still holds its decoded image and its planes (about 5.5 bytes a pixel for a
photo) until it is done; the catalogue's thread pool would otherwise decode as many large
photos at once as it has threads.  ``with gate(pixels):`` waits until the pixels already
admitted plus ``pixels`` fit the budget; an image larger than the whole budget is
admitted alone, so nothing ever waits forever.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PixelGate"]


class PixelGate:
    def __init__(self, budget_px: int):
        if budget_px <= 0:
            raise ValueError(f"budget_px must be positive, got {budget_px}")
        self.budget_px = int(budget_px)
        self.admitted_px = 0
        #: the most pixels admitted at once (for tests and benchmarks)
        self.peak_px = 0
        self._cond = threading.Condition()

    @contextmanager
    def __call__(self, pixels: int) -> Iterator[None]:
        pixels = int(pixels)
        with self._cond:
            while self.admitted_px and self.admitted_px + pixels > self.budget_px:
                self._cond.wait()
            self.admitted_px += pixels
            self.peak_px = max(self.peak_px, self.admitted_px)
        try:
            yield
        finally:
            with self._cond:
                self.admitted_px -= pixels
                self._cond.notify_all()
