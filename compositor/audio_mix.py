"""The timeline's sound (I/O: reads audio through AudioReader).

``AudioMixer.block(n)`` returns the 48 kHz stereo samples that belong to output frame n:
samples ``[sample_at_frame(n), sample_at_frame(n+1))`` of the timeline, so blocks tile the
whole timeline exactly and audio cannot drift against video. Each clip is read sequentially
by its own AudioReader, opened when the clip first sounds and closed after it ends; memory
is a few blocks whatever the length. Gain per clip = volume × volume keyframes × fades.
The mix is a plain sum with a soft knee above −0.9 dBFS instead of hard clipping.

Speed ≠ 1 (docs/format.md#audio): the clip's source is time-stretched with FFmpeg's ``atempo``
(pitch kept, :class:`compositor.tempo.Tempo`), or — when the segment sets
``is_tone_modify`` — linearly resampled so the pitch follows the speed.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import keyframes, timebase
from .media.audio_reader import AudioReader
from .tempo import Tempo
from .timeline import AudioClip, Timeline

RATE = 48_000
_KNEE = 0.9


class _ClipState:
    __slots__ = ("clip", "start_sample", "end_sample", "reader", "open_offset", "buf", "buf_start", "tempo")

    def __init__(self, clip: AudioClip):
        self.clip = clip
        self.start_sample = timebase.us_to_samples(clip.target_start_us, RATE)
        self.end_sample = timebase.us_to_samples(clip.target_end_us, RATE)
        self.reader: AudioReader | None = None
        self.open_offset = 0  # clip offset (output samples) at which the reader started
        self.buf = np.zeros((2, 0), np.float32)  # source samples kept for interpolation
        self.buf_start = 0  # source sample index (from the reader start) of buf[:, 0]
        self.tempo: Tempo | None = None  # pitch-keeping stretch (speed ≠ 1, no tone modify)


def soft_clip(x: np.ndarray) -> np.ndarray:
    """Identity below the knee, smooth saturation towards ±1 above it (in place)."""
    over = np.abs(x) > _KNEE
    if over.any():
        v = x[over]
        x[over] = np.sign(v) * (_KNEE + (1 - _KNEE) * np.tanh((np.abs(v) - _KNEE) / (1 - _KNEE)))
    return x


class AudioMixer:
    def __init__(self, tl: Timeline, *, reader_factory: Callable[..., AudioReader] = AudioReader):
        self._tl = tl
        self._factory = reader_factory
        self._clips = [_ClipState(c) for c in tl.audio_clips]

    def block(self, index: int) -> np.ndarray:
        """Samples (2, n) float32 of output frame ``index``."""
        tl = self._tl
        b0 = timebase.sample_at_frame(tl.first_frame + index, tl.fps, RATE)
        b1 = timebase.sample_at_frame(tl.first_frame + index + 1, tl.fps, RATE)
        out = np.zeros((2, b1 - b0), np.float32)
        for st in self._clips:
            s0, s1 = max(b0, st.start_sample), min(b1, st.end_sample)
            if s0 >= s1:
                if st.reader is not None and b0 >= st.end_sample:
                    st.reader.close()
                    st.reader = None
                continue
            out[:, s0 - b0 : s1 - b0] += self._clip_samples(st, s0, s1)
        return soft_clip(out)

    def _clip_samples(self, st: _ClipState, s0: int, s1: int) -> np.ndarray:
        clip = st.clip
        off0, off1 = s0 - st.start_sample, s1 - st.start_sample  # offsets in the clip, samples
        if st.reader is None:
            # First sound of the clip (mid-clip when a time range was asked for).
            start_us = clip.source_start_us + round(off0 * clip.speed * timebase.US_PER_S / RATE)
            st.reader = self._factory(clip.media_key, start_us=start_us, rate=RATE)
            st.open_offset = off0
        if abs(clip.speed - 1.0) < 1e-9:
            samples = st.reader.read(off1 - off0)
        elif clip.tone_modify:
            samples = self._read_at_speed(st, off0, off1)
        else:
            samples = self._read_stretched(st, off1 - off0)
        return samples * self._gain(clip, off0, off1)

    @staticmethod
    def _read_stretched(st: _ClipState, n: int) -> np.ndarray:
        """The next ``n`` time-stretched samples (pitch kept). Source is pulled in chunks of
        about ``n × speed``; the filter's output is queued in ``st.buf``."""
        if st.tempo is None:
            st.tempo = Tempo(st.clip.speed, RATE)
            st.buf = np.zeros((2, 0), np.float32)
        while st.buf.shape[1] < n:
            chunk = max(1024, int((n - st.buf.shape[1]) * st.clip.speed) + 256)
            st.buf = np.concatenate([st.buf, st.tempo.push(st.reader.read(chunk))], axis=1)
        out, st.buf = st.buf[:, :n], st.buf[:, n:]
        return out

    @staticmethod
    def _read_at_speed(st: _ClipState, off0: int, off1: int) -> np.ndarray:
        """Source samples for clip offsets [off0, off1) at the clip's speed (linear resampling;
        pitch follows speed). Positions derive from integer offsets, so nothing drifts."""
        speed = st.clip.speed
        pos = (np.arange(off0, off1, dtype=np.float64) - st.open_offset) * speed
        need_end = int(np.floor(pos[-1])) + 2  # one sample beyond for interpolation
        have_end = st.buf_start + st.buf.shape[1]
        if need_end > have_end:
            st.buf = np.concatenate([st.buf, st.reader.read(need_end - have_end)], axis=1)
        idx = np.arange(st.buf_start, st.buf_start + st.buf.shape[1], dtype=np.float64)
        out = np.empty((2, off1 - off0), np.float32)
        for ch in range(2):
            out[ch] = np.interp(pos, idx, st.buf[ch])
        keep_from = int(np.floor((off1 - st.open_offset) * speed)) - st.buf_start
        if keep_from > 0:
            st.buf = st.buf[:, keep_from:]
            st.buf_start += keep_from
        return out

    def _gain(self, clip: AudioClip, off0: int, off1: int) -> np.ndarray | float:
        fade_in = timebase.us_to_samples(clip.fade_in_us, RATE)
        fade_out = timebase.us_to_samples(clip.fade_out_us, RATE)
        length = timebase.us_to_samples(clip.target_duration_us, RATE)
        needs_curve = (
            bool(clip.volume_keyframes) or (fade_in and off0 < fade_in) or (fade_out and off1 > length - fade_out)
        )
        if not needs_curve:
            return clip.volume
        pos = np.arange(off0, off1, dtype=np.float64)
        if clip.volume_keyframes:
            t_us = pos * (timebase.US_PER_S / RATE)
            # Keyframes are linear between points: evaluate at the block ends and between.
            knots = np.array(
                sorted({t_us[0], t_us[-1], *(float(k) for k, _ in clip.volume_keyframes if t_us[0] < k < t_us[-1])})
            )
            g = np.interp(t_us, knots, [keyframes.evaluate(clip.volume_keyframes, k) for k in knots])
        else:
            g = np.full(len(pos), clip.volume)
        if fade_in:
            g *= np.clip(pos / fade_in, 0.0, 1.0)
        if fade_out:
            g *= np.clip((length - pos) / fade_out, 0.0, 1.0)
        return g.astype(np.float32)

    def close(self) -> None:
        for st in self._clips:
            if st.reader is not None:
                st.reader.close()
                st.reader = None

    def __enter__(self) -> "AudioMixer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
