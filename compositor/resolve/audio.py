"""Sound: audio-track segments and the soundtracks of video segments (pure).

Audio at speed ≠ 1 is time-stretched with FFmpeg's atempo (pitch kept) or, with
``is_tone_modify``, resampled (pitch follows speed): both as the draft asks, no warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from ..draft import AudioFade, Segment
from ..errors import DraftError
from ..timeline import AudioClip, MediaFacts
from .collector import WarningLog
from .segment import keyframes, speed as segment_speed

# Largest linear gain taken from a draft (JianYing's slider tops out far below: +20 dB = 10).
MAX_GAIN = 100.0


def gain(value: float) -> float:
    """A draft volume as a usable gain: clamped to [0, MAX_GAIN], 1 when not finite."""
    return min(max(value, 0.0), MAX_GAIN) if math.isfinite(value) else 1.0


def fades_us(atts: Sequence[tuple[str, object]]) -> tuple[int, int]:
    """(fade in, fade out) µs of a segment's audio fade attachment; (0, 0) without one."""
    for _, obj in atts:
        if isinstance(obj, AudioFade):
            return max(0, obj.fade_in_duration), max(0, obj.fade_out_duration)
    return 0, 0


def audio_clip(
    seg: Segment,
    atts: Sequence[tuple[str, object]],
    facts: MediaFacts | None,
    path: str,
    warnings: WarningLog,
    fps: Fraction,
) -> AudioClip | None:
    """The sound of an audio-track segment (None when its file has no audio)."""
    if facts is None:
        raise DraftError(f"no media for audio material {seg.material_id!r}", path + ".material_id")
    if not facts.has_audio or seg.target_timerange.duration <= 0:
        return None
    return sound(seg, atts, facts, segment_speed(seg, atts, warnings, fps), keyframe_warnings=warnings)


def sound(
    seg: Segment,
    atts: Sequence[tuple[str, object]],
    facts: MediaFacts,
    speed: float,
    keyframe_warnings: WarningLog | None = None,
) -> AudioClip:
    """The AudioClip of a segment that sounds (audio segments and videos' own soundtracks).

    ``keyframe_warnings`` receives warnings about keyframed properties sound ignores (video
    segments report theirs once, from the picture side)."""
    fin, fout = fades_us(atts)
    kfs = dict(keyframes(seg, WarningLog() if keyframe_warnings is None else keyframe_warnings, {"KFTypeVolume"}))
    src = seg.source_timerange or type(seg.target_timerange)(0, seg.target_timerange.duration)
    return AudioClip(
        segment_id=seg.id,
        media_key=facts.path,
        target_start_us=seg.target_timerange.start,
        target_duration_us=seg.target_timerange.duration,
        source_start_us=src.start,
        speed=speed,
        volume=gain(seg.volume),
        fade_in_us=fin,
        fade_out_us=fout,
        volume_keyframes=tuple((t, gain(v)) for t, v in kfs.get("KFTypeVolume", ())),
        tone_modify=seg.is_tone_modify,
    )
