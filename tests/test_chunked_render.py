"""Chunked renders through the library: render_range × 3 + render_audio + join_chunks against
one unchunked render of the same draft (frame count, clean decode, A/V drift, exact seams)."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from compositor import join_chunks, open_draft, render_audio, render_range
from compositor.errors import EncodeError, OptionsError
from compositor.pipeline import RenderOptions, chunk_ranges
from fixtures.media import make_video
from tests.server_helpers import tiny_draft

W, H, SECONDS, FPS = 320, 180, 3.0, 30


def _moving(i: int, t: float) -> np.ndarray:
    """Smooth content that moves fast enough that a one-frame shift is visible."""
    xs = np.arange(W, dtype=np.float64)
    ys = np.arange(H, dtype=np.float64)[:, None]
    img = np.empty((H, W, 3), np.uint8)
    img[..., 0] = 128 + 100 * np.sin((xs + i * 9) / 23.0)
    img[..., 1] = 128 + 100 * np.cos((ys + i * 5) / 17.0)
    img[..., 2] = 128 + 60 * np.sin((xs + ys - i * 11) / 29.0)
    return img


@pytest.fixture(scope="module")
def draft_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("chunked") / "draft"
    (root / "assets/videos").mkdir(parents=True)
    make_video(root / "assets/videos/clip.mp4", w=W, h=H, dur_s=SECONDS, fps=FPS, frame_fn=_moving, tone_hz=440)
    content = tiny_draft("20261203000001abcdef12", seconds=SECONDS, width=W, height=H)
    (root / "draft_content.json").write_text(json.dumps(content))
    return root


def _yuv_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv420p").astype(np.float64) for f in c.decode(video=0)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _stream_seconds(path: Path, kind: str) -> float:
    """Duration of the video or audio stream from its packets (pts + duration, in seconds)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0] if kind == "video" else c.streams.audio[0]
        first = end = None
        for p in c.demux(stream):
            if p.size == 0 or p.pts is None:
                continue
            first = p.pts if first is None else min(first, p.pts)
            end = max(end or 0, p.pts + (p.duration or 0))
        return float((end - max(first, 0)) * stream.time_base)


@pytest.fixture(scope="module")
def renders(draft_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("chunked-out")
    session = open_draft(draft_folder, RenderOptions(crf=6))
    whole = session.render(out / "whole.mp4")
    ranges = chunk_ranges(session.frame_count, 30)
    chunks = []
    for i, (a, b) in enumerate(ranges):
        result = render_range(session, a, b, out / f"chunk{i}.mp4")
        assert result.frames == b - a
        chunks.append(out / f"chunk{i}.mp4")
    audio = render_audio(session, out / "audio.m4a")
    joined = join_chunks(chunks, audio, out / "joined.mp4")
    return session, Path(whole.output), chunks, joined


def test_chunks_are_video_only_idr_started_and_exact(renders):
    session, _, chunks, _ = renders
    assert len(chunks) == 3
    for path in chunks:
        with av.open(str(path)) as c:
            assert not c.streams.audio
            packets = [p for p in c.demux(video=0) if p.size]
            assert len(packets) == 30
            assert packets[0].is_keyframe and min(p.pts for p in packets) == 0


def test_joined_output_is_exact(renders):
    session, whole, _, joined = renders
    frames = _yuv_frames(joined)
    assert len(frames) == session.frame_count == int(SECONDS * FPS)  # decodes cleanly, every frame
    with av.open(str(joined)) as c:
        assert c.streams.video[0].frames in (0, session.frame_count)
    drift = abs(_stream_seconds(joined, "video") - _stream_seconds(joined, "audio"))
    assert drift <= 1 / FPS
    reference = _yuv_frames(whole)
    assert len(reference) == len(frames)
    worst = min(_psnr(a, b) for a, b in zip(frames, reference))
    assert worst >= 45.0, f"worst frame PSNR {worst:.1f} dB"
    # the same measure on a one-frame shift is far lower: the check can fail
    shifted = min(_psnr(a, b) for a, b in zip(frames[1:], reference[:-1]))
    assert shifted < worst - 10, f"shifted {shifted:.1f} dB vs {worst:.1f} dB"


def test_join_refuses_chunks_of_other_settings(renders, tmp_path):
    session, _, chunks, _ = renders
    other = open_draft(session.local.folder, RenderOptions(crf=6, width=160, height=90))
    odd = render_range(other, 30, 60, tmp_path / "odd.mp4")
    with pytest.raises(EncodeError):
        join_chunks([chunks[0], Path(odd.output)], None, tmp_path / "bad.mp4")
    assert not (tmp_path / "bad.mp4").exists()


@pytest.mark.parametrize("a,b", [(-1, 10), (10, 10), (0, 91)])
def test_render_range_refuses_ranges_outside_the_timeline(renders, tmp_path, a, b):
    session = renders[0]
    with pytest.raises(OptionsError):
        render_range(session, a, b, tmp_path / "x.mp4")


def test_chunk_ranges_tile_the_timeline():
    assert chunk_ranges(90, 30) == [(0, 30), (30, 60), (60, 90)]
    assert chunk_ranges(100, 30) == [(0, 30), (30, 60), (60, 100)]  # short tail merged
    assert chunk_ranges(110, 30) == [(0, 30), (30, 60), (60, 90), (90, 110)]
    assert chunk_ranges(5, 30) == [(0, 5)]
    assert chunk_ranges(0, 30) == []


def test_a_chunk_decodes_from_its_range_start_only_what_it_shows(renders):
    from compositor.plan import plan_frame
    from compositor.visibility import source_visibility

    session = renders[0]
    tl = session.timeline
    a, b = 60, 90
    (vis,) = source_visibility(tl, range(a, b)).values()
    assert len(vis.shown_us) == b - a and vis.first_us == min(vis.shown_us) == plan_frame(tl, a).t_us
    with session.picture_pool(range(a, b)) as pool:
        for n in range(a, b):
            plan = plan_frame(tl, n)
            pool.advance(plan.t_us)
            for op in plan.sources():
                pool(op)
        (stats,) = pool.decode_stats.values()
    # the reader seeks to the chunk's first frame: none of the 60 frames before it is converted
    assert stats.converted <= b - a


def test_command_line_chunks_and_join(draft_folder, tmp_path):
    from compositor.cli import main

    src = str(draft_folder)
    assert main(["render", src, "--frames", "0:40", "-o", str(tmp_path / "a.mp4"), "--quiet"]) == 0
    assert main(["render", src, "--frames", "40:90", "-o", str(tmp_path / "b.mp4"), "--quiet"]) == 0
    assert main(["render", src, "--audio-only", "-o", str(tmp_path / "s.m4a")]) == 0
    out = tmp_path / "out.mp4"
    assert (
        main(
            [
                "join",
                str(tmp_path / "a.mp4"),
                str(tmp_path / "b.mp4"),
                "--audio",
                str(tmp_path / "s.m4a"),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert len(_yuv_frames(out)) == 90
    assert main(["render", src, "--frames", "40:99", "-o", str(tmp_path / "c.mp4")]) == 1  # outside the timeline
