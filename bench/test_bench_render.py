"""End-to-end render of the reference draft vs the ffmpeg CLI doing the same composition.

    pytest bench/test_bench_render.py --benchmark-only -s

The reference draft (fixtures/reference.py): 20 s at 1920×1080 30 fps, clip A then clip B
with a 1 s 叠化, a 40 % picture-in-picture at opacity 0.8, an RGBA PNG logo, three audio
sources, x264 veryfast crf 23. Two sets of sources: encoded like phone uploads (H.264 High,
GOP 60, 8.7–16 Mb/s, grain: the published ratio) and the synthetic ones (cheaper to decode).
Every contender runs as a child process (bench/measure.py: wall, CPU, peak RSS the same way),
ours and ffmpeg interleaved A/B in one test. Also: the encoder-only floor (x264 alone on the
frames our render produced, same settings), the decode-only floor (FFmpeg's decoder alone on
the source frames the output shows), our per-stage CPU (``render --stats json``), the
120-s variant (memory flat in length), a 3840×2160 variant. The ffmpeg rows are skipped
when the ffmpeg CLI is absent. The last test writes bench/results/render.json.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from bench.decode_floor import shown_windows
from bench.encode_floor import dump_raw
from bench.measure import ROOT, best, decode_floor_cmd, floor_cmd, ours_cmd, run_measured, stages_of
from fixtures import reference

OUT = ROOT / ".cache" / "bench" / "out"
RESULTS = ROOT / "bench" / "results"
FRAMES_20S = 600
RESULTS_FILE = {"reference": "render.json", "shorts": "shorts.json"}
#: rounds of the published A/B pair (2 on a quiet box; BENCH_ROUNDS=1 when time is short)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
HAVE_FFMPEG = shutil.which("ffmpeg") is not None


def save(results: dict, name: str = "render.json") -> None:
    """Write what was measured so far (after every test: an interrupted run keeps its rows)."""
    RESULTS.mkdir(exist_ok=True)
    r = dict(results)
    r["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadavg_now": os.getloadavg()}
    (RESULTS / name).write_text(json.dumps(r, indent=2) + "\n")


def ab(benchmark, results: dict, key: str, ours: list[str], ffmpeg: list[str] | None, rounds: int, frames: int):
    """Ours and ffmpeg alternately, ``rounds`` times each; rows under results[key]."""
    OUT.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list] = {"ours": [], "ffmpeg": []}

    def one_round():
        runs["ours"].append(run_measured(ours, cwd=ROOT))
        if ffmpeg is not None:
            runs["ffmpeg"].append(run_measured(ffmpeg, cwd=ROOT))

    benchmark.pedantic(one_round, rounds=rounds, iterations=1, warmup_rounds=0)
    row = results.setdefault(key, {})
    row["ours"] = best(runs["ours"], frames)
    row["ours"]["stages"] = stages_of(min(runs["ours"], key=lambda m: m.wall_s))
    if runs["ffmpeg"]:
        row["ffmpeg"] = best(runs["ffmpeg"], frames)
        row["throughput_ratio"] = row["ours"]["fps"] / row["ffmpeg"]["fps"]
        row["cpu_ratio"] = sum(row["ours"]["cpus_s"]) / sum(row["ffmpeg"]["cpus_s"])  # same rounds
        row["rss_ratio"] = row["ours"]["peak_rss_mib"] / row["ffmpeg"]["peak_rss_mib"]
    benchmark.extra_info.update({k: v for k, v in row.items() if not isinstance(v, dict)})
    save(results, RESULTS_FILE.get(key.split("_")[0], "render.json"))


def floor(benchmark, results: dict, key: str, rendered, width: int, height: int, frames: int):
    """x264 alone on the frames of ``rendered`` (decoded to a raw file first, not measured)."""
    raw = OUT / f"{key}.yuv"
    n = dump_raw(rendered, raw)
    assert n == frames
    try:
        cmd = floor_cmd(raw, width, height, OUT / f"{key}-floor.mp4")
        m = benchmark.pedantic(lambda: run_measured(cmd, cwd=ROOT), rounds=1, iterations=1)
    finally:
        raw.unlink()
    results.setdefault(key, {})["encoder_floor"] = m.row(frames)
    benchmark.extra_info.update(m.row(frames))
    save(results, RESULTS_FILE.get(key.split("_")[0], "render.json"))


def decode_floor(benchmark, results: dict, key: str, draft, threads: int):
    """FFmpeg's decoder alone on the source frames the output shows (bench/decode_floor.py)."""
    cmd = decode_floor_cmd(shown_windows(draft), threads)
    m = benchmark.pedantic(lambda: run_measured(cmd, cwd=ROOT), rounds=1, iterations=1)
    decoded = json.loads(m.stdout)
    row = m.row(FRAMES_20S) | {"decode_cpu_s": decoded["cpu_s"], "windows": decoded["windows"]}
    results.setdefault(key, {})["decode_floor"] = row
    benchmark.extra_info.update({k: v for k, v in row.items() if k != "windows"})
    save(results, RESULTS_FILE.get(key.split("_")[0], "render.json"))


