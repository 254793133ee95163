"""Speed (docs/effects.md#speed): pitch-keeping time stretch through FFmpeg's atempo, resampling when
``is_tone_modify``, capcut-mate's scene_timelines speeds for video and audio, fades and volume
keyframes at speed, and a real render whose soundtrack keeps its pitch."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from tests.audio_helpers import audio_timeline, mix

from compositor import RenderOptions, render, timebase
from compositor.audio_mix import RATE
from compositor.plan import DrawOp, plan_frame
from compositor.tempo import Tempo, atempo_factors
from compositor.resolve import resolve
from compositor.timeline import AudioClip
from fixtures.media import make_audio, make_video
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material


def _peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


def _sine(n, hz=440.0, start=0, amp=0.5):
    t = np.arange(start, start + n) / RATE
    s = (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.vstack([s, s])


@pytest.mark.parametrize("speed", [0.3, 0.5, 0.8, 1.5, 2.0, 3.0, 5.0])
def test_atempo_chain_multiplies_to_the_speed(speed):
    f = atempo_factors(speed)
    assert np.prod(f) == pytest.approx(speed) and all(0.5 <= x <= 2.0 for x in f)


@pytest.mark.parametrize("speed", [0.5, 1.5, 3.0])
def test_tempo_keeps_the_pitch_and_scales_the_length(speed):
    t = Tempo(speed)
    src = _sine(RATE * 2)
    out = np.concatenate([t.push(src[:, i : i + 3000]) for i in range(0, src.shape[1], 3000)] + [t.flush()], axis=1)
    assert out.shape[1] == pytest.approx(src.shape[1] / speed, rel=0.03)
    assert _peak_hz(out[0, 2000:-2000]) == pytest.approx(440, rel=0.02)


class SineReader:
    def __init__(self, path, *, start_us, rate):
        self.pos = timebase.us_to_samples(start_us, rate)

    def read(self, n):
        out = _sine(n, start=self.pos)
        self.pos += n
        return out

    def close(self):
        pass


class OnesReader(SineReader):
    def read(self, n):
        self.pos += n
        return np.full((2, n), 0.5, np.float32)


def _tl(clips, duration_us=1_000_000):
    return audio_timeline(clips, duration_us)


@pytest.mark.parametrize("tone_modify, hz", [(False, 440), (True, 880)])
def test_mixer_keeps_the_pitch_unless_tone_modify(tone_modify, hz):
    clip = AudioClip("s", "x", 0, 1_000_000, 0, 2.0, 1.0, tone_modify=tone_modify)
    out = mix(_tl([clip]), SineReader)
    assert out.shape[1] == RATE
    assert _peak_hz(out[0, 4000:]) == pytest.approx(hz, rel=0.02)
    assert np.abs(out[0, 4000:]).max() == pytest.approx(0.5, abs=0.08)  # level kept


def test_fades_and_volume_keyframes_apply_at_speed():
    clip = AudioClip(
        "s",
        "x",
        0,
        1_000_000,
        0,
        1.5,
        1.0,
        fade_in_us=200_000,
        fade_out_us=200_000,
        volume_keyframes=((0, 1.0), (1_000_000, 0.0)),
    )
    out = mix(_tl([clip]), OnesReader)[0]
    assert abs(out[0]) < 1e-3 and abs(out[-1]) < 1e-3
    mid = out[24_000 - 500 : 24_000 + 500].mean()  # volume 0.5 at 0.5 s, no fade
    assert mid == pytest.approx(0.5 * 0.5, rel=0.1)
    assert out[4800] == pytest.approx(0.5 * 0.5 * 0.9, rel=0.1)  # half-way through the fade-in


# -- timeline: capcut-mate scene_timelines and speed materials -------------------------------------


def _speed_draft(speed_mode=0, curve=None, tone=False):
    v = [video_material("v", dur=20_000_000)]
    a = [{"id": "au", "type": "extract_music", "path": "/a.mp3", "duration": 20_000_000}]
    vseg = segment("V", "v", 0, 2_000_000, src_start=1_000_000, speed=2.5, refs=["sp"])
    aseg = segment("A", "au", 0, 2_000_000, speed=0.5, refs=["sp2"])
    aseg["clip"] = None
    aseg["is_tone_modify"] = tone
    obj = minimal_draft(
        videos=v,
        audios=a,
        speeds=[
            {"id": "sp", "type": "speed", "speed": 2.5, "mode": speed_mode, "curve_speed": curve},
            {"id": "sp2", "type": "speed", "speed": 0.5, "mode": 0, "curve_speed": None},
        ],
        tracks=[track("v", "video", [vseg]), track("a", "audio", [aseg])],
    )
    d = parse(obj)
    return resolve(d, facts_from_json(d))


def test_scene_timeline_speeds_map_video_and_audio_time():
    tl = _speed_draft()
    op = next(o for o in plan_frame(tl, 30).ops if isinstance(o, DrawOp))  # t = 1 s
    assert op.source_us == 1_000_000 + 2_500_000
    speeds = sorted((c.segment_id, c.speed, c.tone_modify) for c in tl.audio_clips)
    assert speeds == [("A", 0.5, False), ("V", 2.5, False)]
    assert not [w for w in tl.warnings if w.kind == "speed"]
    assert [c.tone_modify for c in _speed_draft(tone=True).audio_clips if c.segment_id == "A"] == [True]


def test_speed_curves_play_at_the_average_speed_with_a_warning():
    tl = _speed_draft(speed_mode=1, curve={"speed_points": [{"x": 0, "y": 1}, {"x": 1, "y": 4}]})
    assert [c.speed for c in tl.tracks[0].clips] == [2.5]
    assert [w.status for w in tl.warnings if w.kind == "speed"] == ["approximated"]


# -- a real render --------------------------------------------------------------------------------


def _output_audio(path):
    with av.open(str(path)) as c:
        rs = av.AudioResampler(format="fltp", layout="mono", rate=RATE)
        chunks = [r.to_ndarray()[0] for f in c.decode(audio=0) for r in rs.resample(f)]
    return np.concatenate(chunks)


@pytest.mark.slow
@pytest.mark.parametrize("tone, hz", [(False, 440), (True, 880)])
def test_render_at_double_speed_keeps_or_raises_the_pitch(tmp_path, tone, hz):
    vid = make_video(tmp_path / "tone.mp4", w=64, h=36, dur_s=4.0, color=(90, 90, 90), tone_hz=440)
    seg = segment("V", "v", 0, 2_000_000, speed=2.0)
    seg["is_tone_modify"] = tone
    obj = minimal_draft(
        width=64,
        height=36,
        videos=[video_material("v", 64, 36, 4_000_000) | {"path": str(vid)}],
        tracks=[track("v", "video", [seg])],
    )
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "draft_content.json").write_text(json.dumps(obj))
    out = tmp_path / "out.mp4"
    render(folder, out, RenderOptions(preset="ultrafast"))
    audio = _output_audio(out)
    assert len(audio) == pytest.approx(2 * RATE, rel=0.05)
    assert _peak_hz(audio[RATE // 4 : RATE + RATE // 2]) == pytest.approx(hz, rel=0.03)


def test_audio_only_clip_at_half_speed_renders(tmp_path):
    song = make_audio(tmp_path / "a.wav", dur_s=2.0, rate=48000, channels=2, tone_hz=330)
    obj = minimal_draft(
        width=32,
        height=32,
        audios=[{"id": "au", "type": "extract_music", "path": str(song), "duration": 2_000_000}],
        tracks=[track("a", "audio", [segment("A", "au", 0, 2_000_000, speed=0.5) | {"clip": None}])],
    )
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "draft_content.json").write_text(json.dumps(obj))
    out = tmp_path / "out.mp4"
    render(folder, out, RenderOptions(preset="ultrafast"))
    audio = _output_audio(out)
    assert _peak_hz(audio[RATE // 4 : RATE + RATE // 2]) == pytest.approx(330, rel=0.03)
