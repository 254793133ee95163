"""End-to-end renders of small hand-made drafts: rotation metadata, VFR, stills, gaps, audio edge cases."""

import json

import av
import numpy as np
import pytest

from compositor import RenderOptions, render
from fixtures.media import make_audio, make_image, make_vfr_video, make_video
from tests.draft_helpers import minimal_draft, segment, track, video_material

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def write_draft(folder, obj):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "draft_content.json").write_text(json.dumps(obj))
    return folder


def frame_at(path, t):
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            if f.time >= t - 1e-6:
                return f.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {t}")


def near(rgb, want, tol=40):
    return np.abs(np.asarray(rgb, int) - want).max() <= tol


def test_rotation_metadata_is_honoured(tmp_path):
    clip = make_video(tmp_path / "phone.mp4", w=128, h=72, dur_s=1.0, pattern="quad", rotate=90)
    mat = video_material("v", w=128, h=72, dur=1_000_000) | {"path": str(clip)}
    folder = write_draft(
        tmp_path / "d",
        minimal_draft(
            width=72, height=128, videos=[mat], tracks=[track("t", "video", [segment("s", "v", 0, 1_000_000)])]
        ),
    )
    out = tmp_path / "out.mp4"
    render(folder, out, RenderOptions(preset="ultrafast"))
    rgb = frame_at(out, 0.5)
    # coded quadrants TL red, TR green, BL blue, BR white; turned 90° clockwise for display:
    # top-left = BL blue, top-right = TL red, bottom-left = BR white, bottom-right = TR green.
    assert near(rgb[20, 15], BLUE) and near(rgb[20, 55], RED)
    assert near(rgb[108, 15], WHITE) and near(rgb[108, 55], GREEN)


def test_variable_frame_rate_source_stays_in_sync(tmp_path):
    # frames at irregular times: red 0-400 ms, green 400-450 ms, blue 450-1000 ms
    clip = make_vfr_video(
        tmp_path / "vfr.mp4", w=64, h=36, pts_ms=[0, 400, 450], colors=[RED, GREEN, BLUE], end_ms=1000
    )
    mat = video_material("v", w=64, h=36, dur=1_000_000) | {"path": str(clip)}
    folder = write_draft(
        tmp_path / "d",
        minimal_draft(
            width=64, height=36, videos=[mat], tracks=[track("t", "video", [segment("s", "v", 0, 1_000_000)])]
        ),
    )
    out = tmp_path / "out.mp4"
    render(folder, out, RenderOptions(preset="ultrafast"))
    assert near(frame_at(out, 0.3)[18, 32], RED)
    assert near(frame_at(out, 0.6)[18, 32], BLUE)


def test_still_with_alpha_over_video_and_gap_is_black(tmp_path):
    bg = make_video(tmp_path / "bg.mp4", w=64, h=36, dur_s=1.0, pattern="solid", color=BLUE)
    rgba = np.zeros((36, 64, 4), np.uint8)
    rgba[:, :32] = (255, 0, 0, 255)  # left half opaque red, right half transparent
    logo = make_image(tmp_path / "logo.png", w=64, h=36, rgb=rgba)
    mats = [
        video_material("bg", w=64, h=36, dur=1_000_000) | {"path": str(bg)},
        video_material("logo", w=64, h=36, kind="photo") | {"path": str(logo)},
    ]
    obj = minimal_draft(
        width=64,
        height=36,
        videos=mats,
        tracks=[
            track("t1", "video", [segment("b", "bg", 0, 1_000_000)]),
            track("t2", "video", [segment("l", "logo", 0, 2_000_000, render_index=2)]),
        ],
    )
    out = tmp_path / "out.mp4"
    render(write_draft(tmp_path / "d", obj), out, RenderOptions(preset="ultrafast"))
    rgb = frame_at(out, 0.5)
    assert near(rgb[18, 10], RED) and near(rgb[18, 50], BLUE)
    rgb = frame_at(out, 1.5)  # video ended: black behind the logo
    assert near(rgb[18, 10], RED) and near(rgb[18, 50], (0, 0, 0))


def test_segment_longer_than_its_media_holds_the_last_frame(tmp_path):
    clip = make_video(tmp_path / "c.mp4", w=64, h=36, dur_s=0.5, pattern="solid", color=GREEN, tone_hz=440)
    mat = video_material("v", w=64, h=36, dur=500_000) | {"path": str(clip)}
    obj = minimal_draft(
        width=64, height=36, videos=[mat], tracks=[track("t", "video", [segment("s", "v", 0, 1_500_000)])]
    )
    out = tmp_path / "out.mp4"
    render(write_draft(tmp_path / "d", obj), out, RenderOptions(preset="ultrafast"))
    assert near(frame_at(out, 1.2)[18, 32], GREEN)
    with av.open(str(out)) as c:
        pcm = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    rate = 48000
    assert np.abs(pcm[:, int(0.1 * rate) : int(0.4 * rate)]).max() > 0.3  # the tone
    assert np.abs(pcm[:, int(0.7 * rate) : int(1.4 * rate)]).max() < 0.01  # silence after the media


def test_mono_audio_is_upmixed_at_the_same_level(tmp_path):
    mono = make_audio(tmp_path / "m.wav", dur_s=1.0, rate=48000, channels=1, tone_hz=1000, amp=0.5)
    bg = make_video(tmp_path / "bg.mp4", w=64, h=36, dur_s=1.0, pattern="solid", color=BLUE)
    obj = minimal_draft(
        width=64,
        height=36,
        videos=[video_material("bg", 64, 36, 1_000_000) | {"path": str(bg)}],
        audios=[{"id": "m", "type": "extract_music", "path": str(mono), "duration": 1_000_000}],
        tracks=[
            track("v", "video", [segment("b", "bg", 0, 1_000_000)]),
            track("a", "audio", [segment("s", "m", 0, 1_000_000) | {"clip": None}]),
        ],
    )
    out = tmp_path / "out.mp4"
    render(write_draft(tmp_path / "d", obj), out, RenderOptions(preset="ultrafast"))
    with av.open(str(out)) as c:
        pcm = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    peak = np.abs(pcm[:, 4800:40000]).max(axis=1)
    assert peak == pytest.approx([0.5, 0.5], abs=0.05)