def floor_bound(row: dict) -> dict:
    """What the two floors leave a renderer on a saturated box: their CPU-seconds summed (the
    encoder floor's process, the decode floor's decoding without its start) against ours and ffmpeg's
    (means of the A/B rounds). ``floors_over_ffmpeg_cpu`` is the lowest CPU ratio to ffmpeg
    that a renderer using this decoder and x264 could reach on this composition."""
    if not {"encoder_floor", "decode_floor", "ffmpeg", "ours"} <= row.keys():
        return {}
    floors_cpu = row["encoder_floor"]["cpu_s"] + row["decode_floor"]["decode_cpu_s"]
    ffmpeg_cpu = sum(row["ffmpeg"]["cpus_s"]) / len(row["ffmpeg"]["cpus_s"])
    ours_cpu = sum(row["ours"]["cpus_s"]) / len(row["ours"]["cpus_s"])
    return {
        "floors_cpu_s": floors_cpu,
        "floors_over_ffmpeg_cpu": floors_cpu / ffmpeg_cpu,
        "ours_above_floors_cpu_s": ours_cpu - floors_cpu,
        "ffmpeg_above_floors_cpu_s": ffmpeg_cpu - floors_cpu,
    }


def _ffmpeg(folder, out, **kw):
    return reference.ffmpeg_command(folder, out, **kw) if HAVE_FFMPEG else None


def test_reference_phone_20s(benchmark, reference_phone_20s, bench_results):
    """The published ratio: phone-like sources, ours vs ffmpeg, A/B twice."""
    ours = ours_cmd(reference_phone_20s, OUT / "ours-phone-20.mp4")
    ff = _ffmpeg(reference_phone_20s, OUT / "ffmpeg-phone-20.mp4")
    ab(benchmark, bench_results, "reference_phone_20s", ours, ff, rounds=ROUNDS, frames=FRAMES_20S)


def test_reference_phone_encoder_floor(benchmark, bench_results):
    floor(benchmark, bench_results, "reference_phone_20s", OUT / "ours-phone-20.mp4", 1920, 1080, FRAMES_20S)


def test_reference_phone_decode_floor(benchmark, reference_phone_20s, bench_results):
    from compositor.pipeline import decode_threads

    decode_floor(benchmark, bench_results, "reference_phone_20s", reference_phone_20s, decode_threads(0))


def test_reference_synthetic_20s(benchmark, reference_20s, bench_results):
    """The same composition over the bench's synthetic sources (cheaper to decode)."""
    ours = ours_cmd(reference_20s, OUT / "ours-20.mp4")
    ff = _ffmpeg(reference_20s, OUT / "ffmpeg-20.mp4")
    ab(benchmark, bench_results, "reference_synthetic_20s", ours, ff, rounds=1, frames=FRAMES_20S)


def test_reference_synthetic_20s_with_filter(benchmark, reference_20s_filter, bench_results):
    """With a colour filter track over everything (ffmpeg: colorchannelmixer); docs/effects.md."""
    ours = ours_cmd(reference_20s_filter, OUT / "ours-20f.mp4")
    ff = _ffmpeg(reference_20s_filter, OUT / "ffmpeg-20f.mp4", with_filter=True)
    ab(benchmark, bench_results, "reference_synthetic_20s_filter", ours, ff, rounds=1, frames=FRAMES_20S)


def test_reference_phone_120s(benchmark, reference_phone_120s, bench_results):
    """Memory flat in length: the 120-s render's peak RSS against the 20-s one's."""
    ours = ours_cmd(reference_phone_120s, OUT / "ours-phone-120.mp4")
    ab(benchmark, bench_results, "reference_phone_120s", ours, None, rounds=1, frames=6 * FRAMES_20S)


def test_reference_phone_4k(benchmark, reference_phone_20s, bench_results):
    """The same draft rendered at 3840×2160 (sources upscaled by the compositor)."""
    ours = ours_cmd(reference_phone_20s, OUT / "ours-phone-4k.mp4", "--width", "3840", "--height", "2160")
    ab(benchmark, bench_results, "reference_phone_4k", ours, None, rounds=1, frames=FRAMES_20S)


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg CLI not installed")
def test_ffmpeg_rows_measured(benchmark, bench_results):
    """The ffmpeg rows (measured inside the A/B tests above) exist when ffmpeg is installed."""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    for key in ("reference_phone_20s", "reference_synthetic_20s"):
        assert "ffmpeg" in bench_results.get(key, {"ffmpeg": 0}), key


def test_summary(benchmark, bench_results):
    """Print (and save) every row; the numbers go into bench/README.md by hand.

    (Takes the ``benchmark`` fixture only so that ``--benchmark-only`` runs it.)"""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    r = {k: v for k, v in bench_results.items() if k.startswith("reference")}
    long, short = r.get("reference_phone_120s", {}), r.get("reference_phone_20s", {})
    if "ours" in long and "ours" in short:
        r["rss_120s_over_20s"] = long["ours"]["peak_rss_mib"] / short["ours"]["peak_rss_mib"]
    if bound := floor_bound(short):
        short["floors"] = bound
    r["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadavg_end": os.getloadavg()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "render.json").write_text(json.dumps(r, indent=2) + "\n")
    print("\n" + json.dumps(r, indent=2))
