"""The time contract (pure): integer microseconds, rational frame rates, one rounding rule.

See docs/time.md. Every conversion between frame indices, microseconds and audio samples
happens here, in integer arithmetic, so that nothing drifts over long timelines.
"""

from __future__ import annotations

from fractions import Fraction

US_PER_S = 1_000_000

# Frame rates that editors write as rounded decimals but mean as NTSC rationals.
_NTSC = {
    Fraction(2997, 125): Fraction(24000, 1001),  # 23.976
    Fraction(2997, 100): Fraction(30000, 1001),  # 29.97
    Fraction(5994, 100): Fraction(60000, 1001),  # 59.94
}


def fps_fraction(value: float | int | str | Fraction) -> Fraction:
    """A draft's ``fps`` number as an exact rational (29.97 means 30000/1001)."""
    if isinstance(value, Fraction):
        fps = value
    elif isinstance(value, str):
        fps = Fraction(value)
    else:
        fps = Fraction(value).limit_denominator(1001)
    for approx, exact in _NTSC.items():
        if abs(fps - approx) < Fraction(1, 200):
            return exact
    if fps <= 0:
        raise ValueError(f"frame rate must be positive, got {value!r}")
    return fps


def _div_round_half_up(num: int, den: int) -> int:
    """round(num / den) with halves rounded up, exact for integers (den > 0)."""
    return (2 * num + den) // (2 * den)


def frame_time_us(index: int, fps: Fraction) -> int:
    """Timeline time of output frame ``index``: round(index × 10⁶ / fps), halves up.

    This is the only place that maps frame indices to time.
    """
    return _div_round_half_up(index * US_PER_S * fps.denominator, fps.numerator)


def frame_count(duration_us: int, fps: Fraction) -> int:
    """Number of frames covering ``[0, duration_us)``: ceil(duration × fps / 10⁶)."""
    if duration_us <= 0:
        return 0
    num = duration_us * fps.numerator
    den = US_PER_S * fps.denominator
    return -(-num // den)


def first_frame_at_or_after(t_us: int, fps: Fraction) -> int:
    """Smallest frame index n with frame_time_us(n) >= t_us."""
    if t_us <= 0:
        return 0
    n = (t_us * fps.numerator) // (US_PER_S * fps.denominator)
    while frame_time_us(n, fps) < t_us:
        n += 1
    while n > 0 and frame_time_us(n - 1, fps) >= t_us:
        n -= 1
    return n


def sample_at_frame(index: int, fps: Fraction, rate: int) -> int:
    """First audio sample of output frame ``index`` (floor(index × rate / fps)).

    Audio blocks are [sample_at_frame(n), sample_at_frame(n+1)): they tile the timeline
    exactly, so audio never drifts against video whatever the frame rate.
    """
    return (index * rate * fps.denominator) // fps.numerator


def us_to_samples(t_us: int, rate: int) -> int:
    """Sample index of time ``t_us`` (rounded to nearest, halves up)."""
    return _div_round_half_up(t_us * rate, US_PER_S)


def samples_to_us(samples: int, rate: int) -> int:
    return _div_round_half_up(samples * US_PER_S, rate)
