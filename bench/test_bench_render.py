"""End-to-end render of the reference draft vs the ffmpeg CLI doing the same composition.

    pytest bench/test_bench_render.py --benchmark-only -s

The reference draft (fixtures/reference.py): 20 s at 1920×1080 30 fps, clip A then clip B
with a 1 s 叠化, a 40 % picture-in-picture at opacity 0.8, an RGBA PNG logo, three audio
sources, x264 veryfast crf 23. Both renderers run as child processes so that their wall
time and peak RSS (``wait4`` rusage) are measured the same way, in the same run. The
ffmpeg benchmark is skipped when the ffmpeg CLI is absent. The last test prints the
comparison (ours, ffmpeg, ratio) and writes bench/results/render.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures import reference

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".cache" / "bench" / "out"
RESULTS = ROOT / "bench" / "results"


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def ours(folder: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "compositor",
        "render",
        str(folder),
        "-o",
        str(out),
        "--quiet",
        "--preset",
        "veryfast",
        "--crf",
        "23",
    ]


def _measure(benchmark, results: dict, key: str, cmd: list[str], *, frames: int = 600, rounds: int = 3) -> None:
    """Run ``cmd`` ``rounds`` times; record best wall time, its fps and the largest peak RSS."""
    OUT.mkdir(parents=True, exist_ok=True)
    runs: list[tuple[float, float]] = []
    benchmark.pedantic(lambda: runs.append(run_measured(cmd)), rounds=rounds, iterations=1, warmup_rounds=0)
    best = min(w for w, _ in runs)
    results[key] = {"wall_s": best, "fps": frames / best, "peak_rss_mib": max(r for _, r in runs)}
    benchmark.extra_info.update(results[key])


needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI not installed")


def test_render_reference_20s(benchmark, reference_20s, bench_results):
    _measure(benchmark, bench_results, "ours_20s", ours(reference_20s, OUT / "ours-20.mp4"))


@needs_ffmpeg
def test_ffmpeg_reference_20s(benchmark, reference_20s, bench_results):
    _measure(benchmark, bench_results, "ffmpeg_20s", reference.ffmpeg_command(reference_20s, OUT / "ffmpeg-20.mp4"))


def test_render_reference_20s_with_filter(benchmark, reference_20s_filter, bench_results):
    """The same draft with a colour filter track over everything (and the dissolve); docs/effects.md."""
    _measure(benchmark, bench_results, "ours_20s_filter", ours(reference_20s_filter, OUT / "ours-20f.mp4"), rounds=2)


@needs_ffmpeg
def test_ffmpeg_reference_20s_with_filter(benchmark, reference_20s_filter, bench_results):
    cmd = reference.ffmpeg_command(reference_20s_filter, OUT / "ffmpeg-20f.mp4", with_filter=True)
    _measure(benchmark, bench_results, "ffmpeg_20s_filter", cmd, rounds=2)


def test_render_reference_120s(benchmark, reference_120s, bench_results):
    _measure(benchmark, bench_results, "ours_120s", ours(reference_120s, OUT / "ours-120.mp4"), frames=3600, rounds=1)


def test_summary(benchmark, bench_results):
    """Print (and save) ours vs ffmpeg; the numbers go into bench/README.md by hand.

    (Takes the ``benchmark`` fixture only so that ``--benchmark-only`` runs it.)"""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    r = dict(bench_results)
    if "ours_20s" in r and "ffmpeg_20s" in r:
        r["throughput_ratio"] = r["ours_20s"]["fps"] / r["ffmpeg_20s"]["fps"]
    if "ours_20s_filter" in r and "ffmpeg_20s_filter" in r:
        r["throughput_ratio_with_filter"] = r["ours_20s_filter"]["fps"] / r["ffmpeg_20s_filter"]["fps"]
    if "ours_20s" in r and "ours_120s" in r:
        r["rss_120s_over_20s"] = r["ours_120s"]["peak_rss_mib"] / r["ours_20s"]["peak_rss_mib"]
    r["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "render.json").write_text(json.dumps(r, indent=2) + "\n")
    print("\n" + json.dumps(r, indent=2))
