"""Audio-timeline helpers for mixer tests (pure; readers are supplied by each test)."""

from fractions import Fraction

import numpy as np

from compositor import timebase
from compositor.audio_mix import AudioMixer
from compositor.geometry import Affine
from compositor.timeline import Timeline


def audio_timeline(clips, duration_us=2_000_000, fps=Fraction(30)) -> Timeline:
    """A picture-less timeline holding only ``clips`` (AudioClips)."""
    return Timeline(
        canvas_width=16,
        canvas_height=16,
        width=16,
        height=16,
        fps=fps,
        duration_us=duration_us,
        first_frame=0,
        frame_count=timebase.frame_count(duration_us, fps),
        canvas_to_output=Affine(),
        tracks=(),
        audio_clips=tuple(clips),
    )


def mix(tl: Timeline, reader) -> np.ndarray:
    """Every block of the timeline's mix, concatenated: (2, samples)."""
    with AudioMixer(tl, reader_factory=reader) as m:
        return np.concatenate([m.block(n) for n in range(tl.frame_count)], axis=1)
