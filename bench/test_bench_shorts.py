"""The vertical photo short (fixtures/shorts.py) vs the ffmpeg CLI and MoviePy 2.

    pytest bench/test_bench_shorts.py --benchmark-only -s

60 s at 1080×1920 30 fps: 12 phone-sized JPEGs (3–12 MP) with Ken Burns zoom + pan
keyframes, 0.5 s dissolves, 20 CJK captions with a stroke, music at 0.3 + voice-over;
x264 veryfast crf 23. Ours, the ffmpeg graph (``fixtures.shorts.ffmpeg_command``: zoompan,
xfade, drawtext, amix) and MoviePy (bench/moviepy_shorts.py) run as child processes one
after the other in one test (A/B/C), measured alike (bench/measure.py); then the
encoder-only floor on the frames our render produced. The ffmpeg row is skipped without the
ffmpeg CLI, the MoviePy row without the moviepy package (``pip install -e '.[bench]'``).
Writes bench/results/shorts.json.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys

import pytest

from bench.measure import ROOT, best, run_measured
from bench.test_bench_render import OUT, RESULTS, ROUNDS, ab, floor, save
from compositor.text.fonts import bundled_font_path
from fixtures import shorts

#: seconds of the short (60; BENCH_SHORTS_SECONDS=10 renders its first 2 photos and 3 captions)
SECONDS = int(os.environ.get("BENCH_SHORTS_SECONDS", "60"))
FRAMES = SECONDS * shorts.FPS
HAVE_FFMPEG = shutil.which("ffmpeg") is not None
HAVE_MOVIEPY = importlib.util.find_spec("moviepy") is not None
KEY = f"shorts_{SECONDS}s"
#: seconds of the short MoviePy renders (60; its frame rate is steady, so a shorter prefix
#: gives its throughput when the box is too busy for 10 minutes of MoviePy)
MOVIEPY_S = min(SECONDS, int(os.environ.get("BENCH_MOVIEPY_SECONDS", "60")))
#: alternated rounds of the compose-priority before/after
PRIORITY_ROUNDS = int(os.environ.get("BENCH_PRIORITY_ROUNDS", "3"))


def test_shorts_draft(benchmark, shorts_draft, bench_results):
    from bench.measure import ours_cmd

    font = str(bundled_font_path())
    ours = ours_cmd(shorts_draft, OUT / "ours-shorts.mp4")
    ff = shorts.ffmpeg_command(shorts_draft, OUT / "ffmpeg-shorts.mp4", font) if HAVE_FFMPEG else None
    ab(benchmark, bench_results, KEY, ours, ff, rounds=ROUNDS, frames=FRAMES)
    if HAVE_MOVIEPY:  # right after the A/B pair, same conditions
        mp = str(OUT / "mp.mp4")
        cmd = [sys.executable, str(ROOT / "bench" / "moviepy_shorts.py"), str(shorts_draft), mp, font, str(MOVIEPY_S)]
        row = bench_results[KEY]
        row["moviepy"] = best([run_measured(cmd, cwd=ROOT)], MOVIEPY_S * shorts.FPS)
        row["moviepy"]["seconds_rendered"] = MOVIEPY_S
        row["throughput_ratio_moviepy"] = row["ours"]["fps"] / row["moviepy"]["fps"]
        save(bench_results, "shorts.json")


def test_shorts_compose_priority(benchmark, shorts_draft, bench_results):
    """Before/after of the render loop below x264's priority (``--compose-nice``, default 10)
    against the same priority (0), alternated, ``PRIORITY_ROUNDS`` each; medians as well as
    bests, because this box's speed drifts by more than the difference."""
    from statistics import median

    from bench.measure import ours_cmd

    runs: dict[str, list] = {"compose_nice_0": [], "compose_nice_default": []}
    extra = {"compose_nice_0": ["--compose-nice", "0"], "compose_nice_default": []}

    def one_round():
        for name, args in extra.items():
            runs[name].append(run_measured(ours_cmd(shorts_draft, OUT / "ours-shorts-nice.mp4", *args), cwd=ROOT))

    benchmark.pedantic(one_round, rounds=PRIORITY_ROUNDS, iterations=1, warmup_rounds=0)
    row = {name: best(r, FRAMES) for name, r in runs.items()}
    for name, r in runs.items():
        row[name]["median_wall_s"] = median(m.wall_s for m in r)
    row["speedup_best"] = row["compose_nice_0"]["wall_s"] / row["compose_nice_default"]["wall_s"]
    row["speedup_median"] = row["compose_nice_0"]["median_wall_s"] / row["compose_nice_default"]["median_wall_s"]
    bench_results[f"{KEY}_compose_priority"] = row
    benchmark.extra_info.update({k: v for k, v in row.items() if not isinstance(v, dict)})
    save(bench_results, "shorts.json")


def test_shorts_encoder_floor(benchmark, bench_results):
    floor(benchmark, bench_results, KEY, OUT / "ours-shorts.mp4", shorts.W, shorts.H, FRAMES)


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg CLI not installed")
def test_ffmpeg_row_measured(benchmark, bench_results):
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert "ffmpeg" in bench_results.get(KEY, {"ffmpeg": 0})


@pytest.mark.skipif(not HAVE_MOVIEPY, reason="moviepy not installed (the bench extra)")
def test_moviepy_row_measured(benchmark, bench_results):
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert "moviepy" in bench_results.get(KEY, {"moviepy": 0})


def test_shorts_summary(benchmark, bench_results):
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    r = {k: bench_results[k] for k in (KEY, f"{KEY}_compose_priority") if k in bench_results}
    r["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadavg_end": os.getloadavg()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "shorts.json").write_text(json.dumps(r, indent=2) + "\n")
    print("\n" + json.dumps(r, indent=2))
