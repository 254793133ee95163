from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from compositor import timebase as tb

NTSC = Fraction(30000, 1001)


def test_frame_time_at_integer_rate():
    assert [tb.frame_time_us(n, Fraction(30)) for n in range(4)] == [0, 33333, 66667, 100000]


def test_frame_time_at_ntsc_rate():
    assert [tb.frame_time_us(n, NTSC) for n in range(4)] == [0, 33367, 66733, 100100]
    assert tb.frame_time_us(30000, NTSC) == 1_001_000_000


def test_rounding_halves_go_up():
    # 1 frame at 2_000_000 fps... use 8 fps: 125000 exactly; 3 fps: 333333.33 -> 333333
    assert tb.frame_time_us(1, Fraction(3)) == 333333
    assert tb.frame_time_us(1, Fraction(2_000_000, 3)) == 2  # 1.5 µs rounds up


def test_fps_fraction_maps_ntsc_decimals():
    assert tb.fps_fraction(29.97) == NTSC
    assert tb.fps_fraction(23.976) == Fraction(24000, 1001)
    assert tb.fps_fraction(59.94) == Fraction(60000, 1001)
    assert tb.fps_fraction(30) == 30
    assert tb.fps_fraction(25.0) == 25
    with pytest.raises(ValueError):
        tb.fps_fraction(0)


def test_frame_count_is_ceil():
    assert tb.frame_count(5_000_000, Fraction(30)) == 150
    assert tb.frame_count(5_000_001, Fraction(30)) == 151
    assert tb.frame_count(0, Fraction(30)) == 0
    assert tb.frame_count(1_001_000, NTSC) == 30


@given(st.integers(0, 10**7), st.sampled_from([Fraction(30), NTSC, Fraction(25), Fraction(24000, 1001)]))
def test_first_frame_at_or_after_is_minimal(t, fps):
    n = tb.first_frame_at_or_after(t, fps)
    assert tb.frame_time_us(n, fps) >= t
    assert n == 0 or tb.frame_time_us(n - 1, fps) < t


@given(st.integers(0, 10**6), st.sampled_from([Fraction(30), NTSC, Fraction(24000, 1001)]))
def test_audio_blocks_tile_without_drift(n, fps):
    s0 = tb.sample_at_frame(n, fps, 48000)
    s1 = tb.sample_at_frame(n + 1, fps, 48000)
    assert 1 <= s1 - s0 <= 48000 // int(fps) + 2
    # After a whole number of seconds' worth of NTSC frames the sample count is exact.
    assert tb.sample_at_frame(30000, NTSC, 48000) == 48000 * 1001


def test_frame_times_strictly_increase_at_ntsc():
    times = [tb.frame_time_us(n, NTSC) for n in range(2000)]
    assert all(b > a for a, b in zip(times, times[1:]))
    steps = {b - a for a, b in zip(times, times[1:])}
    assert steps <= {33366, 33367}
