"""Pitch-preserving time stretch through FFmpeg's ``atempo`` filter (I/O-free, uses PyAV).

``Tempo(speed)`` is a streaming filter graph ``abuffer → atempo(…) → aformat → abuffersink``
on float32 planar stereo at a fixed rate: ``push`` source samples, get the stretched ones
back (about ``n / speed`` of them). ``atempo`` accepts factors in [0.5, 100] per instance
(older builds: [0.5, 2]); factors outside [0.5, 2] are split into a chain of instances
within it, e.g. 3 → 2 × 1.5 and 0.3 → 0.5 × 0.6, which FFmpeg's documentation recommends
for quality. ``is_tone_modify = false`` keeps the pitch this way (docs/format.md#audio).
"""

from __future__ import annotations

from fractions import Fraction

import av
import av.filter
import numpy as np

from .errors import AudioError

__all__ = ["Tempo", "atempo_factors"]

_FRAME = 2048  # samples per frame pushed into the graph


def atempo_factors(speed: float) -> list[float]:
    """Split ``speed`` into factors in [0.5, 2] whose product is ``speed``."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed!r}")
    out = []
    f = float(speed)
    while f > 2.0:
        out.append(2.0)
        f /= 2.0
    while f < 0.5:
        out.append(0.5)
        f /= 0.5
    out.append(f)
    return out


class Tempo:
    """Streaming time stretch of (2, n) float32 blocks by ``speed`` (pitch kept)."""

    def __init__(self, speed: float, rate: int = 48_000, layout: str = "stereo"):
        self.speed = float(speed)
        self.rate = int(rate)
        self.layout = layout
        self.channels = av.AudioLayout(layout).nb_channels
        self._pts = 0
        self._flushed = False
        try:
            g = av.filter.Graph()
            nodes = [
                g.add_abuffer(sample_rate=self.rate, format="fltp", layout=layout, time_base=Fraction(1, self.rate))
            ]
            for f in atempo_factors(self.speed):
                nodes.append(g.add("atempo", f"{f:.10g}"))
            nodes.append(g.add("aformat", f"sample_fmts=fltp:channel_layouts={layout}"))
            nodes.append(g.add("abuffersink"))
            g.link_nodes(*nodes).configure()
        except (av.FFmpegError, ValueError) as exc:
            raise AudioError(f"cannot build the atempo filter for speed {speed:g}: {exc}") from exc
        self._graph = g

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Feed (channels, n) float32 source samples; return the stretched samples ready so far."""
        if self._flushed:
            raise AudioError("tempo filter already flushed")
        samples = np.asarray(samples, dtype=np.float32)
        out = []
        for i in range(0, samples.shape[1], _FRAME):  # small frames: atempo answers sooner
            block = np.ascontiguousarray(samples[:, i : i + _FRAME])
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=self.layout)
            frame.sample_rate = self.rate
            frame.time_base = Fraction(1, self.rate)
            frame.pts = self._pts
            self._pts += block.shape[1]
            self._graph.push(frame)
            out.append(self._drain())
        if not out:
            return np.zeros((self.channels, 0), np.float32)
        return np.concatenate(out, axis=1)

    def flush(self) -> np.ndarray:
        """End of input: the remaining stretched samples."""
        if self._flushed:
            return np.zeros((self.channels, 0), np.float32)
        self._flushed = True
        self._graph.push(None)
        return self._drain()

    def _drain(self) -> np.ndarray:
        out = []
        while True:
            try:
                frame = self._graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError, BlockingIOError, EOFError):
                break
            out.append(frame.to_ndarray().reshape(self.channels, -1))
        if not out:
            return np.zeros((self.channels, 0), np.float32)
        return np.concatenate(out, axis=1).astype(np.float32, copy=False)
