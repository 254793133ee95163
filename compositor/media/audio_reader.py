"""Decode the first audio stream of a file as float32 48 kHz stereo blocks (I/O).

::

    AudioReader(path, start_us=…)   seek (with pre-roll) ─▶ decode ─▶ swresample (fltp, rate)
        ─▶ drop the samples before start_us (sample accurate) ─▶ read(n) → (channels, n)

* Start: the container is seeked :data:`PREROLL_US` before ``start_us`` (lossy decoders
  need a little history), then the first decoded frame's pts fixes the position of every
  following sample; ``round((start_us − t0) · rate)`` output samples are dropped, or
  zeros are prepended when the audio begins after ``start_us``.  The resampler keeps
  timing (no delay shift), so a click at source sample k appears at ``k · rate / src_rate``.
* Mono is up-mixed by duplicating the channel: FFmpeg's default mono → stereo matrix puts
  the centre channel at −3 dB in each side (measured: 0.5 → 0.354), which would make a mono
  clip quieter than the same clip in stereo.  Other layouts go through swresample's matrix.
* ``read(n)`` always returns exactly ``n`` samples per channel: zeros after the end.
* Memory is bounded: decoding happens on demand, at most ``n`` + one frame is buffered.
"""

from __future__ import annotations

import os
from collections import deque
from fractions import Fraction

import av
import numpy as np

from compositor.errors import MediaError

__all__ = ["AudioReader", "PREROLL_US"]

#: how far before start_us to seek so lossy decoders are warmed up when start_us is reached
PREROLL_US = 500_000


class AudioReader:
    """Sequential float32 reader of a file's first audio stream (see module doc)."""

    def __init__(self, path: str | os.PathLike, *, start_us: int = 0, rate: int = 48000, layout: str = "stereo"):
        self.path = os.fspath(path)
        self.rate = int(rate)
        self.layout = layout
        self.channels = av.AudioLayout(layout).nb_channels
        self.start_us = int(start_us)
        self._closed = False
        try:
            self._container = av.open(self.path, metadata_errors="ignore")
        except (av.FFmpegError, OSError, ValueError) as e:
            raise MediaError(f"cannot open audio ({e})", self.path) from e
        try:
            if not self._container.streams.audio:
                raise MediaError("no audio stream", self.path)
            self._stream = s = self._container.streams.audio[0]
            src_channels = int(s.codec_context.channels or s.codec_context.layout.nb_channels or 0)
            self._dup_mono = src_channels == 1 and self.channels == 2
            self._resampler = av.AudioResampler(
                format="fltp", layout="mono" if self._dup_mono else layout, rate=self.rate
            )
            self._tb = s.time_base
            self._start_pts = s.start_time if s.start_time is not None else 0
            seek_us = self.start_us - PREROLL_US
            if seek_us > 0:
                ts = self._start_pts + int(Fraction(seek_us, 1_000_000) / self._tb)
                try:
                    self._container.seek(ts, stream=s, backward=True)
                except av.FFmpegError as e:
                    raise MediaError(f"cannot seek audio ({e})", self.path) from e
        except BaseException:
            self._container.close()
            raise
        self._frames = self._decoded()
        self._buf: deque[np.ndarray] = deque()
        self._buffered = 0
        self._drop = 0
        self._first = True
        self._eof = False

    # ------------------------------------------------------------------ public

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples as float32 ``(channels, n)``; zeros past the end."""
        if self._closed:
            raise MediaError("audio reader is closed", self.path)
        n = int(n)
        if n < 0:
            raise ValueError("n must be >= 0")
        self._fill(n)
        out = np.zeros((self.channels, n), np.float32)
        pos = 0
        while pos < n and self._buf:
            blk = self._buf[0]
            k = min(n - pos, blk.shape[1])
            out[:, pos : pos + k] = blk[:, :k]
            pos += k
            if k == blk.shape[1]:
                self._buf.popleft()
            else:
                self._buf[0] = blk[:, k:]
        self._buffered -= pos
        return out

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._buf.clear()
            self._frames = None
            self._container.close()

    def __enter__(self) -> "AudioReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _decoded(self):
        for packet in self._container.demux(self._stream):
            yield from packet.decode()

    def _fill(self, n: int) -> None:
        try:
            while self._buffered < n and not self._eof:
                try:
                    frame = next(self._frames)
                except StopIteration:
                    self._eof = True
                    for out in self._resampler.resample(None):
                        self._append(out.to_ndarray())
                    break
                if self._first:
                    self._first = False
                    self._place_start(frame)
                for out in self._resampler.resample(frame):
                    self._append(out.to_ndarray())
        except MediaError:
            raise
        except (av.FFmpegError, OSError, ValueError) as e:
            raise MediaError(f"cannot decode audio ({e})", self.path) from e

    def _place_start(self, frame) -> None:
        """Drop or pad so the first returned sample is at start_us."""
        if frame.pts is None:
            t0 = Fraction(0)
        else:
            tb = frame.time_base or self._tb
            t0 = (frame.pts - self._start_pts) * tb
        offset = round((Fraction(self.start_us, 1_000_000) - t0) * self.rate)
        if offset > 0:
            self._drop = int(offset)
        elif offset < 0:
            self._push(np.zeros((self.channels, -int(offset)), np.float32))

    def _append(self, arr: np.ndarray) -> None:
        arr = np.asarray(arr, dtype=np.float32)
        if self._dup_mono:
            arr = np.repeat(arr[:1], 2, axis=0)
        if self._drop:
            k = min(self._drop, arr.shape[1])
            self._drop -= k
            arr = arr[:, k:]
        if arr.shape[1]:
            self._push(arr)

    def _push(self, arr: np.ndarray) -> None:
        self._buf.append(arr)
        self._buffered += arr.shape[1]
