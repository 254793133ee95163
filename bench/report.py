"""Markdown tables from bench/results/{render,shorts}.json (I/O: reads them, prints).

    python bench/report.py            # paste into bench/README.md

One table per workload (ours / ffmpeg / MoviePy / encoder and decode floors: wall, fps, CPU-s, peak RSS,
load average at start) and our per-stage CPU breakdown from the same run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = {
    "ours": "**draft-renderer**",
    "ffmpeg": "ffmpeg CLI graph",
    "moviepy": "MoviePy 2",
    "encoder_floor": "x264 alone (floor)",
    "decode_floor": "decoding alone (floor)",
}


def _rows(w: dict) -> list[str]:
    out = [
        "| | wall (s) | fps | CPU (s) | peak RSS (MiB) | load avg |",
        "|---|---|---|---|---|---|",
    ]
    for key in ("ours", "ffmpeg", "moviepy", "encoder_floor", "decode_floor"):
        r = w.get(key)
        if not r:
            continue
        walls = r.get("walls_s")
        wall = f"{r['wall_s']:.2f}" + (
            f" (runs {', '.join(f'{x:.2f}' for x in walls)})" if walls and len(walls) > 1 else ""
        )
        out.append(
            f"| {NAMES[key]} | {wall} | {r['fps']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mib']:.0f} | {r['loadavg']:.1f} |"
        )
    return out


def _ratios(w: dict) -> list[str]:
    out = []
    if "throughput_ratio" in w:
        out.append(
            f"ours / ffmpeg: throughput **{w['throughput_ratio']:.2f}×**, CPU {w['cpu_ratio']:.2f}×, "
            f"peak RSS {w['rss_ratio']:.2f}×"
        )
    if "throughput_ratio_moviepy" in w:
        out.append(f"ours / MoviePy: throughput **{w['throughput_ratio_moviepy']:.2f}×**")
    if "encoder_floor" in w and "ours" in w:
        f, o = w["encoder_floor"], w["ours"]
        out.append(
            f"encoder floor / ours: wall {f['wall_s'] / o['wall_s']:.2f} (ours takes {o['wall_s'] / f['wall_s']:.2f}× "
            f"the floor's time), CPU {f['cpu_s']:.1f} of our {o['cpu_s']:.1f} CPU-s"
        )
    if b := w.get("floors"):
        out.append(
            f"x264 floor + decode floor: {b['floors_cpu_s']:.1f} CPU-s = {b['floors_over_ffmpeg_cpu']:.2f}× ffmpeg's CPU "
            f"(the least any renderer on this decoder and x264 spends); above it: ours "
            f"{b['ours_above_floors_cpu_s']:.1f}, ffmpeg {b['ffmpeg_above_floors_cpu_s']:.1f} CPU-s"
        )
    return out


def _stages(w: dict) -> list[str]:
    st = w.get("ours", {}).get("stages")
    if not st:
        return []
    out = ["| stage | CPU (s) | wall (s) | calls |", "|---|---|---|---|"]
    for name, s in st["stages"].items():
        out.append(f"| `{name}` | {s['cpu_s']:.2f} | {s['wall_s']:.2f} | {s['calls']} |")
    child = w["ours"]["cpu_s"]
    out.append(f"| render total (process CPU, wall) | {st['process_cpu_s']:.2f} | {st['wall_s']:.2f} | |")
    out.append(f"| interpreter start + imports (child CPU − render) | {child - st['process_cpu_s']:.2f} | | |")
    return out


def main() -> int:
    for name in ("render.json", "shorts.json"):
        p = RESULTS / name
        if not p.exists():
            continue
        data = json.loads(p.read_text())
        for key, w in data.items():
            if not isinstance(w, dict) or "ours" not in w:
                continue
            print(f"### {key}\n")
            print("\n".join(_rows(w)))
            print()
            for line in _ratios(w):
                print(f"* {line}")
            print()
            stages = _stages(w)
            if stages:
                print("\n".join(stages))
                print()
        if "rss_120s_over_20s" in data:
            print(f"* 120 s / 20 s peak RSS: {data['rss_120s_over_20s']:.3f}\n")
        print(f"machine: {data.get('machine')}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
