"""AudioMixer with fake readers: placement, gains, fades, keyframes, speed, soft clip."""

from fractions import Fraction

import numpy as np
import pytest

from compositor import timebase
from compositor.audio_mix import RATE, AudioMixer, soft_clip
from tests.audio_helpers import audio_timeline, mix
from compositor.timeline import AudioClip


class RampReader:
    """Source whose sample k (from the reader start) is (k + offset)/1e6 on both channels."""

    opened: list = []

    def __init__(self, path, *, start_us, rate):
        self.pos = timebase.us_to_samples(start_us, rate)
        self.closed = False
        RampReader.opened.append(self)

    def read(self, n):
        k = np.arange(self.pos, self.pos + n, dtype=np.float64) / 1e6
        self.pos += n
        return np.vstack([k, k]).astype(np.float32)

    def close(self):
        self.closed = True


class OnesReader(RampReader):
    def read(self, n):
        self.pos += n
        return np.ones((2, n), np.float32) * 0.5


def test_blocks_tile_the_timeline_exactly():
    tl = audio_timeline([], duration_us=1_001_000, fps=Fraction(30000, 1001))
    out = mix(tl, OnesReader)
    assert out.shape == (2, timebase.sample_at_frame(30, tl.fps, RATE)) == (2, 48048)
    assert not out.any()


def test_sample_accurate_placement_and_volume():
    clip = AudioClip(
        "s", "x", target_start_us=500_000, target_duration_us=500_000, source_start_us=0, speed=1.0, volume=0.5
    )
    out = mix(audio_timeline([clip]), OnesReader)
    start, end = 24_000, 48_000
    assert not out[:, :start].any() and not out[:, end:].any()
    assert np.all(out[:, start:end] == pytest.approx(0.25))


def test_source_offset_is_read_in_order():
    clip = AudioClip(
        "s", "x", target_start_us=0, target_duration_us=1_000_000, source_start_us=1_000_000, speed=1.0, volume=1.0
    )
    out = mix(audio_timeline([clip], 1_000_000), RampReader)
    expect = (np.arange(48_000) + 48_000) / 1e6
    assert np.allclose(out[0], expect, atol=1e-6)


def test_fades_are_linear_ramps():
    clip = AudioClip("s", "x", 0, 1_000_000, 0, 1.0, 1.0, fade_in_us=250_000, fade_out_us=500_000)
    out = mix(audio_timeline([clip], 1_000_000), OnesReader)[0]
    assert out[0] == 0.0
    assert out[6000] == pytest.approx(0.5 * 0.5, abs=1e-3)  # half-way through the fade-in
    assert out[20_000] == pytest.approx(0.5)
    assert out[36_000] == pytest.approx(0.5 * 0.5, abs=1e-3)  # half-way through the fade-out


def test_volume_keyframes_replace_the_volume():
    clip = AudioClip("s", "x", 0, 1_000_000, 0, 1.0, 0.1, volume_keyframes=((0, 0.0), (1_000_000, 1.0)))
    out = mix(audio_timeline([clip], 1_000_000), OnesReader)[0]
    assert out[24_000] == pytest.approx(0.5 * 0.5, abs=1e-3)


def test_speed_reads_faster_without_drift():
    # is_tone_modify: resampled (pitch follows speed); see test_effects_audio_speed for atempo
    clip = AudioClip("s", "x", 0, 1_000_000, 0, 2.0, 1.0, tone_modify=True)
    out = mix(audio_timeline([clip], 1_000_000), RampReader)[0]
    assert np.allclose(out, np.arange(48_000) * 2 / 1e6, atol=1e-6)


def test_readers_close_after_the_clip():
    RampReader.opened = []
    clip = AudioClip("s", "x", 0, 100_000, 0, 1.0, 1.0)
    tl = audio_timeline([clip], 1_000_000)
    m = AudioMixer(tl, reader_factory=RampReader)
    for n in range(tl.frame_count):
        m.block(n)
    assert len(RampReader.opened) == 1 and RampReader.opened[0].closed


def test_soft_clip_keeps_small_values_and_bounds_large_ones():
    x = np.array([0.1, -0.5, 0.9, 1.5, -3.0, 10.0], np.float32)
    y = soft_clip(x.copy())
    assert np.array_equal(y[:3], x[:3])
    assert np.all(np.abs(y) <= 1.0) and y[3] > 0.9 and y[4] < -0.9
    assert np.all(np.diff(soft_clip(np.linspace(0, 4, 100).astype(np.float32))) >= 0)
