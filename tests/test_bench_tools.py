"""The benchmarks' own tools: the decode-only floor (bench/decode_floor.py: the windows it
takes from the renderer's visibility pass, the frames it decodes for each) and the
measurement of a contender (bench/measure.py)."""

from __future__ import annotations

import json

import sys

import av
import numpy as np
import pytest

from bench.decode_floor import decode_window, main, shown_windows
from bench.measure import ROOT, one_frame, run_measured
from compositor.pipeline import open_draft
from fixtures.local_draft import materialize
from fixtures.media import make_video

FPS = 30
GOP = 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """1 s at 30 fps, a keyframe every 10 frames (0, 1/3 s, 2/3 s)."""
    return make_video(tmp_path_factory.mktemp("floor") / "c.mp4", w=64, h=48, dur_s=1.0, pattern="clock", gop=GOP)


def _keyframe_indices(path) -> list[int]:
    """Frame numbers (pts in frames) of the clip's keyframes."""
    with av.open(str(path)) as c:
        tb = c.streams.video[0].time_base
        return [round(p.pts * tb * FPS) for p in c.demux(video=0) if p.pts is not None and p.is_keyframe]


def test_a_window_from_the_start_decodes_each_frame_up_to_the_last_shown(clip):
    row = decode_window(str(clip), 0, 500_000, threads=1)
    assert row["frames"] == 16  # pts 0 .. 15 (15/30 s = 0.5 s)
    assert row["cpu_s"] > 0


def test_a_later_window_starts_at_the_keyframe_before_it(clip):
    keys = _keyframe_indices(clip)
    assert len(keys) >= 3  # a keyframe every GOP frames, as asked
    first_frame, last_frame = 18, 24  # 0.6 s .. 0.8 s
    key_before = max(k for k in keys if k <= first_frame)
    assert key_before > 0
    row = decode_window(str(clip), 600_000, 800_000, threads=1)
    assert row["frames"] == last_frame - key_before + 1


def test_main_prints_every_window_and_the_total(clip, capsys):
    main([f"{clip}:0:100000", f"{clip}:0:200000"])
    out = json.loads(capsys.readouterr().out)
    assert [w["frames"] for w in out["windows"]] == [4, 7]
    assert out["cpu_s"] == pytest.approx(sum(w["cpu_s"] for w in out["windows"]))


def test_the_warm_up_decodes_one_frame_a_window(clip, capsys):
    cmd = ["python", "bench/decode_floor.py", f"{clip}:0:900000"]
    assert one_frame(cmd) == [*cmd, "--warm-up"]
    main(one_frame(cmd)[2:])
    assert json.loads(capsys.readouterr().out)["windows"][0]["frames"] == 1


def test_shown_windows_are_the_first_and_last_source_times_drawn(tmp_path, media_dir):
    folder = materialize("02_concat_transitions", tmp_path, media_dir, scale=0.25)
    windows = shown_windows(folder)
    session = open_draft(folder)
    videos = [c for tr in session.timeline.tracks for c in tr.clips if c.kind == "media" and not c.is_still]
    assert len(windows) == len(videos) > 1
    for w in windows:
        path, first, last = w.rsplit(":", 2)
        clips = [c for c in videos if c.media_key == path]
        assert clips, path
        # inside the clip's source range (a transition may show up to its half beyond)
        lo = min(c.source_start_us for c in clips)
        hi = max(c.source_start_us + c.source_duration_us for c in clips)
        assert 0 <= int(first) < int(last) <= hi + 1_000_000 and int(first) >= lo - 1_000_000


def test_a_measured_command_does_not_inherit_the_benchmark_process_memory():
    grown = np.ones(300 * 2**20 // 8)  # this process: +300 MiB, touched
    m = run_measured([sys.executable, "-c", "print('small')"], cwd=ROOT, warm=False)
    assert grown.sum() > 0
    assert m.stdout == "small\n"
    assert m.peak_rss_mib < 100  # a bare interpreter, not the 300 MiB more of its grandparent
    assert m.cpu_s > 0 and m.wall_s > 0


def test_a_measured_command_that_fails_raises_with_its_exit_code():
    with pytest.raises(RuntimeError, match=r"failed \(3\)"):
        run_measured([sys.executable, "-c", "import sys; sys.exit(3)"], cwd=ROOT, warm=False)
