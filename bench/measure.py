"""Measuring a contender (I/O): one child process, its wall time, CPU and peak RSS.

Every contender (our CLI, the ffmpeg CLI, a MoviePy script, the encoder-only floor) runs as
a child process so that the figures are taken the same way:

* wall: ``time.monotonic`` around the child's life;
* CPU: the child's user + system time from ``wait4`` (Linux adds the CPU of the child's own
  waited-for children, e.g. the ffmpeg process MoviePy pipes frames into);
* peak RSS: the larger of ``wait4``'s ``ru_maxrss`` (the largest single process) and the
  peak of the *sum* of the RSS of the child and its descendants, polled from ``/proc``
  every 50 ms (a contender that runs two processes at once pays for both).

``wait4`` is called by a small parent of the child's own (bench/child_usage.py), not by the
benchmark process: Linux starts a child's ``ru_maxrss`` at its forking parent's memory, and
the pytest process running every benchmark grows past 1.5 GB. Wall time includes that
parent's start (a few tens of ms).

``loadavg`` is the 1-minute load average when the child started (the box is shared).

Page cache: before each measured run, :func:`warm_up` runs the same contender on one frame,
unmeasured, so every contender starts with its libraries, kernels and media in the page
cache (the project's VM keeps only about 2 GB cached: a 5.6 GB raw dump for the encoder
floor, or another contender's run, evicts the 180 MB libllvmlite and PyAV's libraries, and a
cold start then reads them at a few MB/s: seconds of disk wait that no renderer controls).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

POLL_S = 0.05


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    loadavg: float
    stdout: str = ""

    def row(self, frames: int) -> dict:
        d = asdict(self)
        d.pop("stdout")
        d["fps"] = frames / self.wall_s
        return d


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tasks:
        try:
            out += [int(c) for c in Path(f"/proc/{pid}/task/{t}/children").read_text().split()]
        except OSError:
            pass
    return out


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pid: int) -> int:
    """Sum of VmRSS of ``pid`` and all its descendants (0 once it is gone)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _rss_kib(p)
        todo += _children(p)
    return total


def one_frame(cmd: list[str]) -> list[str] | None:
    """``cmd`` cut short (our CLI: ``--frames 0:1``; the ffmpeg CLI: ``-frames:v 1`` before
    the output; the encoder floor: ``--frames 1``; the decode floor: ``--warm-up``; the MoviePy
    script: its first second),
    or None for a command this module does not know."""
    script = Path(cmd[1]).name if len(cmd) > 1 else ""
    if Path(cmd[0]).name == "ffmpeg":
        return [*cmd[:-1], "-frames:v", "1", cmd[-1]]
    if cmd[1:4] == ["-m", "compositor", "render"]:
        return [*cmd, "--frames", "0:1"]
    if script == "encode_floor.py":
        return [*cmd, "--frames", "1"]
    if script == "decode_floor.py":
        return [*cmd, "--warm-up"]
    if script == "moviepy_shorts.py":
        return [*cmd[:-1], "1"]
    return None


def warm_up(cmd: list[str], *, cwd: Path) -> None:
    """Run ``cmd``'s one-frame variant (if it has one), unmeasured: see the module doc."""
    short = one_frame(cmd)
    if short is not None:
        subprocess.run(short, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def run_measured(cmd: list[str], *, cwd: Path, env: dict | None = None, warm: bool = True) -> Measured:
    """Run ``cmd`` to completion (after :func:`warm_up` unless ``warm`` is False) under
    bench/child_usage.py, which reports its CPU and ``ru_maxrss`` (see there why); raise
    with its stderr tail if it fails."""
    if warm:
        warm_up(cmd, cwd=cwd)
    load = os.getloadavg()[0]
    report_r, report_w = os.pipe()
    launcher = [sys.executable, str(Path(__file__).resolve().parent / "child_usage.py"), str(report_w)]
    t0 = time.monotonic()
    proc = subprocess.Popen(
        launcher + cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(report_w,)
    )
    os.close(report_w)
    peak = [0]
    done = threading.Event()

    def poll() -> None:  # the command's process tree, without the launcher
        while not done.is_set():
            peak[0] = max(peak[0], sum(tree_rss_kib(c) for c in _children(proc.pid)))
            done.wait(POLL_S)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    chunks: dict[str, list[bytes]] = {"out": [], "err": [], "report": []}
    report_file = os.fdopen(report_r, "rb")
    readers = [
        threading.Thread(target=lambda: chunks["out"].append(proc.stdout.read()), daemon=True),
        threading.Thread(target=lambda: chunks["err"].append(proc.stderr.read()), daemon=True),
        threading.Thread(target=lambda: chunks["report"].append(report_file.read()), daemon=True),
    ]
    for r in readers:
        r.start()
    proc.wait()
    wall = time.monotonic() - t0
    done.set()
    poller.join()
    for r in readers:
        r.join()
    report_file.close()
    err = b"".join(chunks["err"]).decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err[-2000:]}")
    usage = json.loads(b"".join(chunks["report"]))
    return Measured(
        wall_s=wall,
        cpu_s=usage["cpu_s"],
        peak_rss_mib=max(usage["maxrss_kib"], peak[0]) / 1024,
        loadavg=load,
        stdout=b"".join(chunks["out"]).decode(errors="replace"),
    )


ROOT = Path(__file__).resolve().parent.parent


def ours_cmd(folder: Path, out: Path, *extra: str) -> list[str]:
    """Our CLI, x264 veryfast crf 23, with the per-stage figures as one JSON line."""
    return [sys.executable, "-m", "compositor", "render", str(folder), "-o", str(out), "--quiet"] + [
        "--preset",
        "veryfast",
        "--crf",
        "23",
        *extra,
        "--stats",
        "json",
    ]


def stages_of(m: Measured) -> dict:
    """The ``--stats json`` line our CLI printed last."""
    return json.loads(m.stdout.strip().splitlines()[-1])


def floor_cmd(raw: Path, width: int, height: int, out: Path) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / "encode_floor.py"), str(raw), str(width), str(height), str(out)]


def decode_floor_cmd(windows: list[str], threads: int) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / "decode_floor.py"), "--threads", str(threads), *windows]


def best(runs: list[Measured], frames: int) -> dict:
    """The run with the least wall time (its CPU), the largest peak RSS of all runs, every wall."""
    b = min(runs, key=lambda m: m.wall_s)
    row = b.row(frames)
    row["peak_rss_mib"] = max(m.peak_rss_mib for m in runs)
    row["walls_s"] = [round(m.wall_s, 3) for m in runs]
    row["cpus_s"] = [round(m.cpu_s, 3) for m in runs]
    return row
